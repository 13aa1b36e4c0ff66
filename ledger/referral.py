"""Referral links, partner codes and leads in the domain.

A ``Referral`` files one link, or one code's keyed hash, under its partner: its id is
derived from the key (``link:<link>`` or ``code:<hash>``), so a sign-up finds the
partner without a lookup table. A rotated code's ``Referral`` stays (it still names its
partner) but no longer matches the partner's current code: it stops resolving.

A ``Lead`` is a partner's tip about a company: open until its contact signs up
(converted) or refused with the program's reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatchmethod
from typing import Literal

from events.base import Event
from events.referral import LeadConverted, LeadRefused, LeadSubmitted, ReferralAssigned
from ledger.aggregate import Aggregate, Envelope

# Codes are read aloud and typed from e-mails: Crockford's base 32 (no I, L, O, U),
# 12 characters (60 bits) shown in groups of four, e.g. ``K7QF-9M2D-XR4P``.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
# Links are public and case-insensitive in print: lowercase letters and digits without
# look-alikes, 10 characters (about 49 bits, so links cannot be enumerated).
LINK_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LINK_LENGTH = 10

# Why a lead does not qualify (the referral program's rules, in its words).
LEAD_OTHER_PARTNER = "the lead was previously submitted by another partner"
LEAD_CURRENT_CUSTOMER = "the lead is a current customer"
LEAD_PURCHASED_BEFORE = "the lead has previously purchased"
LEAD_TRAINING = "the program requires training before any lead: complete it first"


def normal_code(text: str) -> str:
    """A code as typed (any case, dashes, spaces, O for 0, I or L for 1) in its one form."""
    plain = "".join(text.split()).replace("-", "").upper()
    return plain.translate(str.maketrans("OIL", "011"))


def shown_code(code: str) -> str:
    """A code in groups of four, as partners read it out."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def referral_key(*, link: str | None = None, code_hash: str | None = None) -> str:
    return f"link:{link}" if link is not None else f"code:{code_hash}"


class Referral(Aggregate):
    KIND = "referral"
    EVENTS = (ReferralAssigned,)

    def __init__(self, id: object) -> None:
        super().__init__(id)  # type: ignore[arg-type]
        self.partner_id = ""

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        super().when(payload, envelope)

    @when.register
    def _(self, e: ReferralAssigned, envelope: Envelope) -> None:
        self.partner_id = e.partner_id


LeadState = Literal["open", "converted", "refused"]


class Lead(Aggregate):
    KIND = "lead"
    EVENTS = (LeadSubmitted, LeadRefused, LeadConverted)

    def __init__(self, id: object) -> None:
        super().__init__(id)  # type: ignore[arg-type]
        self.lead_id = ""
        self.partner_id = ""
        self.state: LeadState = "open"
        self.email_hash = ""
        self.submitted_at: datetime | None = None
        self.reason: str | None = None
        self.customer_id: str | None = None

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        super().when(payload, envelope)

    @when.register
    def _(self, e: LeadSubmitted, envelope: Envelope) -> None:
        self.lead_id, self.partner_id, self.email_hash = e.lead_id, e.partner_id, e.email_hash
        self.submitted_at = envelope.effective_at

    @when.register
    def _(self, e: LeadRefused, envelope: Envelope) -> None:
        self.state, self.reason = "refused", e.reason

    @when.register
    def _(self, e: LeadConverted, envelope: Envelope) -> None:
        self.state, self.customer_id = "converted", e.customer_id


@dataclass(frozen=True)
class Contacts:
    """Who the ledger already knows under an e-mail (or its domain): the customers, and
    the leads submitted for that address as (lead id, partner id, state)."""

    customer_ids: tuple[str, ...] = ()
    leads: tuple[tuple[str, str, str], ...] = ()

    def open_lead(self) -> tuple[str, str] | None:
        """(lead id, partner id) of the address's open lead, if there is one."""
        return next(((lead_id, partner_id) for lead_id, partner_id, state in self.leads if state == "open"), None)
