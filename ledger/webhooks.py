"""Signed webhooks, the pure part: which events an endpoint gets, the body it gets (only
what Kafka publishes: the public payload, never personal data), and the signature the
Standard Webhooks specification defines (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from events.schema_export import UNPUBLISHED_TYPES
from events.wire import public_payload
from ledger.aggregate import Envelope
from ledger.outbox import Message

CONSUMER = "webhooks"  # the outbox consumer that delivers them
KIND = "webhook"
EVERY_EVENT = "*"


def subscribed(event_types: Iterable[str], event_type: str) -> bool:
    return event_type not in UNPUBLISHED_TYPES and any(t in (EVERY_EVENT, event_type) for t in event_types)


def body(envelope: Envelope) -> str:
    """The JSON a delivery carries: ``{type, timestamp, data}``, ``data`` being the event as
    the Kafka relay publishes it (its id, type, schema version, partner, customer, times,
    and the payload with private fields left out)."""
    event = envelope.payload
    fields = event.model_dump(mode="json")
    earning = fields.get("earning")
    partner_id = fields.get("partner_id") or (earning.get("partner_id") if isinstance(earning, dict) else None)
    data: dict[str, Any] = {
        "event_id": str(envelope.event_id), "type": event.TOPIC, "schema_version": event.SCHEMA_VERSION,
        "partner_id": partner_id, "customer_id": fields.get("customer_id"),
        "effective_at": envelope.effective_at.isoformat(), "recorded_at": envelope.recorded_at.isoformat(),
        "payload": public_payload(fields),
    }
    document = {"type": event.TOPIC, "timestamp": envelope.recorded_at.isoformat(), "data": data}
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()


def messages(envelope: Envelope, endpoints: Iterable[tuple[str, tuple[str, ...], datetime]]) -> list[Message]:
    """One delivery per endpoint (id, event types, registered at) that takes this event
    and was registered before the ledger learnt it."""
    event_type = envelope.payload.TOPIC
    wanted = [endpoint_id for endpoint_id, types, registered_at in endpoints
              if registered_at <= envelope.recorded_at and subscribed(types, event_type)]
    if not wanted:
        return []
    text = body(envelope)
    return [Message(KIND, endpoint_id, {"event_type": event_type, "body": text}) for endpoint_id in wanted]


def signature(key: bytes, webhook_id: str, timestamp: int, payload: str) -> str:
    digest = hmac.new(key, f"{webhook_id}.{timestamp}.{payload}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(key: bytes, webhook_id: str, at: datetime, payload: str) -> dict[str, str]:
    timestamp = int(at.timestamp())
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(key, webhook_id, timestamp, payload), "content-type": "application/json"}
