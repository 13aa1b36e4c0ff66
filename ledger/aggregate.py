"""Aggregates, folded from catalogue events carried in an envelope.

The catalogue (``events/``) knows nothing of storage. Here each event is wrapped in an
``Envelope`` that gives it what the log keys it by (originator id and version, recorded
time: ``adapters.event_store`` writes and reads them) and what an auditor needs
(effective time, actor, source, correlation id).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache, singledispatchmethod
from typing import Any, ClassVar, TypeVar
from uuid import NAMESPACE_URL, UUID, uuid5

from events.base import Event, EventMeta

LEDGER_NAMESPACE = uuid5(NAMESPACE_URL, "https://commission-ledger/ids")

A = TypeVar("A", bound="Aggregate")


@dataclass(frozen=True)
class Envelope:
    """One stored event: a catalogue payload plus identity, times and provenance."""

    originator_id: UUID
    originator_version: int
    timestamp: datetime  # recorded time: when the ledger learnt the fact
    meta: EventMeta
    payload: Event

    @property
    def event_id(self) -> UUID:
        return uuid5(self.originator_id, str(self.originator_version))

    @property
    def event_id_text(self) -> str:
        """``str(event_id)`` (see ``event_id_text``)."""
        return event_id_text(self.originator_id, self.originator_version)

    @property
    def payload_json(self) -> bytes:
        """The payload as JSON, serialised once: the store writes these bytes and the
        read models read them back instead of dumping the model again. (Kept in the
        instance's dict by hand: ``cached_property`` takes a lock on every first use.)"""
        cached: bytes | None = self.__dict__.get("_payload_json")
        if cached is None:
            cached = self.__dict__["_payload_json"] = self.payload.__pydantic_serializer__.to_json(self.payload)
        return cached

    @property
    def recorded_at(self) -> datetime:
        return self.timestamp

    @property
    def effective_at(self) -> datetime:
        return self.meta.effective_at

    def mutate(self, aggregate: Aggregate | None) -> Aggregate:
        """Fold this event into its aggregate (a new one for the first event): how the
        store (``EventStore.get``/``load``) and the unit of work's prefetch rebuild one."""
        if aggregate is None:
            aggregate = aggregate_class_for(self.payload)(self.originator_id)
        aggregate.apply(self)
        return aggregate


_NAMESPACE_BYTES = LEDGER_NAMESPACE.bytes


def _uuid5_bytes(namespace: bytes, name: bytes) -> bytearray:
    """``uuid5(namespace, name).bytes``: RFC 4122's name-based SHA-1 id, its version and
    variant bits set on the digest's bytes (``uuid5`` builds a UUID through an integer),
    for the aggregate ids. An event id, wanted as text, has the same bits set on the
    digest's hex text instead (``event_id_text``)."""
    digest = bytearray(hashlib.sha1(namespace + name).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # the RFC 4122 variant
    return digest


def event_id_text(originator_id: UUID | str, version: int) -> str:
    """``str(uuid5(originator_id, str(version)))``, an event's id (``Envelope.event_id``),
    as text without building a UUID. ``originator_id`` is a UUID, or its 32 hex digits
    as SQLite stores them."""
    identity = originator_id.bytes if isinstance(originator_id, UUID) else bytes.fromhex(originator_id)
    # The version and variant bits set on the digest's hex text, not on its bytes: one
    # object less per id (1.2 µs against 1.5, made once per event a replay, the audit
    # trail or the relay writes).
    text = hashlib.sha1(identity + b"%d" % version).hexdigest()
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:32]}"


# A hex digit with RFC 4122's variant bits (10xx) set, as ``_uuid5_bytes`` sets them on a byte.
_VARIANT = {digit: "89ab"[int(digit, 16) & 0x3] for digit in "0123456789abcdef"}


@lru_cache(maxsize=262_144)
def _aggregate_id(kind: str, key: str) -> UUID:
    """``uuid5(LEDGER_NAMESPACE, "<kind>:<key>")``."""
    return UUID(bytes=bytes(_uuid5_bytes(_NAMESPACE_BYTES, f"{kind}:{key}".encode())))


_AGGREGATE_FOR_EVENT: dict[type[Event], type[Aggregate]] = {}


def aggregate_class_for(payload: Event) -> type[Aggregate]:
    return _AGGREGATE_FOR_EVENT[type(payload)]


class Aggregate:
    """Base aggregate: state is the fold of its events through ``when``."""

    KIND: ClassVar[str]
    EVENTS: ClassVar[tuple[type[Event], ...]] = ()

    # The ``when`` implementation for a payload type. Looked up through the class's
    # dispatcher: ``self.when`` would build a new bound wrapper on every event.
    _when_for: ClassVar[staticmethod[[type[Event]], Callable[..., None]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for event_class in cls.EVENTS:
            _AGGREGATE_FOR_EVENT[event_class] = cls
        when = cls.__dict__.get("when")
        if isinstance(when, singledispatchmethod):
            cls._when_for = staticmethod(when.dispatcher.dispatch)

    def __init__(self, id: UUID) -> None:
        self.id = id
        self.version = 0
        self._pending: list[Envelope] = []

    @classmethod
    def id_for(cls, key: str) -> UUID:
        return _aggregate_id(cls.KIND, key)

    def record(self, payload: Event, meta: EventMeta, recorded_at: datetime | None = None) -> Envelope:
        """``recorded_at``: when the ledger learnt the fact (now, unless the caller
        already asked the clock for this command's events)."""
        envelope = Envelope(self.id, self.version + 1, recorded_at or datetime.now(UTC), meta, payload)
        self.apply(envelope)
        self._pending.append(envelope)
        return envelope

    def apply(self, envelope: Envelope) -> None:
        self.version = envelope.originator_version
        self._when_for(type(envelope.payload))(self, envelope.payload, envelope)

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        raise TypeError(f"{type(self).__name__} cannot apply {type(payload).__name__}")

    def collect_events(self) -> list[Envelope]:
        collected, self._pending = self._pending, []
        return collected


Aggregate._when_for = staticmethod(Aggregate.__dict__["when"].dispatcher.dispatch)
