"""Stream a table in key order, a page at a time: memory stays flat however big it is."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from adapters.database import Database

PAGE = 5000
INTEGER_KEYS = frozenset({"position", "seq"})


def scan(db: Database, table: str, keys: Sequence[str], where: str = "", params: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Rows of ``table`` ordered by ``keys`` (keyset pagination); each row's key
    columns come first."""
    # Byte order for text keys on PostgreSQL, so that the order matches Python's
    # comparisons whatever the database's collation.
    ordered = [f'{k} COLLATE "C"' if db.is_postgres and k not in INTEGER_KEYS else k for k in keys]
    order = ", ".join(ordered)
    last: tuple[Any, ...] | None = None
    with db.connect() as conn:
        while True:
            clauses = [where] if where else []
            args: tuple[Any, ...] = params
            if last is not None:
                clauses.append(f"({order}) > ({', '.join('%s' for _ in keys)})")
                args = (*params, *last)
            sql = f"SELECT {', '.join(keys)}, * FROM {table}"
            if clauses:
                sql += " WHERE " + " AND ".join(clauses)
            with db.reading(conn) as cursor:
                cursor.execute(f"{sql} ORDER BY {order} LIMIT {PAGE}", args)
                rows = cursor.fetchall()
            if not rows:
                return
            for row in rows:
                yield tuple(row)
            last = tuple(rows[-1][: len(keys)])


def table_columns(db: Database, table: str) -> list[str]:
    """A table's column names, in order."""
    with db.connect() as conn, db.reading(conn) as cursor:
        cursor.execute(f"SELECT * FROM {table} LIMIT 0")
        return [column[0] for column in cursor.description]
