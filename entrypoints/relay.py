"""The outbound Kafka relay: a projection whose sink is a set of topics.

It reads the log after its tracking position, publishes each event (every event to
``ledger.events.v1``; issued statements also to ``ledger.statements.v1`` and payouts
to ``ledger.payouts.v1``), waits until the broker has acknowledged the whole batch
with ``acks=all``, and only then moves its position (table ``relay_tracking``). A
crash anywhere therefore loses nothing; a restart may publish the tail of the last
batch again, which consumers absorb by deduplicating on the event id.

Records are keyed by partner id (customer id while no partner is known, else the
program id), so one partner's events land on one partition, in log order.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from kafka.errors import KafkaError

from entrypoints.bootstrap import Ledger
from entrypoints.signals import stop_on_signals
from events.customer import CustomerClaimed
from events.schema_export import UNPUBLISHED_TYPES
from events.wire import ENVELOPE_VERSION, public_payload
from ledger.aggregate import Envelope
from projections.relay_tracking import RelayTracking

if TYPE_CHECKING:
    from adapters.kafka import KafkaConfig

log = structlog.get_logger(__name__)

# Event types that also go to a topic of their own, by catalogue topic name.
STATEMENT_TYPES = frozenset({"statement.issued"})
PAYOUT_TYPES = frozenset({"payout.recorded"})


class Producer(Protocol):
    def send(self, topic: str, value: bytes | None = ..., key: bytes | None = ..., headers: Any = ...) -> Any: ...
    def flush(self, timeout: float | None = ...) -> None: ...
    def close(self, timeout: float | None = ...) -> None: ...


@dataclass(frozen=True)
class OutboundRecord:
    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


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


def wire_envelope(envelope: Envelope, position: int, attributed_to: str | None = None) -> dict[str, Any]:
    """The published envelope of one event (see events/wire.py and events/schemas/)."""
    event = envelope.payload
    fields = event.model_dump(mode="json")
    partner_id, customer_id, key = record_key(fields, attributed_to)
    return {
        "envelope_version": ENVELOPE_VERSION,
        "event_id": str(envelope.event_id),
        "type": event.TOPIC,
        "schema_version": event.SCHEMA_VERSION,
        "partner_id": partner_id,
        "customer_id": customer_id,
        "key": key or str(envelope.originator_id),
        "aggregate_id": str(envelope.originator_id),
        "aggregate_version": envelope.originator_version,
        "position": position,
        "effective_at": envelope.effective_at.isoformat(),
        "recorded_at": envelope.recorded_at.isoformat(),
        "source": envelope.meta.source,
        "correlation_id": envelope.meta.correlation_id,
        "payload": public_payload(fields),
    }


def records_for(
    envelope: Envelope, position: int, config: KafkaConfig, attributed_to: str | None = None,
) -> list[OutboundRecord]:
    """The records one event becomes: none for bookkeeping, one on the events topic,
    and one more on the statements or payouts topic for those."""
    event_type = envelope.payload.TOPIC
    if event_type in UNPUBLISHED_TYPES:
        return []
    document = wire_envelope(envelope, position, attributed_to)
    value = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    key = document["key"].encode()
    headers = [
        ("event_id", document["event_id"].encode()),
        ("event_type", event_type.encode()),
        ("schema_version", str(document["schema_version"]).encode()),
        ("content-type", b"application/json"),
    ]
    topics = [config.events_topic]
    if event_type in STATEMENT_TYPES:
        topics.append(config.statements_topic)
    if event_type in PAYOUT_TYPES:
        topics.append(config.payouts_topic)
    return [OutboundRecord(topic, key, value, headers) for topic in topics]


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

    def publish_batch(self, after: int, batch_size: int | None = None) -> tuple[int, int]:
        """Publish the events after ``after``; returns (events read, new position).

        Raises ``RelayError`` (position unchanged) unless every record was acknowledged."""
        notifications = self.store.notifications(after, batch_size or self.config.relay_batch_size)
        if not notifications:
            return 0, after
        # Bookkeeping events are never published: skip them before paying for decoding.
        envelopes = [(n.id, self.store.decode(n)) for n in notifications if n.topic not in UNPUBLISHED_TYPES]
        attributed = self.tracking.attributions({
            customer_id for _, envelope in envelopes
            if isinstance(customer_id := getattr(envelope.payload, "customer_id", None), str)
        })
        claims: list[tuple[str, str, int]] = []
        records: list[OutboundRecord] = []
        for position, envelope in envelopes:
            event = envelope.payload
            if isinstance(event, CustomerClaimed) and event.customer_id not in attributed:
                attributed[event.customer_id] = (event.partner_id, position)
                claims.append((event.customer_id, event.partner_id, position))
            customer_id = getattr(event, "customer_id", None)
            claim = attributed.get(customer_id) if isinstance(customer_id, str) else None
            partner_id = claim[0] if claim is not None and claim[1] < position else None
            records += records_for(envelope, position, self.config, partner_id)
        futures = []
        try:
            for record in records:
                futures.append(self.producer.send(record.topic, value=record.value, key=record.key, headers=record.headers))
            if futures:
                self.producer.flush(timeout=self.config.delivery_timeout_ms / 1000)
        except KafkaError as exc:
            raise RelayError(f"{type(exc).__name__}: {exc}") from exc
        if futures:
            failed = [f.exception for f in futures if not f.succeeded()]
            if failed:
                raise RelayError(f"{len(failed)} of {len(futures)} records not acknowledged: {failed[0]!r}")
        position = notifications[-1].id
        self.tracking.advance(position, claims)
        log.debug("relay_batch_published", sink=self.sink, events=len(notifications), records=len(futures), position=position)
        return len(notifications), position

    def drain(self, stop: threading.Event | None = None) -> int:
        """Publish everything in the log now; returns how many events were read."""
        self.setup()
        position, total = self.position(), 0
        while stop is None or not stop.is_set():
            count, position = self.publish_batch(position)
            if not count:
                break
            total += count
        return total

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
    log.info("relay_stopped", sink=relay.sink, events=published, position=position,
             seconds=round(time.monotonic() - started, 3))
    print(json.dumps({"sink": relay.sink, "events": published, "position": position}))
    return 0
