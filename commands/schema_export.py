"""JSON Schemas of every command (what a sender may write), generated from the models.

One file per command type, ``commands/schemas/<type>.json``, with the reference's
example. Regenerate after changing a command (``make schemas`` does events and
commands)::

    python -m commands.schema_export            # write commands/schemas/
    python -m commands.schema_export --check    # exit 1 if the files have drifted
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from commands.reference import COMMAND_MODELS, example
from events import generated
from events.generated import JSON_SCHEMA_DIALECT, json_text

SCHEMA_DIR = Path(__file__).parent / "schemas"


def schema(command_type: str) -> dict[str, Any]:
    body = COMMAND_MODELS[command_type].model_json_schema(mode="validation")
    sample = example(command_type)
    return {"$schema": JSON_SCHEMA_DIALECT, "x-command-type": command_type, **body,
            **({"examples": [sample]} if sample else {})}


def rendered() -> dict[str, str]:
    """Every schema file's text, by file name."""
    return {f"{command_type}.json": json_text(schema(command_type)) for command_type in sorted(COMMAND_MODELS)}


def drift(directory: Path = SCHEMA_DIR) -> list[str]:
    return generated.drift(rendered(), directory, "*.json")


def write(directory: Path = SCHEMA_DIR) -> list[str]:
    return generated.write(rendered(), directory, "*.json")


def main(argv: list[str] | None = None) -> int:
    return generated.main(argv, prog="python -m commands.schema_export", description=__doc__.splitlines()[0],
                          directory=SCHEMA_DIR, generate=rendered, owned="*.json")


if __name__ == "__main__":
    sys.exit(main())
