"""Kafka figures against a real Kafka-protocol broker (Tansu, on loopback): the relay
against kafka-python sending the very same records with the same producer settings,
and ``consume --once`` on a drained topic."""

from __future__ import annotations

import json
import time
from typing import Any

from adapters.event_store import decode
from adapters.kafka import KafkaClients, KafkaConfig
from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.consumer import PaymentsConsumer
from entrypoints.relay import KafkaRelay, OutboundRecord, records_for
from entrypoints.settings import load_settings
from tests.kafka_broker import TansuBroker, tansu_binary


def relay_benchmark(url: str) -> dict[str, Any]:
    binary = tansu_binary()
    if binary is None:
        return {}
    broker = TansuBroker(binary).start()
    ledger = bootstrap(database_url=url)
    try:
        env = {"LEDGER_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "LEDGER_KAFKA_CREATE_TOPICS": "1",
               "LEDGER_KAFKA_REPLICATION_FACTOR": "1"}
        relayed = _relay(ledger, load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "relay."}).kafka)
        raw = _raw(ledger, load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "raw."}).kafka)
        drained = _consume_drained(ledger, load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "consume."}).kafka)
    finally:
        ledger.close()
        broker.stop()
    return {
        "relay.records_per_s": relayed,
        "relay.raw_producer_records_per_s": raw,
        "relay.ratio_vs_raw": round(relayed / raw, 4),
        "consume.once_drained_s": drained,
    }


def _relay(ledger: Ledger, config: KafkaConfig) -> float:
    relay = KafkaRelay(ledger, config)
    relay.setup()
    started = time.perf_counter()
    records = relay.drain()
    relay.close()
    return round(records / (time.perf_counter() - started), 1)


def _raw(ledger: Ledger, config: KafkaConfig) -> float:
    clients = KafkaClients(config)
    clients.ensure_topics([config.events_topic, config.statements_topic, config.payouts_topic])
    records = _records(ledger, config)
    producer: Any = clients.producer()
    started = time.perf_counter()
    for record in records:
        producer.send(record.topic, value=record.value, key=record.key, headers=record.headers)
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    return round(len(records) / seconds, 1)


def _records(ledger: Ledger, config: KafkaConfig) -> list[OutboundRecord]:
    records: list[OutboundRecord] = []
    after = 0
    while batch := ledger.store.notifications(after, 5000):
        for notification in batch:
            records += records_for(decode(notification), notification.id, config)
        after = batch[-1].id
    return records


def _consume_drained(ledger: Ledger, config: KafkaConfig, messages: int = 200) -> float:
    """Seconds for a ``consume --once`` (client start included) on a topic whose
    messages the group already consumed."""
    clients = KafkaClients(config)
    clients.ensure_topics([config.payments_topic, config.dlq_topic])
    producer: Any = clients.producer()
    for i in range(messages):
        command = {"type": "sign_up_customer", "customer_id": f"bench-consume-{i}", "at": "2025-01-01T00:00:00Z"}
        producer.send(config.payments_topic, key=f"bench-consume-{i}".encode(), value=json.dumps(command).encode())
    producer.flush()
    producer.close()
    _consume_once(ledger, config)  # drains the topic
    started = time.perf_counter()
    stats = _consume_once(ledger, config)
    seconds = time.perf_counter() - started
    assert stats["messages"] == 0, stats
    return round(seconds, 3)


def _consume_once(ledger: Ledger, config: KafkaConfig) -> dict[str, int]:
    consumer = PaymentsConsumer(ledger, config)
    try:
        return consumer.run(once=True).as_dict()
    finally:
        consumer.close()
