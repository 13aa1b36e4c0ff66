"""The relay to a real Kafka-protocol broker (Tansu, on loopback) against kafka-python
sending the very same records with the same producer settings."""

from __future__ import annotations

import time
from typing import Any

from adapters.event_store import decode
from adapters.kafka import KafkaClients, KafkaConfig
from entrypoints.bootstrap import Ledger, bootstrap
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
        env = {"LEDGER_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "LEDGER_KAFKA_CREATE_TOPICS": "1"}
        relayed = _relay(ledger, load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "relay."}).kafka)
        raw = _raw(ledger, load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "raw."}).kafka)
    finally:
        ledger.close()
        broker.stop()
    return {
        "events": relayed["events"],
        "records": relayed["records"],
        "events_per_s": relayed["events_per_s"],
        "records_per_s": relayed["records_per_s"],
        "raw_producer_msgs_per_s": raw,
        # Records against records: the relay skips bookkeeping events (receipts).
        "ratio_vs_raw": round(relayed["records_per_s"] / raw, 4),
    }


def _relay(ledger: Ledger, config: KafkaConfig) -> dict[str, float]:
    relay = KafkaRelay(ledger, config)
    relay.setup()
    records = len(_records(ledger, config))
    started = time.perf_counter()
    events = relay.drain()
    relay.close()
    seconds = time.perf_counter() - started
    return {"events": events, "records": records, "events_per_s": round(events / seconds, 1),
            "records_per_s": round(records / seconds, 1)}


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
