"""Kafka settings for the relay and the consumer, read from the environment.

Every setting has an environment variable (documented in docs/kafka.md); nothing is
read from files, and secrets (SASL password, TLS key password) never reach the logs:
``describe()`` is the only view of the settings that is logged.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
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


class KafkaConfigError(ValueError):
    """A setting is missing or malformed."""


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise KafkaConfigError(f"not a boolean: {value!r}")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise KafkaConfigError(f"{name} must be an integer, not {raw!r}") from None


def _api_version(raw: str | None) -> tuple[int, ...] | None:
    if not raw:
        return None
    try:
        return tuple(int(part) for part in raw.split("."))
    except ValueError:
        raise KafkaConfigError(f"LEDGER_KAFKA_API_VERSION must look like 2.8, not {raw!r}") from None


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
    relay_interval_s: float = 1.0
    # Topic management: off in production (topics are provisioned), on for development.
    create_topics: bool = False
    partitions: int = 6
    replication_factor: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaConfig:
        env = os.environ if env is None else env
        servers = [s.strip() for s in env.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092").split(",") if s.strip()]
        if not servers:
            raise KafkaConfigError("KAFKA_BOOTSTRAP_SERVERS is empty")
        protocol = env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT").strip().upper() or "PLAINTEXT"
        if protocol not in SECURITY_PROTOCOLS:
            raise KafkaConfigError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}")
        mechanism = (env.get("KAFKA_SASL_MECHANISM") or "").strip().upper() or None
        if protocol.startswith("SASL"):
            mechanism = mechanism or "PLAIN"
            if mechanism not in SASL_MECHANISMS:
                raise KafkaConfigError(f"KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
            if not env.get("KAFKA_SASL_USERNAME") or not env.get("KAFKA_SASL_PASSWORD"):
                raise KafkaConfigError("SASL needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD")
        interval = env.get("LEDGER_KAFKA_RELAY_INTERVAL_S") or "1.0"
        try:
            relay_interval = float(interval)
        except ValueError:
            raise KafkaConfigError(f"LEDGER_KAFKA_RELAY_INTERVAL_S must be a number, not {interval!r}") from None
        config = cls(
            bootstrap_servers=servers,
            topic_prefix=env.get("LEDGER_KAFKA_TOPIC_PREFIX", ""),
            client_id=env.get("LEDGER_KAFKA_CLIENT_ID") or "commission-ledger",
            group_id=env.get("LEDGER_KAFKA_GROUP_ID") or "commission-ledger",
            security_protocol=protocol,
            sasl_mechanism=mechanism if protocol.startswith("SASL") else None,
            sasl_username=env.get("KAFKA_SASL_USERNAME") or None,
            sasl_password=env.get("KAFKA_SASL_PASSWORD") or None,
            ssl_cafile=env.get("KAFKA_SSL_CAFILE") or None,
            ssl_certfile=env.get("KAFKA_SSL_CERTFILE") or None,
            ssl_keyfile=env.get("KAFKA_SSL_KEYFILE") or None,
            ssl_password=env.get("KAFKA_SSL_KEY_PASSWORD") or None,
            ssl_check_hostname=_bool(env.get("KAFKA_SSL_CHECK_HOSTNAME"), True),
            api_version=_api_version(env.get("LEDGER_KAFKA_API_VERSION")),
            session_timeout_ms=_int(env, "LEDGER_KAFKA_SESSION_TIMEOUT_MS", 45000),
            heartbeat_interval_ms=_int(env, "LEDGER_KAFKA_HEARTBEAT_INTERVAL_MS", 3000),
            max_poll_records=_int(env, "LEDGER_KAFKA_MAX_POLL_RECORDS", 200),
            enable_idempotence=_bool(env.get("LEDGER_KAFKA_IDEMPOTENCE"), True),
            compression_type=env.get("LEDGER_KAFKA_COMPRESSION") or None,
            delivery_timeout_ms=_int(env, "LEDGER_KAFKA_DELIVERY_TIMEOUT_MS", 120000),
            relay_batch_size=max(1, _int(env, "LEDGER_KAFKA_RELAY_BATCH_SIZE", 5000)),
            relay_interval_s=relay_interval,
            create_topics=_bool(env.get("LEDGER_KAFKA_CREATE_TOPICS"), False),
            partitions=max(1, _int(env, "LEDGER_KAFKA_PARTITIONS", 6)),
            replication_factor=max(1, _int(env, "LEDGER_KAFKA_REPLICATION_FACTOR", 3)),
        )
        if config.heartbeat_interval_ms * 3 > config.session_timeout_ms:
            raise KafkaConfigError("LEDGER_KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third of the session timeout")
        return config

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
            "linger_ms": 5,
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


def kafka_config_or_none(env: Mapping[str, str] | None = None) -> KafkaConfig | None:
    """The settings, or None after printing what is wrong with them (for the CLI)."""
    import json
    import sys

    try:
        return KafkaConfig.from_env(env)
    except KafkaConfigError as error:
        print(json.dumps({"ok": False, "error": {"code": "kafka_config", "message": str(error)}}), file=sys.stderr)
        return None


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[threading.Event]:
    """Set ``stop`` on SIGTERM / SIGINT while inside (so the relay or the consumer
    finishes its batch and leaves cleanly); the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    for signum in previous:
        signal.signal(signum, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
