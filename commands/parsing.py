"""From JSON (or a decoded object) to a command model; a refusal lists every invalid
field at once, so a user fixes a line in one try.

This is the edge of the bus: whatever passes here can be stored and read back on
either database. Text must be UTF-8 JSON, nest at most ``MAX_DEPTH`` levels, and hold
no control character (NUL included) in any string or key at any depth; numbers are
read exactly as decimals, and NaN or Infinity reach the models only to be refused
there with their field's name.

Most commands take a fast path (``commands.decoding``: msgspec structs, the models'
own rules, no second validation); whatever it is not sure of, refusals included, the
pydantic models decide, so a refusal reads the same either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter, ValidationError

from commands import decoding
from commands import models as m
from ledger.errors import CommandRejected, Problem, reject

Raw = str | bytes | dict[str, Any]


@dataclass(frozen=True)
class Sourced:
    """A message with an idempotency key derived from where it came from (a file's
    content and line), used when the command has no key of its own
    (``Command.keyed_by``): delivering the same message again records nothing twice."""

    body: Raw
    key: str


_PARSER: TypeAdapter[Any] = TypeAdapter(m.AnyCommand)
# One decoder for the process: ``json.loads`` with options builds a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)

MAX_BYTES = 1_000_000  # one command: far above any real one (a program's terms)
MAX_DEPTH = 16  # the deepest real command (terms.levels.NAME.rate) nests 4 levels
# models.PRINTABLE's control characters, and lone surrogates (a JSON ``\ud800``
# escape decodes to one, and no UTF-8 text can hold it).
_UNPRINTABLE = re.compile(rf"[{m.CONTROL}\ud800-\udfff]")
# JSON text can hold a control character or a lone surrogate in a decoded string only
# as an escape (a backslash) or as itself (DEL, C1 and surrogates may stand unescaped):
# text with neither needs no walk over what it decodes to.
_MAY_HIDE_UNPRINTABLE = re.compile(r"[\\\x7f-\x9f\ud800-\udfff]")


def parse(raw: Raw | Sourced | m.Command) -> m.Command:
    """A command from JSON text, a decoded object or a model; refusals name the fields."""
    if isinstance(raw, m.Command):
        return raw
    if isinstance(raw, Sourced):
        return parse(raw.body).keyed_by(raw.key)
    plain = False
    if isinstance(raw, str | bytes):
        text = json_text(raw)
        plain = _is_plain(text)
        if plain and (command := decoding.from_json(text)) is not None:
            return command
        raw = decode_json(text)
    if not isinstance(raw, dict):
        raise reject("invalid_json", "a command must be a JSON object")
    if not plain:
        # One walk: an object found plain holds nothing ``_unsafe_text`` would report.
        plain = _plain_object(raw)
        if plain and (command := decoding.from_object(raw)) is not None:
            return command
    unsafe = [] if plain else list(_unsafe_text(raw))
    if "type" not in raw:
        raise CommandRejected.of([*unsafe, Problem("invalid", "every command needs a type", "type")])
    try:
        command = _PARSER.validate_python(raw)
    except ValidationError as exc:
        command_type = str(raw["type"])
        reported = {problem.field for problem in unsafe}
        problems = [
            p for p in (_problem(error, command_type) for error in exc.errors())
            if p.field not in reported and not _UNPRINTABLE.search(p.field or "")  # such keys are reported already
        ]
        raise CommandRejected.of([*unsafe, *problems]) from None
    if unsafe:
        raise CommandRejected.of(unsafe)
    return command


def _is_plain(text: str) -> bool:
    """Whether JSON text cannot decode to anything ``_unsafe_text`` refuses: no escape,
    no DEL, C1 or surrogate character standing as itself, and too few brackets to nest
    deeper than ``MAX_DEPTH``. Most commands are such text, and skip the walk."""
    # ASCII text, the usual case, in a few scans at C speed: only a backslash or DEL can hide one.
    hiding = ("\\" in text or "\x7f" in text) if text.isascii() else _MAY_HIDE_UNPRINTABLE.search(text) is not None
    return not hiding and text.count("{") + text.count("[") <= MAX_DEPTH


def _plain_object(value: Any, depth: int = 0) -> bool:
    """Whether a decoded object holds only what a JSON decoder makes (exactly those
    types: msgspec would keep a ``str`` subclass, an enum member, that pydantic turns
    into a ``str``) and nothing ``_unsafe_text`` refuses, in one walk: the fast path may
    take it. Stricter than ``_unsafe_text`` on depth; what fails here goes the long way."""
    kind = type(value)
    if kind is str:
        return value.isprintable() if value.isascii() else _UNPRINTABLE.search(value) is None
    if depth >= MAX_DEPTH:
        return kind in _SCALARS
    if kind is dict:
        return all(type(key) is str and _plain_object(key) and _plain_object(item, depth + 1)
                   for key, item in value.items())
    if kind is list:
        return all(_plain_object(item, depth + 1) for item in value)
    return kind in _SCALARS


_SCALARS = frozenset({int, bool, float, Decimal, type(None)})


def json_text(raw: str | bytes, max_bytes: int | None = MAX_BYTES) -> str:
    """The text of a command: refused (``invalid_json``) when too long or not UTF-8."""
    if max_bytes is not None and len(raw) > max_bytes:
        raise reject("invalid_json", f"a command is at most {max_bytes:,} bytes; this one has {len(raw):,}")
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise reject("invalid_json", f"not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}") from None
    return raw


def decode_json(raw: str | bytes, max_bytes: int | None = MAX_BYTES) -> Any:
    """JSON text (strictly UTF-8 when bytes) to Python, numbers as exact decimals: the
    one decoder of every entry point (files, HTTP bodies, Kafka messages). Refuses, with
    code ``invalid_json``, text that is too long, not UTF-8, not JSON or nested too
    deeply to read."""
    raw = json_text(raw, max_bytes)
    try:
        if raw.startswith("\ufeff"):  # as json.loads says it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        return _DECODER.decode(raw)
    except RecursionError:
        raise reject("invalid_json", f"nests too deeply (at most {MAX_DEPTH} levels)") from None
    except ValueError as exc:  # JSONDecodeError, and integers too long to read
        raise reject("invalid_json", f"not JSON: {exc}") from None


def _unsafe_text(value: Any, path: tuple[str, ...] = ()) -> Iterator[Problem]:
    """Every string and key, at any depth, that the store must never see: control
    characters (PostgreSQL refuses NUL in text) or lone surrogates (not UTF-8).
    Stops descending at ``MAX_DEPTH``, so it never recurses further than that."""
    field = ".".join(path) or None
    if len(path) > MAX_DEPTH:
        yield Problem("invalid", f"{field}: nests too deeply (at most {MAX_DEPTH} levels)", field)
        return
    if isinstance(value, str):
        if _UNPRINTABLE.search(value):
            yield Problem("invalid", f"{field or 'text'}: control characters (such as NUL) are not allowed", field)
        return
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and _UNPRINTABLE.search(key):
            named = ".".join([*path, key.encode("unicode_escape").decode()])
            yield Problem("invalid", f"{named}: control characters (such as NUL) are not allowed in a key", named)
            continue
        yield from _unsafe_text(item, (*path, str(key)))


def validation_problems(exc: ValidationError, prefix: str) -> list[Problem]:
    """Every problem of a value validated on its own (not as a whole command), its
    fields named under ``prefix``."""
    return [_problem({**error, "loc": (prefix, *error["loc"])}, "") for error in exc.errors()]


def _problem(error: Any, command_type: str) -> Problem:
    # The discriminator puts the command type first in the path: drop it.
    path = [str(p) for p in error["loc"]]
    if path and path[0] == command_type:
        path = path[1:]
    field = ".".join(path) or None
    cause = (error.get("ctx") or {}).get("error")
    message = error["msg"].removeprefix("Value error, ")
    if isinstance(cause, m.FieldError):
        field, message = ".".join([*path, cause.field]), cause.reason
    if field and not message.startswith(field):
        message = f"{field}: {message}"
    if error["type"] == "union_tag_invalid":
        return Problem("unknown_type", message, field or "type")
    return Problem("invalid", message, field)
