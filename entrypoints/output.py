"""How the CLI prints: JSON for scripts, aligned tables with headers (rich) for people.

Tables go to standard output at their natural width when it is not a terminal, so
``ledger list partners | grep Gold`` sees whole rows. Output is written a line (or a
JSON token run) at a time, so a reader that leaves early (``| head -1``) is noticed at
once rather than after everything was rendered."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table


def emit(*renderables: Any) -> None:
    """Render with rich, then write line by line (trailing padding trimmed off a terminal)."""
    out = sys.stdout
    terminal = out.isatty()
    buffer = io.StringIO()
    width = shutil.get_terminal_size().columns if terminal else 100_000
    Console(file=buffer, width=width, force_terminal=terminal, no_color=not terminal, highlight=False).print(*renderables)
    for line in buffer.getvalue().splitlines():
        out.write((line if terminal else line.rstrip()) + "\n")


def print_json(document: Any) -> None:
    out = sys.stdout
    for chunk in json.JSONEncoder(indent=2).iterencode(document):
        out.write(chunk)
    out.write("\n")


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value) or "-"
    if isinstance(value, dict):
        return ", ".join(f"{k} {cell(v)}" for k, v in value.items()) or "-"
    return str(value)


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None,
    numeric: Sequence[str] = (), note: str | None = None,
) -> None:
    """A table with headers; ``numeric`` columns are right-aligned (money lines up)."""
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", show_edge=False, pad_edge=False)
    for column in columns:
        table.add_column(column, justify="right" if column in numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    emit(table, *([note] if note else []))


def print_record(document: dict[str, Any], *, title: str | None = None) -> None:
    """One document as a two-column table of fields (nested objects flattened with dots)."""
    print_table(("field", "value"), list(_flatten(document)), title=title)


def _flatten(document: dict[str, Any], prefix: str = "") -> Any:
    for key, value in document.items():
        if isinstance(value, dict) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
