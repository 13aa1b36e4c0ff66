"""The inbound Kafka consumer: billing's commands from ``billing.payments.v1``.

Each message is one command as JSON (``record_payment``, ``record_refund``,
``record_chargeback``, ``record_cost`` or ``sign_up_customer``), applied through the
same message bus as the CLI, so it is validated, deduplicated by its idempotency key
and recorded with ``source="kafka"``. For each polled batch:

1. the commands are applied and committed to the ledger;
2. every message the ledger refused (not JSON, invalid, not an inbound type, or a
   business refusal) is sent to ``ledger.dlq.v1`` with the error and its original
   bytes, and the broker's ``acks=all`` awaited;
3. only then are the offsets committed.

A crash anywhere means the batch is delivered again: commands with a natural key
(payment_id, refund_id, ...) or a ``command_id`` are no-ops the second time, and a
message without either is given ``command_id = kafka:<partition>:<offset>@<topic>`` so
the redelivery of that very message is a no-op too. A failure of the ledger itself
(database down) stops the consumer without committing the failed message: it is
retried when the consumer is restarted, never skipped.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from kafka.errors import CommitFailedError, KafkaError

from commands import models as m
from commands.parsing import decode_json
from entrypoints.bootstrap import Ledger
from entrypoints.signals import stop_on_signals
from events.schema_export import schema_id
from events.wire import ENVELOPE_VERSION
from ledger.errors import CommandRejected

if TYPE_CHECKING:
    from adapters.kafka import KafkaConfig

log = structlog.get_logger(__name__)

DEAD_LETTER_SCHEMA_ID = schema_id("dead_letter", ENVELOPE_VERSION)

# The commands billing may send, and the field that is each one's natural key.
INBOUND: dict[str, type[m.Command]] = {
    "record_payment": m.RecordPayment,
    "record_refund": m.RecordRefund,
    "record_chargeback": m.RecordChargeback,
    "record_cost": m.RecordCost,
    "sign_up_customer": m.SignUpCustomer,
}
# Results the ledger failed on rather than refused: not dead-lettered, their offsets
# stay uncommitted so they are tried again on restart.
RETRY_LATER = frozenset({"internal", "busy"})


class ConsumerHalted(RuntimeError):
    """The ledger failed (not refused) on a message; its offset was not committed."""


@dataclass
class Stats:
    messages: int = 0
    applied: int = 0
    dead_lettered: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"messages": self.messages, "applied": self.applied, "dead_lettered": self.dead_lettered}


@dataclass
class _Prepared:
    message: Any
    command: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = field(default=None)


def prepare(message: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(command, None) for a message to apply, or (None, error) for a dead letter."""
    raw = message.value
    if raw is None:
        return None, {"code": "invalid_json", "message": "empty message (tombstone)", "field": None}
    try:
        document = decode_json(raw)
    except CommandRejected as refusal:
        return None, refusal.as_dict()
    if not isinstance(document, dict):
        return None, {"code": "invalid_json", "message": "a command must be a JSON object", "field": None}
    command_type = document.get("type")
    if command_type not in INBOUND:
        return None, {
            "code": "not_allowed",
            "message": f"billing may send {', '.join(sorted(INBOUND))}; not {command_type!r}",
            "field": "type",
        }
    if INBOUND[command_type].KEY_FIELD is None and not document.get("command_id"):
        # No natural key: the message's coordinates make its redelivery a no-op.
        document["command_id"] = f"kafka:{message.partition}:{message.offset}@{message.topic}"[:200]
    return document, None


def dead_letter(message: Any, error: dict[str, Any]) -> dict[str, Any]:
    """The dead-letter document (events/wire.py DeadLetter) for a refused message."""
    return {
        "envelope_version": ENVELOPE_VERSION,
        "source_topic": message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
        "source_key": base64.b64encode(message.key).decode() if message.key is not None else None,
        "source_timestamp_ms": message.timestamp if message.timestamp is not None and message.timestamp >= 0 else None,
        "error": {"code": error.get("code"), "message": error.get("message"), "field": error.get("field")},
        "value_base64": base64.b64encode(message.value or b"").decode(),
        "failed_at": datetime.now(UTC).isoformat(),
    }


class PaymentsConsumer:
    def __init__(
        self, ledger: Ledger, config: KafkaConfig | None = None,
        consumer_factory: Callable[[KafkaConfig], Any] | None = None,
        producer_factory: Callable[[KafkaConfig], Any] | None = None,
    ) -> None:
        self.ledger = ledger
        clients = ledger.kafka(config)
        self.config = config = clients.config
        if config.create_topics:
            clients.ensure_topics([config.payments_topic, config.dlq_topic])
        self.consumer = (consumer_factory or (lambda c: clients.consumer([c.payments_topic])))(config)
        self._producer_factory = producer_factory or (lambda _: clients.producer())
        self._producer: Any = None
        self.stats = Stats()

    @property
    def producer(self) -> Any:
        if self._producer is None:
            self._producer = self._producer_factory(self.config)
        return self._producer

    # -- one batch ----------------------------------------------------------------------

    def process(self, messages: list[Any]) -> None:
        """Apply, dead-letter, then commit the offsets of ``messages`` (in partition order)."""
        if not messages:
            return
        from kafka.structs import OffsetAndMetadata, TopicPartition

        items = []
        for message in messages:
            command, error = prepare(message)
            items.append(_Prepared(message, command, error))
        to_apply = [item for item in items if item.command is not None]
        try:
            commands = [item.command for item in to_apply if item.command is not None]
            results = list(self.ledger.bus.handle_many(commands, source="kafka", actor="kafka:billing"))
        except Exception as exc:  # the ledger failed, it did not refuse: commit nothing of this batch
            first = messages[0]
            raise ConsumerHalted(
                f"the ledger failed on a batch from {first.topic}[{first.partition}]@{first.offset}: "
                f"{type(exc).__name__}; not committed, retried on restart"
            ) from exc
        for item, result in zip(to_apply, results, strict=True):
            item.result = result
            if not result["ok"]:
                item.error = result["error"]
        halted = [item for item in items if item.error is not None and item.error.get("code") in RETRY_LATER]
        # Commit no further than the first message the ledger failed on, per partition.
        stop_at: dict[tuple[str, int], int] = {}
        for item in halted:
            key = (item.message.topic, item.message.partition)
            stop_at[key] = min(stop_at.get(key, item.message.offset), item.message.offset)

        def committable(item: _Prepared) -> bool:
            limit = stop_at.get((item.message.topic, item.message.partition))
            return limit is None or item.message.offset < limit

        dead = [item for item in items if item.error is not None and item.error.get("code") not in RETRY_LATER and committable(item)]
        self._send_dead_letters(dead)
        offsets: dict[Any, Any] = {}
        for item in items:
            if committable(item):
                tp = TopicPartition(item.message.topic, item.message.partition)
                offsets[tp] = OffsetAndMetadata(item.message.offset + 1, "", -1)
        if offsets:
            try:
                self.consumer.commit(offsets)
            except CommitFailedError:
                # The group rebalanced while the batch was applied: its new owner gets
                # these messages again, and applying them again is a no-op.
                log.warning("commit_failed_after_rebalance", messages=len(items))
        applied = sum(1 for item in items if item.result is not None and item.result["ok"])
        self.stats.messages += len(items)
        self.stats.applied += applied
        self.stats.dead_lettered += len(dead)
        self.stats.batches += 1
        for item in dead:
            assert item.error is not None
            log.warning("dead_lettered", topic=item.message.topic, partition=item.message.partition,
                        offset=item.message.offset, code=item.error.get("code"), field=item.error.get("field"))
        log.debug("consumer_batch", messages=len(items), applied=applied, dead_lettered=len(dead))
        if halted:
            first = halted[0].message
            raise ConsumerHalted(
                f"the ledger failed on {first.topic}[{first.partition}]@{first.offset}; not committed, retried on restart"
            )

    def _send_dead_letters(self, dead: list[_Prepared]) -> None:
        if not dead:
            return
        futures = []
        for item in dead:
            assert item.error is not None
            document = dead_letter(item.message, item.error)
            headers = [
                ("error_code", str(document["error"]["code"]).encode()),
                ("source_topic", item.message.topic.encode()),
                ("source_partition", str(item.message.partition).encode()),
                ("source_offset", str(item.message.offset).encode()),
                ("schema_version", DEAD_LETTER_SCHEMA_ID.encode()),
                ("content-type", b"application/json"),
            ]
            futures.append(self.producer.send(
                self.config.dlq_topic, key=item.message.key,
                value=json.dumps(document, sort_keys=True, separators=(",", ":")).encode(), headers=headers,
            ))
        self.producer.flush(timeout=self.config.delivery_timeout_ms / 1000)
        failed = [f.exception for f in futures if not f.succeeded()]
        if failed:
            raise ConsumerHalted(f"{len(failed)} dead letters not acknowledged: {failed[0]!r}; offsets not committed")

    # -- the loop -----------------------------------------------------------------------

    def run(self, *, once: bool, stop: threading.Event | None = None, poll_ms: int = 200) -> Stats:
        """Follow the topic until ``stop`` is set; with ``once``, read up to the end
        offsets it has when the run starts, then return."""
        stop = stop or threading.Event()
        if once:
            return self._drain(stop, min(poll_ms, 100))
        while not stop.is_set():
            self.process(self._poll(poll_ms))
        return self.stats

    def _poll(self, poll_ms: int) -> list[Any]:
        polled = self.consumer.poll(timeout_ms=poll_ms, max_records=self.config.max_poll_records)
        messages = [message for batch in polled.values() for message in batch]
        messages.sort(key=lambda message: (message.partition, message.offset))
        return messages

    def _drain(self, stop: threading.Event, poll_ms: int) -> Stats:
        """``--once``: take every partition directly instead of joining the group (a
        join waits for the group to settle, seconds even when nothing is there), start
        from the group's committed offsets, stop at the end offsets seen now. Offsets
        are still committed for the group; a group member running meanwhile may get
        the same messages again, which applying again makes no-ops."""
        from kafka.structs import TopicPartition

        topics = sorted(self.consumer.subscription() or ())
        self.consumer.unsubscribe()
        partitions = [TopicPartition(topic, p) for topic in topics for p in sorted(self.consumer.partitions_for_topic(topic))]
        if not partitions:
            return self.stats
        self.consumer.assign(partitions)
        end = self.consumer.end_offsets(partitions)
        confirmed: set[Any] = set()
        while not stop.is_set():
            for tp in partitions:
                # The first fetch's high watermark confirms the end (a broker may
                # answer the offsets request before its last batch is counted).
                highwater = self.consumer.highwater(tp)
                if tp not in confirmed and highwater is not None:
                    end[tp] = max(end[tp], highwater)
                    confirmed.add(tp)
            if len(confirmed) == len(partitions) and all(self.consumer.position(tp) >= end[tp] for tp in partitions):
                break
            self.process(self._poll(poll_ms))
        return self.stats

    def close(self) -> None:
        try:
            if self._producer is not None:
                self._producer.close(timeout=10)
        finally:
            self.consumer.close()


def run_consumer(ledger: Ledger, *, once: bool) -> int:
    """``ledger consume [--once]``: the exit code."""
    config = ledger.settings.kafka
    log.info("consumer_starting", once=once, topic=config.payments_topic, kafka=config.describe())
    started = time.monotonic()
    code = 0
    consumer: PaymentsConsumer | None = None
    try:
        consumer = PaymentsConsumer(ledger, config)
        with stop_on_signals(threading.Event()) as stop:
            consumer.run(once=once, stop=stop)
    except (ConsumerHalted, KafkaError) as error:
        log.error("consumer_halted", error=str(error))
        code = 1
    finally:
        if consumer is not None:
            consumer.close()
    stats = consumer.stats.as_dict() if consumer is not None else Stats().as_dict()
    log.info("consumer_stopped", seconds=round(time.monotonic() - started, 3), **stats)
    print(json.dumps(stats))
    return code
