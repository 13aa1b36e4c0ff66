"""Referral lookups and leads.

``ReferralAssigned`` is bookkeeping: it files a referral link or a partner code's keyed
hash under its partner, so a sign-up finds the partner by aggregate id without a lookup
table (never published). A lead is a partner's tip about a company that is not yet a
customer: its contact data is sealed with the lead's own key."""

from __future__ import annotations

from typing import ClassVar

from events.base import Event


class ReferralAssigned(Event):
    TOPIC = "referral.assigned"
    partner_id: str
    link: str | None = None
    partner_code_hash: str | None = None


class LeadSubmitted(Event):
    TOPIC = "lead.submitted"
    PERSONAL: ClassVar[tuple[str, ...]] = ("company", "email", "note", "email_hash", "domain_hash")
    lead_id: str
    partner_id: str
    program_id: str
    company: str  # sealed
    email: str  # sealed
    note: str | None = None  # sealed
    email_hash: str
    domain_hash: str | None = None


class LeadRefused(Event):
    """The lead does not qualify (at submission, or when its customer signs up)."""

    TOPIC = "lead.refused"
    lead_id: str
    partner_id: str
    reason: str


class LeadConverted(Event):
    """The lead's contact signed up: the customer is attributed to the lead's partner."""

    TOPIC = "lead.converted"
    lead_id: str
    partner_id: str
    customer_id: str
