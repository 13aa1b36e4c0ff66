"""The partner aggregate: application, approval, level and rate history, paperwork."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import singledispatchmethod
from typing import Literal

from events.base import Event
from events.partner import (
    ActiveUntilSet,
    ApplicationApproved,
    ApplicationRejected,
    ApplicationSubmitted,
    CommissionRateSet,
    LevelChanged,
    MeetingRecorded,
    NoticesSet,
    PartnerCodeIssued,
    PartnerForgotten,
    PartnerTerminated,
    PayoutAccountRevealed,
    PayoutDetailsSet,
    Profile,
    ProfileUpdated,
    ReferralLinkIssued,
    SignedForm,
    SignInLinkIssued,
    TaxFormSubmitted,
    TrainingCompleted,
)
from ledger.aggregate import Aggregate, Envelope
from ledger.timeline import Timeline

PartnerState = Literal["applied", "approved", "rejected", "terminated"]


class Partner(Aggregate):
    KIND = "partner"
    EVENTS = (
        ApplicationSubmitted, ApplicationApproved, ApplicationRejected, LevelChanged,
        CommissionRateSet, TaxFormSubmitted, PayoutDetailsSet, TrainingCompleted,
        MeetingRecorded, ActiveUntilSet, PartnerTerminated, PartnerForgotten,
        ReferralLinkIssued, PartnerCodeIssued, PayoutAccountRevealed, NoticesSet, ProfileUpdated,
        SignInLinkIssued,
    )

    def __init__(self, id: object) -> None:
        super().__init__(id)  # type: ignore[arg-type]
        self.partner_id = ""
        self.program_id = ""
        self.state: PartnerState = "applied"
        self.profile: Profile | None = None
        self.email_hash = ""
        self.domain_hash: str | None = None
        self.approved_at: datetime | None = None
        self.terminated_at: datetime | None = None
        self.termination_reason: str | None = None
        self.levels = Timeline[str]()
        self.rate_overrides = Timeline[Decimal | None]()
        self.promo_rate: Decimal | None = None
        self.tax_form: str | None = None
        self.tax_form_at: datetime | None = None
        self.tax_form_handed_in_at: datetime | None = None  # the latest form's
        self.tax_legal_name: str | None = None  # sealed
        self.tax_country: str | None = None
        self.tax_id_masked: str | None = None
        self.signed_form: SignedForm | None = None
        self.training_completed_at: datetime | None = None
        self.payout_method: str | None = None
        self.payout_account_masked: str | None = None
        self.payout_account: str | None = None  # sealed
        self.payout_bic: str | None = None
        self.active_until = Timeline[date | None]()
        self.meetings: list[datetime] = []  # when each meeting was held
        self.referral_link: str | None = None
        self.partner_code: str | None = None  # sealed
        self.partner_code_hash: str | None = None  # the only code that resolves
        self.forgotten = False
        self.notices = True  # notice e-mails wanted (the partner may turn them off)

    @property
    def is_approved(self) -> bool:
        return self.state == "approved"

    def level_on(self, on: datetime) -> str | None:
        return self.levels.at(on)

    def rate_override_on(self, on: datetime) -> Decimal | None:
        return self.rate_overrides.at(on)

    def meetings_in_year(self, year: int) -> int:
        return sum(1 for held in self.meetings if held.year == year)

    def trained_by(self, on: datetime) -> bool:
        return self.training_completed_at is not None and self.training_completed_at <= on

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        super().when(payload, envelope)

    @when.register
    def _(self, e: ApplicationSubmitted, envelope: Envelope) -> None:
        self.partner_id, self.program_id, self.profile = e.partner_id, e.program_id, e.profile
        self.email_hash, self.domain_hash = e.email_hash, e.domain_hash

    @when.register
    def _(self, e: ApplicationApproved, envelope: Envelope) -> None:
        self.state = "approved"
        self.approved_at = envelope.effective_at
        self.levels.set(envelope.effective_at, e.level)
        if e.rate is not None:
            self.rate_overrides.set(envelope.effective_at, e.rate)
        self.promo_rate = e.promo_rate

    @when.register
    def _(self, e: ApplicationRejected, envelope: Envelope) -> None:
        self.state = "rejected"

    @when.register
    def _(self, e: LevelChanged, envelope: Envelope) -> None:
        self.levels.set(envelope.effective_at, e.level)

    @when.register
    def _(self, e: CommissionRateSet, envelope: Envelope) -> None:
        self.rate_overrides.set(envelope.effective_at, e.rate)

    @when.register
    def _(self, e: TaxFormSubmitted, envelope: Envelope) -> None:
        self.tax_form, self.tax_form_handed_in_at = e.form, envelope.effective_at
        self.tax_legal_name, self.tax_country, self.tax_id_masked = e.legal_name, e.country, e.tax_id_masked
        self.signed_form = e.signed_form
        if self.tax_form_at is None or envelope.effective_at < self.tax_form_at:
            self.tax_form_at = envelope.effective_at

    @when.register
    def _(self, e: PayoutDetailsSet, envelope: Envelope) -> None:
        self.payout_method, self.payout_account_masked, self.payout_bic = e.method, e.account_masked, e.bic
        self.payout_account = e.account

    @when.register
    def _(self, e: PayoutAccountRevealed, envelope: Envelope) -> None:
        pass  # an audit fact: it changes nothing the partner's rules read

    @when.register
    def _(self, e: ProfileUpdated, envelope: Envelope) -> None:
        if self.profile is not None:
            self.profile = self.profile.model_copy(update={"contact_email": e.contact_email, "website": e.website})
        self.email_hash, self.domain_hash = e.email_hash, e.domain_hash

    @when.register
    def _(self, e: SignInLinkIssued, envelope: Envelope) -> None:
        pass  # an audit fact: the link lives in the HTTP server's access store

    @when.register
    def _(self, e: TrainingCompleted, envelope: Envelope) -> None:
        self.training_completed_at = envelope.effective_at

    @when.register
    def _(self, e: MeetingRecorded, envelope: Envelope) -> None:
        self.meetings.append(envelope.effective_at)

    @when.register
    def _(self, e: ActiveUntilSet, envelope: Envelope) -> None:
        self.active_until.set(envelope.effective_at, e.until)

    @when.register
    def _(self, e: PartnerTerminated, envelope: Envelope) -> None:
        self.state = "terminated"
        self.terminated_at, self.termination_reason = envelope.effective_at, e.reason

    @when.register
    def _(self, e: PartnerForgotten, envelope: Envelope) -> None:
        self.forgotten = True

    @when.register
    def _(self, e: ReferralLinkIssued, envelope: Envelope) -> None:
        self.referral_link = e.link

    @when.register
    def _(self, e: NoticesSet, envelope: Envelope) -> None:
        self.notices = e.notices

    @when.register
    def _(self, e: PartnerCodeIssued, envelope: Envelope) -> None:
        self.partner_code, self.partner_code_hash = e.partner_code, e.partner_code_hash
