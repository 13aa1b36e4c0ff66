"""One mechanism for every platform: a source row -> this ledger's commands, by a small
data mapping (``platforms.py``).

A mapping names, per resource (``affiliates``, ``referrals``...), where the rows are, the
row's id, when a row is not imported at all (and why), and the commands it becomes.
A command template is plain data: a string ``"$a.b"`` is the row's field at that path
(``"$a|b"``: the first of them given), a tuple ``("op", arg...)`` applies one of ``OPS``
to its evaluated arguments, dicts and lists are evaluated inside; anything else is a
constant. ``None`` values are left out of a command.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ledger.money import minor_unit

Row = dict[str, Any]
Template = Any


@dataclass(frozen=True)
class Rule:
    """One command a row becomes, ``when`` the condition holds (else ``unless`` says why not)."""

    name: str
    command: dict[str, Template]
    when: Template = True
    unless: str = ""


@dataclass(frozen=True)
class Resource:
    """What one kind of file holds and how each of its rows maps."""

    name: str
    rules: tuple[Rule, ...]
    row_id: str = "$id"
    skip: tuple[tuple[Template, str], ...] = ()  # (condition, reason): the row is not imported
    endpoint: str = ""  # the API path that lists it


@dataclass(frozen=True)
class Platform:
    name: str
    resources: tuple[Resource, ...]  # in the order they are applied: partners before their customers
    api_base: str = ""
    auth: str = "bearer"  # "bearer" or "basic" (the key as user name, or "public:secret")
    paging: str = "page"  # "page" (?page=N) or "cursor" (?starting_after=LAST_ID)

    def resource_for(self, path: Path) -> Resource | None:
        """The resource a file holds, from its name (``rewardful-commissions.json``)."""
        stem = path.stem.lower()
        return next((r for r in self.resources if r.name in stem), None)


@dataclass
class Context:
    program_id: str
    currency: str  # the program's currency: what amounts are in when a row names none
    revenue_kind: str = "subscription"  # the payment line kind of an imported sale


class MappingError(ValueError):
    """A row's field cannot be read as what the mapping needs (the row is refused)."""


# -- reading files ----------------------------------------------------------------------


def read_rows(path: Path) -> list[Row]:
    """The rows of a saved API answer (JSON: a list, or the list under ``data``,
    ``data.items``, ``items``...) or of a CSV export (a header row; ``a.b`` headers nest)."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        return [_nest(row) for row in csv.DictReader(io.StringIO(text))]
    return rows_of(json.loads(text))


def rows_of(document: Any) -> list[Row]:
    if isinstance(document, list):
        return [row for row in document if isinstance(row, dict)]
    if isinstance(document, dict):
        for key in ("data", "items", "results"):
            if key in document:
                return rows_of(document[key])
    raise MappingError("no list of records found (a JSON list, or one under data, data.items or items)")


def _nest(row: dict[str, str]) -> Row:
    """A CSV row with ``sale.currency`` headers as nested objects; blank cells are absent."""
    nested: Row = {}
    for header, cell in row.items():
        if header is None or cell is None or cell.strip() == "":
            continue
        *parents, leaf = header.strip().split(".")
        target = nested
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = cell.strip()
    return nested


# -- evaluating templates -------------------------------------------------------------


def lookup(row: Row, path: str) -> Any:
    for alternative in path.split("|"):
        value: Any = row
        for part in alternative.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, ""):
            return value
    return None


def evaluate(template: Template, row: Row, ctx: Context) -> Any:
    if isinstance(template, str) and template.startswith("$"):
        return lookup(row, template[1:])
    if isinstance(template, dict):
        values = {key: evaluate(value, row, ctx) for key, value in template.items()}
        return {key: value for key, value in values.items() if value is not None}
    if isinstance(template, list):
        return [evaluate(item, row, ctx) for item in template]
    if isinstance(template, tuple):
        op, *args = template
        return OPS[op](ctx, *(evaluate(arg, row, ctx) for arg in args))
    return template


def _money(ctx: Context, cents: Any, currency: Any = None) -> str | None:
    """An amount in the currency's minor unit (cents) as a decimal string."""
    if cents is None:
        return None
    try:
        units = Decimal(str(cents))
    except InvalidOperation:
        raise MappingError(f"{cents!r} is not an amount in cents") from None
    return str(units * minor_unit(_currency(ctx, currency)))


def _currency(ctx: Context, currency: Any = None) -> str:
    return str(currency).upper() if currency else ctx.currency


def _moment(ctx: Context, value: Any) -> str | None:
    """ISO 8601 text as given, or epoch milliseconds (PartnerStack) as ISO 8601."""
    if value is None:
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value) / 1000, UTC).isoformat()
    return str(value)


OPS: dict[str, Callable[..., Any]] = {
    "money": _money,
    "negative_money": lambda ctx, cents, currency=None: None if cents is None else _money(ctx, -Decimal(str(cents)), currency),
    "currency": _currency,
    "moment": _moment,
    "program": lambda ctx: ctx.program_id,
    "kind": lambda ctx: ctx.revenue_kind,
    "text": lambda ctx, value: None if value is None else str(value),
    "join": lambda ctx, *parts: " ".join(str(p) for p in parts if p) or None,
    "concat": lambda ctx, *parts: None if any(p is None for p in parts) else "".join(str(p) for p in parts),
    "first": lambda ctx, *values: next((v for v in values if v not in (None, "")), None),
    "given": lambda ctx, value: value not in (None, "", 0, "0"),
    "equals": lambda ctx, value, wanted: str(value).lower() == str(wanted).lower(),
    "one_of": lambda ctx, value, *wanted: str(value).lower() in {str(w).lower() for w in wanted},
    "positive": lambda ctx, value: value is not None and Decimal(str(value)) > 0,
    "negative": lambda ctx, value: value is not None and Decimal(str(value)) < 0,
    "not": lambda ctx, value: not value,
}


# -- one file -------------------------------------------------------------------------


@dataclass
class Mapped:
    """What one row became: commands (each with its rule's name), or why nothing."""

    row_id: str
    commands: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # reasons a rule (or the row) was not applied
    refused: str | None = None  # the row could not be read


def map_rows(platform: Platform, resource: Resource, rows: list[Row], ctx: Context) -> Iterator[Mapped]:
    for index, row in enumerate(rows):
        row_id = str(evaluate(resource.row_id, row, ctx) or f"row {index + 1}")
        mapped = Mapped(row_id)
        try:
            reason = next((why for condition, why in resource.skip if evaluate(condition, row, ctx)), None)
            if reason is not None:
                mapped.skipped.append(reason)
            else:
                for rule in resource.rules:
                    if evaluate(rule.when, row, ctx):
                        command = evaluate(rule.command, row, ctx)
                        command["command_id"] = f"import:{platform.name}:{resource.name}:{row_id}:{rule.name}"
                        mapped.commands.append((rule.name, command))
                    elif rule.unless:
                        mapped.skipped.append(rule.unless)
        except (MappingError, ArithmeticError, ValueError) as error:
            mapped.commands, mapped.refused = [], str(error)
        yield mapped
