"""JSON Schemas for Kafka consumers, generated from the pydantic models.

One file per published event type and schema version (``<type>.v<N>.json``, the
payload as published: personal-data fields removed), plus the envelope and the dead
letter. Regenerate after changing an event::

    python -m events.schema_export            # write events/schemas/
    python -m events.schema_export --check    # exit 1 if the files have drifted
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

import events
from events import generated
from events.base import Event
from events.generated import JSON_SCHEMA_DIALECT, json_text
from events.wire import PRIVATE_FIELDS, DeadLetter, WireEnvelope

SCHEMA_DIR = Path(__file__).parent / "schemas"

# Not published: idempotency receipts and the referral lookup are bookkeeping, not
# business facts.
UNPUBLISHED_TYPES = frozenset({"command.accepted", "referral.assigned"})


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
    return {"$schema": JSON_SCHEMA_DIALECT, **extra, **schema}


def file_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.json"


def schema_id(name: str, version: int) -> str:
    """The ``$id`` of a schema: what a record's ``schema_version`` header carries, so
    a consumer finds the schema of a payload without parsing it (``<name>.v<N>.json``
    in events/schemas/ is the same schema)."""
    return f"urn:commission-ledger:schema:{name}:v{version}"


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
        "envelope.v1.json": _schema(WireEnvelope, **{"$id": schema_id("envelope", 1)}),
        "dead_letter.v1.json": _schema(DeadLetter, **{"$id": schema_id("dead_letter", 1)}),
    }
    for event_type, model in published_events().items():
        version = model.SCHEMA_VERSION
        files[file_name(event_type, version)] = _schema(
            model,
            **{"$id": schema_id(event_type, version)},
            **{"$comment": f"Payload of {event_type} events (schema_version {version}) as published: "
               "personal-data fields are left out."},
            **{"x-event-type": event_type, "x-schema-version": version},
        )
    return files


def rendered() -> dict[str, str]:
    """Every schema file's text, by file name."""
    return {name: json_text(schema) for name, schema in generate().items()}


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    """What differs between the generated schemas and the files: [] when in sync."""
    return generated.drift(rendered(), directory, "*.json")


def write(directory: Path = SCHEMA_DIR) -> list[str]:
    return generated.write(rendered(), directory, "*.json")


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, prog="python -m events.schema_export", description=__doc__.splitlines()[0],
                          directory=SCHEMA_DIR, generate=rendered, owned="*.json")


if __name__ == "__main__":
    sys.exit(main())
