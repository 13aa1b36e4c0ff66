"""Kafka clients for the relay and the consumer (kafka-python), and their settings.

The settings come from ``entrypoints.settings`` (environment variables, documented in
docs/kafka.md). Secrets (SASL password, TLS key password) never reach the logs:
``describe()`` is the only view of the settings that is logged.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

# Topic names without the prefix. The version suffix is part of the contract: a
# breaking change to an envelope or payload gets a new topic, never a silent edit.
EVENTS_TOPIC = "ledger.events.v1"
STATEMENTS_TOPIC = "ledger.statements.v1"
PAYOUTS_TOPIC = "ledger.payouts.v1"
PAYMENTS_TOPIC = "billing.payments.v1"
DLQ_TOPIC = "ledger.dlq.v1"

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True)
class KafkaConfig:
    bootstrap_servers: list[str]
    topic_prefix: str = ""
    client_id: str = "commission-ledger"
    group_id: str = "commission-ledger"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: str | None = field(default=None, repr=False)
    ssl_check_hostname: bool = True
    api_version: tuple[int, ...] | None = None
    # Consumer group timing. Kafka's defaults; a broker that holds JoinGroup for half
    # the session timeout (Tansu does) joins faster with a smaller one.
    session_timeout_ms: int = 45000
    heartbeat_interval_ms: int = 3000
    max_poll_records: int = 200
    # Producer.
    enable_idempotence: bool = True
    compression_type: str | None = None
    delivery_timeout_ms: int = 120000
    relay_batch_size: int = 5000
    relay_in_flight: int = 4  # batches sent before the oldest must be acknowledged
    relay_interval_s: float = 1.0
    # Topic management: off in production (topics are provisioned), on for development.
    create_topics: bool = False
    partitions: int = 6
    replication_factor: int = 3

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    @property
    def events_topic(self) -> str:
        return self.topic(EVENTS_TOPIC)

    @property
    def statements_topic(self) -> str:
        return self.topic(STATEMENTS_TOPIC)

    @property
    def payouts_topic(self) -> str:
        return self.topic(PAYOUTS_TOPIC)

    @property
    def payments_topic(self) -> str:
        return self.topic(PAYMENTS_TOPIC)

    @property
    def dlq_topic(self) -> str:
        return self.topic(DLQ_TOPIC)

    def connection(self) -> dict[str, Any]:
        """Settings every kafka-python client takes: servers, identity, security."""
        settings: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        if self.api_version is not None:
            settings["api_version"] = self.api_version
        if self.security_protocol.startswith("SASL"):
            settings |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        if self.security_protocol.endswith("SSL"):
            settings["ssl_check_hostname"] = self.ssl_check_hostname
            for key, value in (
                ("ssl_cafile", self.ssl_cafile), ("ssl_certfile", self.ssl_certfile),
                ("ssl_keyfile", self.ssl_keyfile), ("ssl_password", self.ssl_password),
            ):
                if value:
                    settings[key] = value
        return settings

    def producer(self) -> dict[str, Any]:
        """A producer that only counts a record as sent once every in-sync replica has
        it (acks=all), retries without reordering (idempotence, or one request in
        flight when idempotence is off)."""
        settings = self.connection() | {
            "acks": "all",
            "enable_idempotence": self.enable_idempotence,
            "delivery_timeout_ms": self.delivery_timeout_ms,
            # kafka-python wants delivery > linger + request timeout.
            "request_timeout_ms": min(30000, max(1000, self.delivery_timeout_ms // 2)),
            # Batches of up to 256 KiB per partition, filled for up to 50 ms: kafka-python
            # pays per batch in both of its threads (a batch built, a request, a response,
            # a wakeup), so the relay's bursts of thousands of records go out in few of
            # them (on the bench's S data set, CPU per record 168 -> 139 us for the raw
            # producer, 203 -> 159 for the relay, against 16 KiB and 5 ms). A flush sends
            # what is waiting at once, so a relay or consumer that flushes waits no longer.
            "batch_size": 256 * 1024,
            "linger_ms": 50,
        }
        if not self.enable_idempotence:
            settings["max_in_flight_requests_per_connection"] = 1
        if self.compression_type:
            settings["compression_type"] = self.compression_type
        return settings

    def consumer(self) -> dict[str, Any]:
        return self.connection() | {
            "group_id": self.group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_records": self.max_poll_records,
            # How long the broker may hold a fetch that finds nothing new (Kafka's default
            # is 500 ms). `consume --once` needs one fetch answer per partition to know
            # where a drained topic ends, so it waited that long for nothing; an idle
            # following consumer asks ten times a second instead of twice.
            "fetch_max_wait_ms": 100,
        }

    def describe(self) -> dict[str, Any]:
        """What may be logged: no passwords, no key material."""
        return {
            "bootstrap_servers": self.bootstrap_servers,
            "topic_prefix": self.topic_prefix,
            "client_id": self.client_id,
            "group_id": self.group_id,
            "security_protocol": self.security_protocol,
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_username_set": bool(self.sasl_username),
            "tls_client_cert": bool(self.ssl_certfile),
        }


def ensure_topics(config: KafkaConfig, names: list[str]) -> None:
    """Create missing topics (development and tests: LEDGER_KAFKA_CREATE_TOPICS=1)."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**config.connection())
    try:
        existing = set(admin.list_topics())
        for name in names:
            if name in existing:
                continue
            with suppress(TopicAlreadyExistsError):  # created concurrently by the relay or the consumer
                admin.create_topics([NewTopic(name, config.partitions, config.replication_factor)])
    finally:
        admin.close()


class KafkaClients:
    """Makes the clients an entry point needs, from one set of settings."""

    def __init__(self, config: KafkaConfig) -> None:
        self.config = config

    def producer(self) -> Any:
        """A producer with the project's settings, placing records as kafka-python's
        default partitioner does, each key's hash remembered (adapters/kafka_partitioner.py)."""
        from kafka import KafkaProducer

        from adapters.kafka_partitioner import KeyHashCachingPartitioner

        return KafkaProducer(**self.config.producer(), partitioner=KeyHashCachingPartitioner())

    def consumer(self, topics: list[str]) -> Any:
        from kafka import KafkaConsumer

        consumer = KafkaConsumer(**self.config.consumer())
        consumer.subscribe(topics)
        return consumer

    def ensure_topics(self, names: list[str]) -> None:
        ensure_topics(self.config, names)
