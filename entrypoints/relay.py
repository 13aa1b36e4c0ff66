"""The outbound Kafka relay: a projection whose sink is a set of topics.

It reads the log after its tracking position a batch at a time and publishes each
event (every event to ``ledger.events.v1``; issued statements also to
``ledger.statements.v1`` and payouts to ``ledger.payouts.v1``). Several batches are in
flight at once; the position (table ``relay_tracking``) moves past a batch only once
the broker has acknowledged every one of its records with ``acks=all``, and only in
log order. A crash anywhere therefore loses nothing; a restart may publish the
batches that were in flight again, which consumers absorb by deduplicating on the
event id.

Records are keyed by partner id (customer id while no partner is known, else the
program id), so one partner's events land on one partition, in log order.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from uuid import UUID

import orjson
import structlog
from kafka.errors import KafkaError

from entrypoints.bootstrap import Ledger
from entrypoints.signals import stop_on_signals
from events.customer import CustomerClaimed
from events.schema_export import UNPUBLISHED_TYPES, schema_id
from events.wire import ENVELOPE_VERSION, public_json, public_payload
from ledger.aggregate import Envelope, event_id_text
from projections.record import iso_text
from projections.relay_tracking import RelayTracking

if TYPE_CHECKING:
    from adapters.event_store import CurrentDocument, EventStore, Row
    from adapters.kafka import KafkaConfig

log = structlog.get_logger(__name__)

# Event types that also go to a topic of their own, by catalogue topic name.
STATEMENT_TYPES = frozenset({"statement.issued"})
PAYOUT_TYPES = frozenset({"payout.recorded"})
CLAIMED = CustomerClaimed.TOPIC
# Batches in flight keep tens of thousands of objects alive (the producer's futures,
# the parsed payloads of the batch being sent): at the collector's default threshold
# (700 allocations) it walks them again and again, 12 us per record measured on the
# bench's S data set (a fifth of the relay's CPU). Collected 14 times less often,
# the cost is gone; memory stays bounded by the batches in flight.
GC_THRESHOLD = 10_000


class Producer(Protocol):
    def send(self, topic: str, value: bytes | None = ..., key: bytes | None = ..., headers: Any = ...) -> Any: ...
    def flush(self, timeout: float | None = ...) -> None: ...
    def close(self, timeout: float | None = ...) -> None: ...


class OutboundRecord(NamedTuple):  # a tuple: a third of a frozen dataclass's cost to make
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class SentBatch:
    """Records sent for a batch of the log, not yet known to be acknowledged."""

    position: int  # the last position of the batch
    futures: list[Any] = field(default_factory=list)
    claims: list[tuple[str, str, int]] = field(default_factory=list)  # attributions first seen in it


class RelayError(RuntimeError):
    """The broker did not acknowledge a batch: the position was not moved."""


def record_key(fields: dict[str, Any], attributed_to: str | None = None) -> tuple[str | None, str | None, str | None]:
    """(partner id, customer id, key) for a payload dumped to JSON: the payload's
    partner, else the partner its customer was attributed to before this event
    (``attributed_to``), else the customer, else the program."""
    earning = fields.get("earning")
    partner_id = fields.get("partner_id") or (earning.get("partner_id") if isinstance(earning, dict) else None)
    customer_id = fields.get("customer_id")
    partner_id = partner_id or attributed_to
    return partner_id, customer_id, partner_id or customer_id or fields.get("program_id")


@dataclass(slots=True)
class WireSource:
    """What the envelope of one event is made of: its identity and times as published,
    its payload dumped to JSON (private fields still in it) and, when the payload can
    be published as it was stored, its stored bytes."""

    position: int
    topic: str
    schema_version: int
    originator_id: UUID
    originator_version: int
    effective_at: str  # ISO 8601, as ``datetime.isoformat`` writes it
    recorded_at: str
    source: str
    correlation_id: str
    fields: dict[str, Any]
    # The payload's JSON as the store wrote it, when no private mark is anywhere in it
    # (most events): published as it is, never encoded again.
    stored_payload: bytes | None = None

    @property
    def event_id_text(self) -> str:
        """``str(Envelope.event_id)``."""
        return event_id_text(self.originator_id, self.originator_version)

    @classmethod
    def from_envelope(cls, envelope: Envelope, position: int) -> WireSource:
        event, meta = envelope.payload, envelope.meta
        return cls(
            position, event.TOPIC, event.SCHEMA_VERSION, envelope.originator_id, envelope.originator_version,
            meta.effective_at.isoformat(), envelope.recorded_at.isoformat(), meta.source, meta.correlation_id,
            event.model_dump(mode="json"),
        )

    @classmethod
    def from_row(cls, row: Row, store: EventStore) -> WireSource:
        """From a row of the log (position, originator id, version, topic, stored
        bytes), read by the store's one reader of stored rows (``read_document``): as
        stored, without validating the bytes into the event's model again, when they are
        that model's own JSON now; anything else (an older schema version, a field added
        since with its default, a hand-edited row) the long way, upcasters included."""
        document = store.read_document(row)
        try:
            return cls._from_document(row, store, document)
        except (TypeError, ValueError):  # a time that is not one: the long way says what is wrong
            return cls._from_document(row, store, store.read_document(row, long_way=True))

    @classmethod
    def _from_document(cls, row: Row, store: EventStore, document: CurrentDocument) -> WireSource:
        position, originator_id, version, topic, _ = row
        schema_version, recorded_at, meta, fields, payload = document
        return cls(
            position, topic, schema_version, store.as_uuid(originator_id), version,
            iso_text(meta["effective_at"]), iso_text(recorded_at),
            meta["source"], meta["correlation_id"], fields,
            stored_payload=payload if public_json(payload, topic) is payload else None,
        )

    def document(self, attributed_to: str | None = None) -> dict[str, Any]:
        """The published envelope (see events/wire.py and events/schemas/)."""
        fields = self.fields
        partner_id, customer_id, key = record_key(fields, attributed_to)
        return {
            "envelope_version": ENVELOPE_VERSION,
            "event_id": self.event_id_text,
            "type": self.topic,
            "schema_version": self.schema_version,
            "partner_id": partner_id,
            "customer_id": customer_id,
            "key": key or str(self.originator_id),
            "aggregate_id": str(self.originator_id),
            "aggregate_version": self.originator_version,
            "position": self.position,
            "effective_at": self.effective_at,
            "recorded_at": self.recorded_at,
            "source": self.source,
            "correlation_id": self.correlation_id,
            "payload": public_payload(fields),
        }

    def records(self, config: KafkaConfig, attributed_to: str | None = None) -> list[OutboundRecord]:
        """The records this event becomes: none for bookkeeping, one on the events
        topic, and one more on the statements or payouts topic for those; encoded once."""
        event_type = self.topic
        if event_type in UNPUBLISHED_TYPES:
            return []
        partner_id, customer_id, key = record_key(self.fields, attributed_to)
        key = key or str(self.originator_id)
        event_id = self.event_id_text
        payload = self.stored_payload
        if payload is None:
            payload = orjson.dumps(public_payload(self.fields), option=orjson.OPT_SORT_KEYS)
        # ``document()`` as JSON, its members in sorted order, written by hand around the
        # payload's bytes (a third of what encoding the whole document costs); every
        # text that may need escaping goes through orjson.
        value = _ENVELOPE % (
            str(self.originator_id).encode(), self.originator_version, _json(self.correlation_id), _json(customer_id),
            self.effective_at.encode(), ENVELOPE_VERSION, event_id.encode(), _json(key), _json(partner_id), payload,
            self.position, self.recorded_at.encode(), self.schema_version, _json(self.source), _json(event_type),
        )
        headers = [("event_id", event_id.encode()), *_type_headers(event_type, self.schema_version)]
        return [OutboundRecord(topic, key.encode(), value, headers) for topic in _topics(config, event_type)]


_ENVELOPE = (
    b'{"aggregate_id":"%s","aggregate_version":%d,"correlation_id":%s,"customer_id":%s,"effective_at":"%s",'
    b'"envelope_version":%d,"event_id":"%s","key":%s,"partner_id":%s,"payload":%s,"position":%d,"recorded_at":"%s",'
    b'"schema_version":%d,"source":%s,"type":%s}'
)
_json = orjson.dumps


@cache
def _type_headers(event_type: str, schema_version: int) -> tuple[tuple[str, bytes], ...]:
    return (
        ("event_type", event_type.encode()),
        ("schema_version", schema_id(event_type, schema_version).encode()),  # the payload schema's $id
        ("content-type", b"application/json"),
    )


def _topics(config: KafkaConfig, event_type: str) -> list[str]:
    topics = [config.events_topic]
    if event_type in STATEMENT_TYPES:
        topics.append(config.statements_topic)
    if event_type in PAYOUT_TYPES:
        topics.append(config.payouts_topic)
    return topics


def wire_envelope(envelope: Envelope, position: int, attributed_to: str | None = None) -> dict[str, Any]:
    """The published envelope of one decoded event."""
    return WireSource.from_envelope(envelope, position).document(attributed_to)


def records_for(
    envelope: Envelope, position: int, config: KafkaConfig, attributed_to: str | None = None,
) -> list[OutboundRecord]:
    """The records one decoded event becomes (see ``WireSource.records``)."""
    return WireSource.from_envelope(envelope, position).records(config, attributed_to)


class KafkaRelay:
    """Publishes the log after ``relay_tracking.position`` for its sink, batch by batch."""

    def __init__(
        self, ledger: Ledger, config: KafkaConfig | None = None,
        producer_factory: Callable[[KafkaConfig], Producer] | None = None,
        sink: str | None = None,
    ) -> None:
        self.store = ledger.store
        self.clients = ledger.kafka(config)
        self.config = self.clients.config
        self.sink = sink or f"kafka:{self.config.topic_prefix}"
        self.tracking = RelayTracking(ledger.db, self.sink)
        self._producer_factory = producer_factory or (lambda _: self.clients.producer())
        self._producer: Producer | None = None
        self._ready = False

    def setup(self) -> None:
        if self._ready:
            return
        self.tracking.setup()
        if self.config.create_topics:
            try:
                self.clients.ensure_topics([self.config.events_topic, self.config.statements_topic, self.config.payouts_topic])
            except KafkaError as exc:
                raise RelayError(f"cannot create topics: {type(exc).__name__}: {exc}") from exc
        self._ready = True

    def position(self) -> int:
        self.setup()
        return self.tracking.position()

    # -- publishing ---------------------------------------------------------------------

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = self._producer_factory(self.config)
        return self._producer

    def send_batch(self, after: int, in_flight: Sequence[SentBatch] = ()) -> SentBatch | None:
        """Send the events after ``after`` without waiting for the broker; None when
        there are none. ``in_flight``: batches sent but not yet acknowledged, whose
        attributions the new batch must already know."""
        rows = self.store.page(after, self.config.relay_batch_size)
        if not rows:
            return None
        # Bookkeeping events are never published: skip them before reading their bytes.
        store = self.store
        sources = [WireSource.from_row(row, store) for row in rows if row[3] not in UNPUBLISHED_TYPES]
        attributed = self.tracking.attributions({
            customer_id for source in sources if isinstance(customer_id := source.fields.get("customer_id"), str)
        })
        for sent in in_flight:
            attributed.update((customer_id, (partner_id, position)) for customer_id, partner_id, position in sent.claims)
        batch = SentBatch(rows[-1][0])
        send = self.producer.send
        for source in sources:
            fields, position = source.fields, source.position
            customer_id = fields.get("customer_id")
            if not isinstance(customer_id, str):
                customer_id = None
            elif source.topic == CLAIMED and customer_id not in attributed:
                attributed[customer_id] = (fields["partner_id"], position)
                batch.claims.append((customer_id, fields["partner_id"], position))
            claim = attributed.get(customer_id) if customer_id is not None else None
            partner_id = claim[0] if claim is not None and claim[1] < position else None
            for record in source.records(self.config, partner_id):
                try:
                    batch.futures.append(send(record.topic, value=record.value, key=record.key, headers=record.headers))
                except KafkaError as exc:
                    raise RelayError(f"{type(exc).__name__}: {exc}") from exc
        return batch

    def settle(self, in_flight: deque[SentBatch], keep: int) -> int:
        """Wait for the oldest batches until at most ``keep`` are in flight, and move
        the position past every batch the broker acknowledged in full, in log order;
        returns the records acknowledged. Raises ``RelayError`` (position left at the
        last batch acknowledged in full) if a record was refused."""
        acknowledged = 0
        timeout = self.config.delivery_timeout_ms / 1000
        while in_flight and (len(in_flight) > keep or all(f.is_done for f in in_flight[0].futures)):
            batch = in_flight.popleft()
            failed = []
            for future in batch.futures:
                try:
                    future.get(timeout=timeout)
                except Exception as exc:  # the broker's refusal, whatever its class
                    failed.append(exc)
            if failed:
                raise RelayError(f"{len(failed)} of {len(batch.futures)} records not acknowledged: {failed[0]!r}")
            self.tracking.advance(batch.position, batch.claims)
            acknowledged += len(batch.futures)
            log.debug("relay_batch_published", sink=self.sink, records=len(batch.futures), position=batch.position)
        return acknowledged

    def drain(self, stop: threading.Event | None = None) -> int:
        """Publish everything in the log now, several batches in flight at once;
        returns how many records were published (and acknowledged)."""
        self.setup()
        with _collected_less_often():
            return self._drain(stop)

    def _drain(self, stop: threading.Event | None) -> int:
        position, published = self.position(), 0
        in_flight: deque[SentBatch] = deque()
        while stop is None or not stop.is_set():
            batch = self.send_batch(position, in_flight)
            if batch is None:
                break
            in_flight.append(batch)
            position = batch.position
            published += self.settle(in_flight, keep=self.config.relay_in_flight)
        if in_flight:
            self.producer.flush(timeout=self.config.delivery_timeout_ms / 1000)
            published += self.settle(in_flight, keep=0)
        return published

    def follow(self, stop: threading.Event, interval: float | None = None, max_backoff: float = 30.0) -> int:
        """Keep publishing as the log grows, until ``stop`` is set. A failed batch is
        retried from the tracked position with a fresh producer, backing off."""
        interval = self.config.relay_interval_s if interval is None else interval
        total, backoff = 0, interval
        while not stop.is_set():
            try:
                count = self.drain(stop)
            except RelayError as error:
                log.warning("relay_batch_failed", sink=self.sink, error=str(error), retry_in=backoff)
                self._reset_producer()
                stop.wait(backoff)
                backoff = min(max_backoff, backoff * 2 or 1.0)
                continue
            backoff = interval
            total += count
            if not count:
                stop.wait(interval)
        return total

    def _reset_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:  # a broken producer may fail to close; it is dropped anyway
                log.warning("relay_producer_close_failed", sink=self.sink)
            self._producer = None

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(timeout=self.config.delivery_timeout_ms / 1000)
            self._producer.close(timeout=10)
            self._producer = None


@contextmanager
def _collected_less_often() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], GC_THRESHOLD), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def run_relay(ledger: Ledger, *, once: bool) -> int:
    """``ledger relay [--once]``: the exit code."""
    config = ledger.settings.kafka
    relay = KafkaRelay(ledger, config)
    started = time.monotonic()
    log.info("relay_starting", sink=relay.sink, once=once, kafka=config.describe())
    try:
        with stop_on_signals(threading.Event()) as stop:
            published = relay.drain(stop) if once else relay.follow(stop)
    except RelayError as error:
        log.error("relay_failed", sink=relay.sink, error=str(error))
        return 1
    finally:
        try:
            relay.close()
        except Exception:
            log.warning("relay_close_failed", sink=relay.sink)
    position = relay.position()
    log.info("relay_stopped", sink=relay.sink, records=published, position=position,
             seconds=round(time.monotonic() - started, 3))
    print(json.dumps({"sink": relay.sink, "records": published, "position": position}))
    return 0
