"""What the ledger publishes to Kafka: the envelope around each event, and dead letters.

The envelope is the stable, versioned contract for downstream consumers; the payload
inside it is the event's catalogue model with personal data left out (see
``public_payload``), described per event type by the JSON Schemas in
``events/schemas/``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import orjson
from pydantic import BaseModel, ConfigDict, Field

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


def public_json(document: bytes) -> bytes:
    """A payload already serialised as JSON, without private fields: the very bytes
    when there is nothing to drop (most events), else re-encoded without them."""
    if not _PRIVATE_MARK.search(document):
        return document
    return orjson.dumps(_without_private(orjson.loads(document)), option=orjson.OPT_SORT_KEYS)


# A private field's name as a key, or sealed text, anywhere in a JSON document.
_PRIVATE_MARK = re.compile(
    b'"(?:' + b"|".join(re.escape(name.encode()) for name in sorted(PRIVATE_FIELDS)) + b')":|"' + re.escape(SEALED_PREFIX.encode())
)


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
