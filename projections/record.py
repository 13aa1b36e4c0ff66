"""What a read model folds: one event as a light, plain record.

Views read an event's payload as the dict decoded once (with orjson) from the bytes the
store wrote, not as a pydantic model: replay and a catch-up from the log then cost one
JSON decode per event, and a catch-up right after a commit decodes the payload bytes
the writer already made. Times are kept as the columns' fixed-width UTC text
(``projections.columns.ts``); amounts are parsed from their stored strings, exactly.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson

from adapters.event_store import Row, read_document
from ledger.aggregate import Envelope, event_id_text
from projections.columns import ts


class Record:
    """One event at its log position: identity, times (as column text), metadata and
    payload (a dict, as stored). ``payload_json`` is the payload's stored bytes."""

    __slots__ = (
        "actor",
        "correlation_id",
        "effective_at",
        "money",
        "originator_id",
        "payload",
        "payload_json",
        "position",
        "recorded_at",
        "source",
        "topic",
        "version",
    )

    def __init__(
        self, position: int, topic: str, originator_id: UUID | str, version: int, effective_at: str, recorded_at: str,
        meta: dict[str, Any], payload: dict[str, Any], payload_json: bytes,
    ) -> None:
        self.position, self.topic, self.originator_id, self.version = position, topic, originator_id, version
        self.effective_at, self.recorded_at = effective_at, recorded_at
        self.actor, self.source, self.correlation_id = meta["actor"], meta["source"], meta["correlation_id"]
        self.payload, self.payload_json = payload, payload_json
        self.money: list[Any] | None = None  # its money lines, worked out once (projections.money)

    @property
    def event_id_text(self) -> str:
        """The event's id (``Envelope.event_id``) as text."""
        return event_id_text(self.originator_id, self.version)


def from_envelope(position: int, envelope: Envelope) -> Record:
    """A record of an event just committed (its payload bytes are the ones stored)."""
    meta = envelope.meta
    return Record(
        position, envelope.payload.TOPIC, envelope.originator_id, envelope.originator_version,
        ts(meta.effective_at), ts(envelope.timestamp),
        {"actor": meta.actor, "source": meta.source, "correlation_id": meta.correlation_id},
        orjson.loads(envelope.payload_json), envelope.payload_json,
    )


def from_stored(row: Row) -> Record:
    """A record of a stored event (a row of the log, ``EventStore.rows``), read as stored
    when it is its model's own JSON now, else upcast and validated by its catalogue
    model (``adapters.event_store.read_document``)."""
    position, originator_id, version, topic, _ = row
    _, recorded_at, meta, payload, payload_json = read_document(row)
    return Record(
        position, topic, originator_id, version, ts_text(meta["effective_at"]), ts_text(recorded_at), meta,
        payload, payload_json,
    )


def ts_text(text: str) -> str:
    """A stored ISO 8601 time as column text: what ``ts`` makes of the parsed time."""
    if len(text) == 32 and text[19] == "." and text.endswith("+00:00"):  # already so (a recorded time)
        return text
    if len(text) == 20 and text[19] == "Z":  # whole seconds in UTC, as the events' times mostly are
        return f"{text[:19]}.000000+00:00"
    return _ts_text(text)


@lru_cache(maxsize=4096)
def _ts_text(text: str) -> str:
    # ``ts`` unwrapped: this cache already holds the text, and an entry in ``ts``'s own
    # (keyed by the parsed time, never hit this way) would only push out the ingest path's.
    return ts.__wrapped__(datetime.fromisoformat(text))


def iso_text(text: str) -> str:
    """A stored time as ``datetime.isoformat`` writes the parsed time (the statements
    view, and the relay for every event it publishes: not worth a cache, whose memory
    would grow with the log up to its bound). The two shapes the store writes in UTC are
    turned without parsing, as ``ts_text`` turns them."""
    if len(text) == 20 and text[19] == "Z" and text[10] == "T":  # whole seconds in UTC
        return f"{text[:19]}+00:00"
    if (len(text) == 25 or (len(text) == 32 and text[19] == "." and text[20:26] != "000000")) and (
        text[10] == "T" and text.endswith("+00:00")
    ):  # already so (isoformat leaves out a zero fraction)
        return text
    return datetime.fromisoformat(text).isoformat()


def amount(value: Any) -> Decimal:
    """A stored amount, exactly (amounts are stored as decimal strings)."""
    return Decimal(value) if isinstance(value, str) else Decimal(str(value))
