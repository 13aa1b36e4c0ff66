"""JSON Schemas for Kafka consumers, generated from the pydantic models.

One file per published event type and schema version (``<type>.v<N>.json``, the
payload as published: personal-data fields removed), plus the envelope and the dead
letter. Regenerate after changing an event::

    python -m events.schema_export            # write events/schemas/
    python -m events.schema_export --check    # exit 1 if the files have drifted
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import events
from events.base import Event
from events.wire import PRIVATE_FIELDS, DeadLetter, WireEnvelope

SCHEMA_DIR = Path(__file__).parent / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Not published: idempotency receipts are bookkeeping, not business facts.
UNPUBLISHED_TYPES = frozenset({"command.accepted"})


def _without_private(node: Any) -> Any:
    """Drop personal-data properties (and their ``required`` entries) at every depth."""
    if isinstance(node, list):
        return [_without_private(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _without_private(value) for key, value in node.items()}
    properties = out.get("properties")
    if isinstance(properties, dict) and out.get("type") == "object":
        out["properties"] = {k: v for k, v in properties.items() if k not in PRIVATE_FIELDS}
        if "required" in out:
            out["required"] = [k for k in out["required"] if k not in PRIVATE_FIELDS]
    return out


def _schema(model: type[BaseModel], **extra: Any) -> dict[str, Any]:
    schema = _without_private(model.model_json_schema(mode="serialization"))
    return {"$schema": DIALECT, **extra, **schema}


def file_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.json"


def published_events() -> dict[str, type[Event]]:
    """The catalogue's event types that the relay publishes (classes defined in the
    ``events`` package: tests may register others)."""
    return {
        event_type: model for event_type, model in sorted(events.registered_events().items())
        if model.__module__.startswith("events.") and event_type not in UNPUBLISHED_TYPES
    }


def generate() -> dict[str, dict[str, Any]]:
    """Every schema file, by file name."""
    files: dict[str, dict[str, Any]] = {
        "envelope.v1.json": _schema(WireEnvelope),
        "dead_letter.v1.json": _schema(DeadLetter),
    }
    for event_type, model in published_events().items():
        version = model.SCHEMA_VERSION
        files[file_name(event_type, version)] = _schema(
            model,
            **{"$comment": f"Payload of {event_type} events (schema_version {version}) as published: "
               "personal-data fields are left out."},
            **{"x-event-type": event_type, "x-schema-version": version},
        )
    return files


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """What differs between the generated schemas and the files: [] when in sync."""
    expected = {name: render(schema) for name, schema in generate().items()}
    present = {path.name: path.read_text(encoding="utf-8") for path in directory.glob("*.json")} if directory.exists() else {}
    problems = [f"missing: {name}" for name in sorted(expected.keys() - present.keys())]
    problems += [f"stale (no such event or version): {name}" for name in sorted(present.keys() - expected.keys())]
    problems += [f"out of date: {name}" for name in sorted(expected.keys() & present.keys()) if expected[name] != present[name]]
    return problems


def write(directory: Path = SCHEMA_DIR) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    files = generate()
    for path in directory.glob("*.json"):
        if path.name not in files:
            path.unlink()
    for name, schema in files.items():
        (directory / name).write_text(render(schema), encoding="utf-8")
    return sorted(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m events.schema_export", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if events/schemas/ has drifted")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR)
    args = parser.parse_args(argv)
    if args.check:
        problems = drift(args.dir)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run: python -m events.schema_export", file=sys.stderr)
        return 1 if problems else 0
    for name in write(args.dir):
        print(args.dir / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
