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


def link(previous: bytes, position: int, id_hex: str, version: int, topic: str, state: bytes) -> bytes:
    """The seal of one event (its originator id as 32 hex digits), chained to ``previous``."""
    return hashlib.sha256(
        b"%s%s%s\x00%d\x00%s\x00%s" % (previous, position.to_bytes(8, "big"), id_hex.encode(), version, topic.encode(), state)
    ).digest()


def chain_hash(previous: bytes, position: int, stored: StoredEvent) -> bytes:
    """The seal of one stored event or notification, chained to the seal before it."""
    originator_id = stored.originator_id
    id_hex = originator_id.hex if isinstance(originator_id, UUID) else str(originator_id).replace("-", "")
    state = stored.state
    # A hand-edited row may come back as text rather than bytes: hash what is there.
    content = bytes(state) if isinstance(state, bytes | bytearray | memoryview) else str(state).encode()
    return link(previous, position, id_hex, stored.originator_version, stored.topic, content)


def seal(cursor: Any, table: str, rows: Sequence[tuple[int, str, int, str, bytes]]) -> None:
    """Extend the chain with the events of ``rows`` (position, originator id as hex,
    version, topic, state: the bytes the store writes). The caller holds the log's write
    lock, so the head cannot move between reading and extending it."""
    cursor.execute(f"SELECT hash FROM {table} ORDER BY position DESC LIMIT 1")
    head = cursor.fetchone()
    previous = bytes(head[0]) if head else GENESIS
    seals = []
    for position, id_hex, version, topic, state in rows:
        previous = link(previous, position, id_hex, version, topic, state)
        seals.append((position, previous))
    cursor.insert_many(table, seals, ("int8", "bytea"))
