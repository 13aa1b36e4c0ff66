"""Partner lifecycle events. Personal fields hold sealed (encrypted) text, never plain."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from events.base import Event

TaxForm = Literal["W-9", "W-8BEN", "W-8BEN-E"]


class Profile(BaseModel):
    """An application's profile. ``contact_email`` is sealed with the partner's key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company: str
    contact_email: str
    website: str | None = None
    city: str
    country: str
    business_type: str
    team_size: int
    client_count: int
    focus_market: str | None = None
    expected_pipeline: str | None = None


class ApplicationSubmitted(Event):
    TOPIC = "partner.application_submitted"
    partner_id: str
    program_id: str
    profile: Profile
    # Keyed hashes of the contact address and its domain: enough to detect
    # self-referrals without reading (or keeping) the address itself.
    email_hash: str
    domain_hash: str | None


class ApplicationApproved(Event):
    TOPIC = "partner.application_approved"
    partner_id: str
    level: str
    rate: Decimal | None = None
    promo_rate: Decimal | None = None


class ApplicationRejected(Event):
    TOPIC = "partner.application_rejected"
    partner_id: str
    reason: str


class LevelChanged(Event):
    TOPIC = "partner.level_changed"
    partner_id: str
    level: str


class CommissionRateSet(Event):
    TOPIC = "partner.commission_rate_set"
    partner_id: str
    rate: Decimal | None


class TaxFormSubmitted(Event):
    TOPIC = "partner.tax_form_submitted"
    partner_id: str
    form: TaxForm


class PayoutDetailsSet(Event):
    TOPIC = "partner.payout_details_set"
    partner_id: str
    method: str
    account: str  # sealed
    account_masked: str


class TrainingCompleted(Event):
    TOPIC = "partner.training_completed"
    partner_id: str


class MeetingRecorded(Event):
    TOPIC = "partner.meeting_recorded"
    partner_id: str


class ActiveUntilSet(Event):
    TOPIC = "partner.active_until_set"
    partner_id: str
    until: date | None


class PartnerTerminated(Event):
    TOPIC = "partner.terminated"
    partner_id: str
    reason: str


class PartnerForgotten(Event):
    TOPIC = "partner.forgotten"
    partner_id: str
    reason: str
