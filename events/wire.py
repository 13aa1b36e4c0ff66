"""What the ledger publishes to Kafka: the envelope around each event, and dead letters.

The envelope is the stable, versioned contract for downstream consumers; the payload
inside it is the event's catalogue model with personal data left out (see
``public_payload``), described per event type by the JSON Schemas in
``events/schemas/``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal, get_args, get_origin
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field

from events.base import registered_events
from events.customer import CustomerSignedUp
from events.partner import PartnerCodeIssued, Profile, TaxFormSubmitted
from events.referral import LeadSubmitted

ENVELOPE_VERSION = 1

# Fields that hold sealed personal data or keyed hashes of it. They are never
# published, at any depth, nor copied into the audit trail (projections/audit_view.py),
# not even from events recorded before they were sealed.
PRIVATE_FIELDS = frozenset({
    *Profile.PERSONAL, *CustomerSignedUp.PERSONAL, *PartnerCodeIssued.PERSONAL, *LeadSubmitted.PERSONAL,
    *TaxFormSubmitted.PERSONAL, "account", "email_hash", "domain_hash",
})
SEALED_PREFIX = "sealed:"


def public_payload(value: Any) -> Any:
    """A JSON-ready payload without private fields; any sealed text that a future
    event might carry under another name is dropped too (defence in depth)."""
    if isinstance(value, dict) and not _PRIVATE_MARK.search(orjson.dumps(value)):
        return value  # nothing to drop at any depth (most events): no copy
    return _without_private(value)


def public_json(document: bytes, topic: str | None = None) -> bytes:
    """A payload already serialised as JSON, without private fields: the very bytes
    when there is nothing to drop (most events), else re-encoded without them. Given
    the event's ``topic``, a payload whose type cannot hold a private field is only
    looked at for sealed text (a fifth of the full search's cost)."""
    if topic is not None and not may_hold_private(topic) and _SEALED not in document:
        return document
    if not _PRIVATE_MARK.search(document):
        return document
    return orjson.dumps(_without_private(orjson.loads(document)), option=orjson.OPT_SORT_KEYS)


# A private field's name as a key, or sealed text, anywhere in a JSON document.
_PRIVATE_MARK = re.compile(
    b'"(?:' + b"|".join(re.escape(name.encode()) for name in sorted(PRIVATE_FIELDS)) + b')":|"' + re.escape(SEALED_PREFIX.encode())
)


_SEALED = f'"{SEALED_PREFIX}'.encode()
# Per topic: whether its payload's type can hold a private field at any depth. Filled on
# first use, not at import: the catalogue registers its types as their modules import.
_MAY_HOLD_PRIVATE: dict[str, bool] = {}


def may_hold_private(topic: str) -> bool:
    """Whether a payload of ``topic`` can hold a private field at any depth (a topic
    not in the catalogue, or a type with a free-form dict, can)."""
    known = _MAY_HOLD_PRIVATE.get(topic)
    if known is None:
        event_class = registered_events().get(topic)
        if event_class is None:
            return True  # not (yet) registered: not remembered either
        names = _field_names(event_class, set())
        known = _MAY_HOLD_PRIVATE[topic] = names is None or bool(names & PRIVATE_FIELDS)
    return known


def _field_names(annotation: Any, seen: set[Any]) -> set[str] | None:
    """Every field name a value of this type can hold, at any depth (None: any name,
    e.g. a free-form dict)."""
    if annotation in seen:
        return set()
    seen.add(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        names = set(annotation.model_fields)
        for info in annotation.model_fields.values():
            inner = _field_names(info.annotation, seen)
            if inner is None:
                return None
            names |= inner
        return names
    if annotation is Any or annotation is dict or get_origin(annotation) is dict:
        return None
    names = set()
    for argument in get_args(annotation):
        inner = _field_names(argument, seen)
        if inner is None:
            return None
        names |= inner
    return names


def _without_private(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_private(item)
            for key, item in value.items()
            if key not in PRIVATE_FIELDS and not (isinstance(item, str) and item.startswith(SEALED_PREFIX))
        }
    if isinstance(value, list):
        return [_without_private(item) for item in value if not (isinstance(item, str) and item.startswith(SEALED_PREFIX))]
    return value


class WireEnvelope(BaseModel):
    """One ledger event as published on ``ledger.events.v1`` (and, for statements and
    payouts, on ``ledger.statements.v1`` / ``ledger.payouts.v1``).

    Consumers deduplicate by ``event_id``: delivery is at-least-once."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="LedgerEventEnvelope")

    envelope_version: Literal[1] = Field(description="Version of this envelope's shape.")
    event_id: UUID = Field(description="Stable id of the event: the deduplication key.")
    type: str = Field(description="The event type (its catalogue topic), e.g. payment.recorded.")
    schema_version: int = Field(ge=1, description="Version of the payload's schema for this type.")
    partner_id: str | None = Field(description="The partner the event is about, when known.")
    customer_id: str | None = Field(description="The customer the event is about, if any.")
    key: str = Field(description="The Kafka record key: partner id, else customer id, else program id.")
    aggregate_id: UUID
    aggregate_version: int = Field(ge=1)
    position: int = Field(ge=1, description="Position in the ledger's log (increasing, gaps possible).")
    effective_at: datetime = Field(description="Business time: when the fact is true.")
    recorded_at: datetime = Field(description="When the ledger learnt the fact.")
    source: str = Field(description="Interface the fact came through: api, cli, kafka, import, system.")
    correlation_id: str = Field(description="The command id that caused the event (or a generated one).")
    payload: dict[str, Any] = Field(description="The event, personal data left out; see <type>.v<N>.json.")


class DeadLetter(BaseModel):
    """A message from ``billing.payments.v1`` the ledger did not apply, on ``ledger.dlq.v1``."""

    model_config = ConfigDict(frozen=True, extra="forbid", title="LedgerDeadLetter")

    envelope_version: Literal[1]
    source_topic: str
    source_partition: int
    source_offset: int = Field(description="With topic and partition: the deduplication key of dead letters.")
    source_key: str | None = Field(description="The original key, base64.")
    source_timestamp_ms: int | None
    error: DeadLetterError
    value_base64: str = Field(
        description="The original bytes, exactly as received, base64. They are billing's message as sent, "
        "so they may hold personal data: the dead-letter topic is for operators only."
    )
    failed_at: datetime


class DeadLetterError(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(description="invalid_json, invalid, unknown_type, not_allowed, or a ledger refusal code.")
    message: str
    field: str | None = None


DeadLetter.model_rebuild()
