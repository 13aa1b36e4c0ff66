"""Idempotency keys: the first result of every keyed command, in a table of its own.

A key (``payment:pay-1``, ``command:<command_id>``) is written with a keyed fingerprint
of the command's content and the result the caller got, in the transaction that
writes the command's events. The primary key makes a second writer of the same key
fail that transaction, and the bus replays its batch, finding the key this time. They
are bookkeeping, not business facts, so they are not events: the log holds only facts.

Logs written before this table existed carry the same receipts as ``command.accepted``
events; the table is filled from them once, when it is created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

TABLE = "ledger_idempotency"
LEGACY_TOPIC = "command.accepted"
_CHUNK = 1000


# What the first delivery of a key decided: (key, its content's fingerprint, its result).
Receipt = tuple[str, str, dict[str, Any]]


def _row(receipt: Receipt) -> tuple[str, str, str]:
    key, fingerprint, result = receipt
    return key, fingerprint, orjson.dumps(result).decode()


def create_table(cursor: Any, events_table: str, table_exists: bool) -> None:
    """Create the table; when it is new, fill it from the log's legacy receipts."""
    cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, result TEXT NOT NULL)")
    if table_exists:
        return
    cursor.execute(f"SELECT state FROM {events_table} WHERE topic = %s", (LEGACY_TOPIC,))
    rows = []
    for (state,) in cursor.fetchall():
        payload = orjson.loads(bytes(state))["payload"]
        rows.append(_row((payload["key"], payload["fingerprint"], payload["result"])))
    for start in range(0, len(rows), _CHUNK):
        cursor.executemany(
            f"INSERT INTO {TABLE} (key, fingerprint, result) VALUES (%s, %s, %s) ON CONFLICT (key) DO NOTHING",
            rows[start : start + _CHUNK],
        )


def lookup(cursor: Any, keys: Iterable[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """(fingerprint, first result) of those keys that were already used."""
    wanted = sorted(set(keys))
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        cursor.execute(
            f"SELECT key, fingerprint, result FROM {TABLE} WHERE key IN ({', '.join('%s' for _ in chunk)})", chunk
        )
        for key, fingerprint, result in cursor.fetchall():
            found[key] = (fingerprint, orjson.loads(result))
    return found


def insert(cursor: Any, receipts: Sequence[Receipt]) -> None:
    """Write new receipts (COPY on PostgreSQL); a key already there fails the transaction."""
    cursor.insert_many(TABLE, [_row(receipt) for receipt in receipts], ("text", "text", "text"))
