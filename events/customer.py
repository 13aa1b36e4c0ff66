"""Customer events: sign-up, attribution claims (accepted and rejected), flags."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Literal

from events.base import Event

Channel = Literal["link", "code", "lead", "resell"]


class CustomerSignedUp(Event):
    """v2: the company is sealed with the customer's key like the e-mail (v1 events
    kept it plain)."""

    TOPIC = "customer.signed_up"
    SCHEMA_VERSION = 2
    PERSONAL: ClassVar[tuple[str, ...]] = ("email", "company")
    customer_id: str
    email: str | None = None  # sealed
    email_hash: str | None = None
    domain_hash: str | None = None
    company: str | None = None  # sealed

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
        return state  # same shape; plain text reads as itself when unsealed


class CustomerClaimed(Event):
    """The first valid claim: the customer is attributed to the partner."""

    TOPIC = "customer.claimed"
    customer_id: str
    partner_id: str
    program_id: str
    channel: Channel


class ClaimRejected(Event):
    """A claim that failed a qualification rule, kept for the audit trail."""

    TOPIC = "customer.claim_rejected"
    customer_id: str
    partner_id: str
    channel: Channel
    reason: str


class CustomerFirstPaid(Event):
    """The earliest payment date known for the customer (moves only backwards)."""

    TOPIC = "customer.first_paid"
    customer_id: str
    paid_at: datetime


class DoNotContactSet(Event):
    TOPIC = "customer.do_not_contact_set"
    customer_id: str
    value: bool


class CustomerForgotten(Event):
    TOPIC = "customer.forgotten"
    customer_id: str
    reason: str
