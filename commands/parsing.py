"""From JSON (or a decoded object) to a command model; a refusal lists every invalid
field at once, so a user fixes a line in one try."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from commands import models as m
from ledger.errors import CommandRejected, Problem, reject

Raw = str | bytes | dict[str, Any]

_PARSER: TypeAdapter[Any] = TypeAdapter(m.AnyCommand)


def parse(raw: Raw | m.Command) -> m.Command:
    """A command from JSON text, a decoded object or a model; refusals name the fields."""
    if isinstance(raw, m.Command):
        return raw
    if not isinstance(raw, dict):
        try:
            raw = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise reject("invalid_json", f"not a JSON object: {exc}") from None
    if not isinstance(raw, dict):
        raise reject("invalid_json", "a command must be a JSON object")
    if "type" not in raw:
        raise reject("invalid", "every command needs a type", "type")
    try:
        command: m.Command = _PARSER.validate_python(raw)
    except ValidationError as exc:
        raise CommandRejected.of([_problem(error, str(raw["type"])) for error in exc.errors()]) from None
    return command


def _problem(error: Any, command_type: str) -> Problem:
    # The discriminator puts the command type first in the path: drop it.
    path = [str(p) for p in error["loc"]]
    if path and path[0] == command_type:
        path = path[1:]
    field = ".".join(path) or None
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, m.FieldError):
        field = ".".join([*path, cause.field]) if path else cause.field
    message = error["msg"].removeprefix("Value error, ")
    if field and not message.startswith(field):
        message = f"{field}: {message}"
    if error["type"] == "union_tag_invalid":
        return Problem("unknown_type", message, field or "type")
    return Problem("invalid", message, field)
