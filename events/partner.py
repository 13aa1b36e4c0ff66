"""Partner lifecycle events. Personal fields hold sealed (encrypted) text, never plain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from events.base import Event

TaxForm = Literal["W-9", "W-8BEN", "W-8BEN-E"]


class Profile(BaseModel):
    """An application's profile. Its personal fields (``PERSONAL``) are sealed with the
    partner's key: for a sole trader the company is the person's name, and the website
    often too. The rest describes the business, not a person, and stays readable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    PERSONAL: ClassVar[tuple[str, ...]] = ("company", "contact_email", "website")

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
    """v2: company and website are sealed like the contact e-mail (v1 events kept them
    plain: the log is immutable, so only the read side can hide them once forgotten)."""

    TOPIC = "partner.application_submitted"
    SCHEMA_VERSION = 2
    partner_id: str
    program_id: str
    profile: Profile
    # Keyed hashes of the contact address and its domain: enough to detect
    # self-referrals without reading (or keeping) the address itself.
    email_hash: str
    domain_hash: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
        return state  # same shape; plain text reads as itself when unsealed


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


class SignedForm(BaseModel):
    """The signed tax form's file, kept sealed in the vault (not in the log): its vault
    id and size. Forgetting the partner makes it unreadable with the rest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    document_id: str
    media_type: str
    size: int


class TaxFormSubmitted(Event):
    """v2: who the form is for (legal name and tax id sealed, the tax id also masked),
    its country and the signed file; v1 events named the form only (an admin's note
    that it is on file): they read with those fields empty."""

    TOPIC = "partner.tax_form_submitted"
    SCHEMA_VERSION = 2
    PERSONAL: ClassVar[tuple[str, ...]] = ("legal_name", "tax_id", "tax_id_masked")
    partner_id: str
    form: TaxForm
    legal_name: str | None  # sealed
    country: str | None  # ISO 3166 alpha-2
    tax_id: str | None  # sealed
    tax_id_masked: str | None
    signed_form: SignedForm | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "legal_name": None, "country": None, "tax_id": None, "tax_id_masked": None, "signed_form": None}


class PayoutDetailsSet(Event):
    """v2 adds the bank's BIC for an IBAN (v1 events read with none)."""

    TOPIC = "partner.payout_details_set"
    SCHEMA_VERSION = 2
    partner_id: str
    method: str
    account: str  # sealed
    account_masked: str
    bic: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "bic": None}


class ProfileUpdated(Event):
    """The partner's contact e-mail and website as they now are (both sealed), with the
    keyed hashes self-referrals are detected by."""

    TOPIC = "partner.profile_updated"
    partner_id: str
    contact_email: str  # sealed
    website: str | None  # sealed
    email_hash: str
    domain_hash: str | None


class PayoutAccountRevealed(Event):
    """Finance or an admin was shown a partner's full payout account (to pay it): who
    and when are the event's actor and time; ``shown_in`` says where (a page, a file)."""

    TOPIC = "partner.payout_account_revealed"
    partner_id: str
    shown_in: str


class SignInLinkIssued(Event):
    """An admin gave the partner a new one-time sign-in link (an invite; the ones it had
    not used stop working). The link itself is a secret: only its id is recorded."""

    TOPIC = "partner.sign_in_link_issued"
    partner_id: str
    invite_id: str
    expires_at: datetime


class ReferralLinkIssued(Event):
    """The partner's public referral link (``/r/<link>``), made at approval: it may be
    shared anywhere and never changes."""

    TOPIC = "partner.referral_link_issued"
    partner_id: str
    link: str


class PartnerCodeIssued(Event):
    """A private partner code, made at approval and again at each rotation: the code
    before it stops resolving. The code is sealed with the partner's key and found by
    its keyed hash; both fields are private (never published, nor in the audit trail)."""

    TOPIC = "partner.code_issued"
    PERSONAL: ClassVar[tuple[str, ...]] = ("partner_code", "partner_code_hash")
    partner_id: str
    partner_code: str  # sealed
    partner_code_hash: str


class TrainingCompleted(Event):
    TOPIC = "partner.training_completed"
    partner_id: str


class NoticesSet(Event):
    """The partner turned its notice e-mails (statement issued, payout recorded, commission
    held, payout blocked) on or off; invites and sign-in links are always sent."""

    TOPIC = "partner.notices_set"
    partner_id: str
    notices: bool


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
