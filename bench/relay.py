"""Kafka figures against a real Kafka-protocol broker (Tansu, on loopback): the relay
against a raw kafka-python producer (``KafkaProducer`` with the project's settings and
the library's own default partitioner) sending the very same records, made beforehand,
and ``consume --once`` on a drained topic. The relay's producer places records as that
partitioner does but remembers each key's hash (adapters/kafka_partitioner.py): work the
relay saves, counted in its favour.

Both sides run as ``ledger relay`` does: start-up's objects frozen (entrypoints/cli.py)
and the garbage collector's threshold raised while sending (the relay's drain).
Their CPU (this process, every thread: the producer's sender thread included) is
counted per event published, beside the records per second: on a loaded machine the
CPU figures are the ones to compare."""

from __future__ import annotations

import gc
import json
import resource
import time
from typing import Any

from adapters.event_store import decode
from adapters.kafka import KafkaClients, KafkaConfig
from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.consumer import PaymentsConsumer
from entrypoints.relay import KafkaRelay, OutboundRecord, _collected_less_often, records_for
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
        try:
            gc.freeze()
            relayed, relay_cpu = _relay(ledger, load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "relay."}).kafka)
            raw_config = load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "raw."}).kafka
            events, records = _records(ledger, raw_config)
            gc.freeze()  # the raw producer's input, made beforehand, is not its garbage either
            raw, raw_cpu = _raw(ledger, raw_config, records)
        finally:
            gc.unfreeze()
        drained = _consume_drained(ledger, load_settings({**env, "LEDGER_KAFKA_TOPIC_PREFIX": "consume."}).kafka)
    finally:
        ledger.close()
        broker.stop()
    return {
        "relay.records_per_s": relayed,
        "relay.raw_producer_records_per_s": raw,
        "relay.ratio_vs_raw": round(relayed / raw, 4),
        "relay.cpu_us_per_event": round(relay_cpu / events * 1e6, 1),
        "relay.raw_producer_cpu_us_per_event": round(raw_cpu / events * 1e6, 1),
        "consume.once_drained_s": drained,
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _relay(ledger: Ledger, config: KafkaConfig) -> tuple[float, float]:
    """(records per second, CPU seconds) of the relay publishing the whole log."""
    relay = KafkaRelay(ledger, config)
    relay.setup()
    relay.producer  # connected before the clock starts, as the raw producer is  # noqa: B018
    started, cpu = time.perf_counter(), _cpu()
    records = relay.drain()
    relay.close()
    return round(records / (time.perf_counter() - started), 1), _cpu() - cpu


def _raw(ledger: Ledger, config: KafkaConfig, records: list[OutboundRecord]) -> tuple[float, float]:
    """(records per second, CPU seconds) of kafka-python sending the same records,
    made beforehand, with the project's settings and the library's partitioner, and with
    the garbage collector's threshold raised as the relay's drain raises it."""
    from kafka import KafkaProducer

    KafkaClients(config).ensure_topics([config.events_topic, config.statements_topic, config.payouts_topic])
    producer = KafkaProducer(**config.producer())
    started, cpu = time.perf_counter(), _cpu()
    with _collected_less_often():
        for record in records:
            producer.send(record.topic, value=record.value, key=record.key, headers=record.headers)
        producer.flush()
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu
    producer.close()
    return round(len(records) / seconds, 1), cpu


def _records(ledger: Ledger, config: KafkaConfig) -> tuple[int, list[OutboundRecord]]:
    """(events, records) the relay publishes, made the long way (each event decoded
    into its model): the raw producer's input."""
    records: list[OutboundRecord] = []
    events, after = 0, 0
    while batch := ledger.store.notifications(after, 5000):
        for notification in batch:
            made = records_for(decode(notification), notification.id, config)
            events += bool(made)
            records += made
        after = batch[-1].id
    return events, records


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
