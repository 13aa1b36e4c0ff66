"""The hash chain that seals every event: each seal covers the event's position,
identity and bytes, chained to the seal before it. Computed in Python for a whole
batch and written in the batch's transaction; ``replay.integrity`` walks it again."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

GENESIS = bytes(32)
CHAIN_TABLE = "ledger_chain"


def chain_hash(previous: bytes, position: int, stored: StoredEvent) -> bytes:
    """The seal of one event: its content and position, chained to the seal before it."""
    digest = hashlib.sha256(previous)
    digest.update(position.to_bytes(8, "big"))
    originator_id = stored.originator_id
    digest.update((originator_id.hex if isinstance(originator_id, UUID) else str(originator_id).replace("-", "")).encode())
    digest.update(b"\x00%d\x00" % stored.originator_version)
    digest.update(stored.topic.encode())
    digest.update(b"\x00")
    state = stored.state
    # A hand-edited row may come back as text rather than bytes: hash what is there.
    digest.update(state if isinstance(state, bytes | bytearray | memoryview) else str(state).encode())
    return digest.digest()


def seal(cursor: Any, table: str, positions: Sequence[int], events: Sequence[StoredEvent]) -> None:
    """Extend the chain with ``events`` at ``positions`` (the caller holds the log's
    write lock, so the head cannot move between reading and extending it)."""
    cursor.execute(f"SELECT hash FROM {table} ORDER BY position DESC LIMIT 1")
    row = cursor.fetchone()
    previous = bytes(row[0]) if row else GENESIS
    rows = []
    for position, stored in zip(positions, events, strict=True):
        previous = chain_hash(previous, position, stored)
        rows.append((position, previous))
    cursor.insert_many(table, rows)
