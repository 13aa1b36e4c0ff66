"""The relay to a real Kafka-protocol broker (Tansu, on loopback) against kafka-python
sending the very same records with the same producer settings."""

from __future__ import annotations

import time
from typing import Any

from commands.kafka_config import KafkaConfig, ensure_topics
from commands.runtime import open_runtime
from ledger.store import decode
from projections.kafka_relay import KafkaRelay, OutboundRecord, default_producer, records_for
from tests.kafka_broker import TansuBroker, tansu_binary


def relay_benchmark(url: str) -> dict[str, Any]:
    binary = tansu_binary()
    if binary is None:
        return {}
    broker = TansuBroker(binary).start()
    runtime = open_runtime(url)
    try:
        env = {"KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap, "LEDGER_KAFKA_CREATE_TOPICS": "1"}
        relayed = _relay(runtime, KafkaConfig.from_env({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "relay."}))
        raw = _raw(runtime, KafkaConfig.from_env({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "raw."}))
    finally:
        runtime.close()
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


def _relay(runtime: Any, config: KafkaConfig) -> dict[str, float]:
    relay = KafkaRelay(runtime.db, runtime.store, config)
    relay.setup()
    records = len(_records(runtime, config))
    started = time.perf_counter()
    events = relay.drain()
    relay.close()
    seconds = time.perf_counter() - started
    return {"events": events, "records": records, "events_per_s": round(events / seconds, 1),
            "records_per_s": round(records / seconds, 1)}


def _raw(runtime: Any, config: KafkaConfig) -> float:
    ensure_topics(config, [config.events_topic, config.statements_topic, config.payouts_topic])
    records = _records(runtime, config)
    producer: Any = default_producer(config)
    started = time.perf_counter()
    for record in records:
        producer.send(record.topic, value=record.value, key=record.key, headers=record.headers)
    producer.flush()
    seconds = time.perf_counter() - started
    producer.close()
    return round(len(records) / seconds, 1)


def _records(runtime: Any, config: KafkaConfig) -> list[OutboundRecord]:
    records: list[OutboundRecord] = []
    after = 0
    while batch := runtime.store.notifications(after, 5000):
        for notification in batch:
            records += records_for(decode(notification), notification.id, config)
        after = batch[-1].id
    return records
