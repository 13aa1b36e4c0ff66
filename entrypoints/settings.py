"""Every setting of the ledger, in one place: environment variables prefixed
``LEDGER_`` (the README lists them all, with their defaults).

A bad value is refused at start-up with the variable's name and the reason. Secrets
(Kafka SASL and TLS key passwords) are ``SecretStr``: they never print or log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from adapters.kafka import SASL_MECHANISMS, SECURITY_PROTOCOLS, KafkaConfig

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def env(name: str, default: Any, description: str, *legacy: str) -> Any:
    """A setting read from ``LEDGER_<name>`` (or an older name still accepted)."""
    return Field(default, validation_alias=AliasChoices(f"LEDGER_{name}", *legacy), description=description)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names every bad variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", populate_by_name=True)

    database_url: str = env("DATABASE_URL", "sqlite:///./ledger.db",
                            "sqlite:///path or postgresql://user@host:port/db[?schema=name]")
    log_level: LogLevel = env("LOG_LEVEL", "WARNING", "structured logs (JSON on stderr) at this level and above")

    http_max_body_bytes: int = env("HTTP_MAX_BODY_BYTES", 2_000_000, "largest request body the HTTP server reads (413 above)")
    http_session_hours: float = env("HTTP_SESSION_HOURS", 168.0, "how long a browser session lasts")
    http_invite_hours: float = env("HTTP_INVITE_HOURS", 72.0, "how long a one-time invite link stays valid")
    http_public_url: str = env("HTTP_PUBLIC_URL", "", "base of links the server hands out (default: the request's own)")
    http_read_wait_s: float = env("HTTP_READ_WAIT_S", 5.0, "how long a read with ?min_position= waits for the read models")

    payer_name: str = env("PAYER_NAME", "", "the account holder the SEPA payment file pays from (finance's payment files)")
    payer_iban: str = env("PAYER_IBAN", "", "the IBAN the SEPA payment file pays from (without it, no pain.001 file is made)")
    payer_bic: str = env("PAYER_BIC", "", "that account's BIC (optional in SEPA)")
    smtp_url: SecretStr | None = env("SMTP_URL", None, "mail server: smtp://[user:password@]host[:port], smtp+starttls://... "
                                     "or smtps://... (unset: mails are written to LEDGER_MAIL_DIR)")
    mail_from: str = env("MAIL_FROM", "Commission ledger <ledger@localhost>", "the From of every mail")
    mail_dir: str = env("MAIL_DIR", "./mail", "where mails go as .eml files when LEDGER_SMTP_URL is unset")
    signin_link_minutes: float = env("SIGNIN_LINK_MINUTES", 15.0, "how long an e-mailed sign-in link stays valid")
    signin_links_per_hour: int = env("SIGNIN_LINKS_PER_HOUR", 5, "sign-in links e-mailed to one partner per hour, at most")

    kafka_bootstrap_servers: str = env("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092",
                                       "comma-separated host:port list", "KAFKA_BOOTSTRAP_SERVERS")
    kafka_topic_prefix: str = env("KAFKA_TOPIC_PREFIX", "", "prefix for every topic name (e.g. prod.)")
    kafka_client_id: str = env("KAFKA_CLIENT_ID", "commission-ledger", "Kafka client.id")
    kafka_group_id: str = env("KAFKA_GROUP_ID", "commission-ledger", "consumer group of `ledger consume`")
    kafka_security_protocol: str = env("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT", " / ".join(SECURITY_PROTOCOLS),
                                       "KAFKA_SECURITY_PROTOCOL")
    kafka_sasl_mechanism: str | None = env("KAFKA_SASL_MECHANISM", None, " / ".join(SASL_MECHANISMS) + " (PLAIN when SASL)",
                                           "KAFKA_SASL_MECHANISM")
    kafka_sasl_username: str | None = env("KAFKA_SASL_USERNAME", None, "SASL user", "KAFKA_SASL_USERNAME")
    kafka_sasl_password: SecretStr | None = env("KAFKA_SASL_PASSWORD", None, "SASL password (never logged)", "KAFKA_SASL_PASSWORD")
    kafka_ssl_cafile: str | None = env("KAFKA_SSL_CAFILE", None, "CA bundle (PEM)", "KAFKA_SSL_CAFILE")
    kafka_ssl_certfile: str | None = env("KAFKA_SSL_CERTFILE", None, "client certificate (PEM)", "KAFKA_SSL_CERTFILE")
    kafka_ssl_keyfile: str | None = env("KAFKA_SSL_KEYFILE", None, "client key (PEM)", "KAFKA_SSL_KEYFILE")
    kafka_ssl_key_password: SecretStr | None = env("KAFKA_SSL_KEY_PASSWORD", None, "client key password (never logged)",
                                                   "KAFKA_SSL_KEY_PASSWORD")
    kafka_ssl_check_hostname: bool = env("KAFKA_SSL_CHECK_HOSTNAME", True, "verify the broker's host name",
                                         "KAFKA_SSL_CHECK_HOSTNAME")
    kafka_api_version: str | None = env("KAFKA_API_VERSION", None, "pin the protocol version, e.g. 2.8 (default: probe)")
    kafka_session_timeout_ms: int = env("KAFKA_SESSION_TIMEOUT_MS", 45000, "consumer session timeout")
    kafka_heartbeat_interval_ms: int = env("KAFKA_HEARTBEAT_INTERVAL_MS", 3000, "consumer heartbeat (at most a third of the session)")
    kafka_max_poll_records: int = env("KAFKA_MAX_POLL_RECORDS", 200, "messages the consumer applies per batch")
    kafka_idempotence: bool = env("KAFKA_IDEMPOTENCE", True, "idempotent producer (no duplicates from retries)")
    kafka_compression: str | None = env("KAFKA_COMPRESSION", None, "gzip / snappy / lz4 / zstd")
    kafka_delivery_timeout_ms: int = env("KAFKA_DELIVERY_TIMEOUT_MS", 120000, "how long the relay waits for acks")
    kafka_relay_batch_size: int = env("KAFKA_RELAY_BATCH_SIZE", 5000, "events the relay reads per batch")
    kafka_relay_in_flight: int = env("KAFKA_RELAY_IN_FLIGHT", 4, "relay batches sent before the oldest must be acknowledged")
    kafka_relay_interval_s: float = env("KAFKA_RELAY_INTERVAL_S", 1.0, "how often a following relay polls the log")
    kafka_create_topics: bool = env("KAFKA_CREATE_TOPICS", False, "create missing topics (development; off in production)")
    kafka_partitions: int = env("KAFKA_PARTITIONS", 6, "partitions of topics the ledger creates")
    kafka_replication_factor: int = env("KAFKA_REPLICATION_FACTOR", 3, "replication factor of topics the ledger creates")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)  # no .env or secret files: the environment only

    @field_validator("log_level", "kafka_security_protocol", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("kafka_sasl_mechanism", "kafka_compression", "kafka_api_version", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("payer_iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        if value.strip():
            # Imported when a payer account is set: schwifty's bank registry is not every start's.
            from schwifty import IBAN
            from schwifty.exceptions import SchwiftyException

            try:
                return IBAN(value).compact
            except SchwiftyException as invalid:
                raise ValueError(f"not a valid IBAN: {invalid}") from invalid
        return ""

    @field_validator("kafka_session_timeout_ms", "kafka_heartbeat_interval_ms", "kafka_max_poll_records",
                     "kafka_delivery_timeout_ms", "kafka_relay_batch_size", "kafka_relay_in_flight", "kafka_partitions",
                     "kafka_replication_factor",
                     "http_max_body_bytes", "signin_links_per_hour")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be at least 1")
        return value

    @field_validator("http_session_hours", "http_invite_hours", "http_read_wait_s", "signin_link_minutes")
    @classmethod
    def _above_zero(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0")
        return value

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp_scheme(cls, value: Any) -> Any:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and not text.strip():
            return None
        if isinstance(text, str) and not text.startswith(("smtp://", "smtp+starttls://", "smtps://")):
            raise ValueError("must start with smtp://, smtp+starttls:// or smtps://")  # never echo it: it may hold a password
        return value

    @field_validator("kafka_api_version")
    @classmethod
    def _version(cls, value: str | None) -> str | None:
        if value is not None and not all(part.isdigit() for part in value.split(".")):
            raise ValueError(f"must look like 2.8, not {value!r}")
        return value

    @model_validator(mode="after")
    def _kafka_consistent(self) -> Settings:
        if not self.servers:
            raise ValueError("LEDGER_KAFKA_BOOTSTRAP_SERVERS is empty")
        if self.kafka_security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"LEDGER_KAFKA_SECURITY_PROTOCOL must be one of {', '.join(SECURITY_PROTOCOLS)}")
        if self.kafka_security_protocol.startswith("SASL"):
            mechanism = (self.kafka_sasl_mechanism or "PLAIN").upper()
            if mechanism not in SASL_MECHANISMS:
                raise ValueError(f"LEDGER_KAFKA_SASL_MECHANISM must be one of {', '.join(SASL_MECHANISMS)}")
            if not self.kafka_sasl_username or not self.kafka_sasl_password:
                raise ValueError("SASL needs LEDGER_KAFKA_SASL_USERNAME and LEDGER_KAFKA_SASL_PASSWORD")
        if self.kafka_heartbeat_interval_ms * 3 > self.kafka_session_timeout_ms:
            raise ValueError("LEDGER_KAFKA_HEARTBEAT_INTERVAL_MS must be at most a third of the session timeout")
        return self

    @property
    def servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap_servers.split(",") if s.strip()]

    @property
    def kafka(self) -> KafkaConfig:
        sasl = self.kafka_security_protocol.startswith("SASL")
        return KafkaConfig(
            bootstrap_servers=self.servers,
            topic_prefix=self.kafka_topic_prefix,
            client_id=self.kafka_client_id,
            group_id=self.kafka_group_id,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=(self.kafka_sasl_mechanism or "PLAIN").upper() if sasl else None,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None,
            ssl_cafile=self.kafka_ssl_cafile,
            ssl_certfile=self.kafka_ssl_certfile,
            ssl_keyfile=self.kafka_ssl_keyfile,
            ssl_password=self.kafka_ssl_key_password.get_secret_value() if self.kafka_ssl_key_password else None,
            ssl_check_hostname=self.kafka_ssl_check_hostname,
            api_version=tuple(int(p) for p in self.kafka_api_version.split(".")) if self.kafka_api_version else None,
            session_timeout_ms=self.kafka_session_timeout_ms,
            heartbeat_interval_ms=self.kafka_heartbeat_interval_ms,
            max_poll_records=self.kafka_max_poll_records,
            enable_idempotence=self.kafka_idempotence,
            compression_type=self.kafka_compression,
            delivery_timeout_ms=self.kafka_delivery_timeout_ms,
            relay_batch_size=self.kafka_relay_batch_size,
            relay_in_flight=self.kafka_relay_in_flight,
            relay_interval_s=self.kafka_relay_interval_s,
            create_topics=self.kafka_create_topics,
            partitions=self.kafka_partitions,
            replication_factor=self.kafka_replication_factor,
        )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """The settings from the process environment (or from ``environ`` alone), with
    ``overrides`` (by field name, e.g. from command-line flags) winning; a bad value
    raises ``SettingsError`` naming every bad variable."""
    try:
        if environ is None:
            return Settings(**overrides)
        given: dict[str, Any] = {k.upper(): v for k, v in environ.items()}
        return _Isolated(**given, **overrides)
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(error) for error in exc.errors())) from None


class _Isolated(Settings):
    """Reads only what it is given, never the process environment (tests, tools)."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def _describe(error: Any) -> str:
    field = str(error["loc"][0]).upper() if error["loc"] else ""
    name = field if field.startswith(("LEDGER_", "KAFKA_")) else f"LEDGER_{field}" if field else "settings"
    return f"{name}: {error['msg'].removeprefix('Value error, ')}"


def documented() -> list[tuple[str, str, str]]:
    """(variable, default, meaning) for every setting: the README's table."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        shown = "" if default is None else str(default).lower() if isinstance(default, bool) else str(default)
        rows.append((f"LEDGER_{name.upper()}", shown, field.description or ""))
    return rows
