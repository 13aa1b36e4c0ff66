"""Program events and the program terms they carry."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.base import Event

Rate = Decimal  # a fraction between 0 and 1, e.g. Decimal("0.20")


class _Terms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# Bounds wide enough for any real program and narrow enough that date arithmetic on
# them can never overflow the calendar (months and years are added to dates).
_MAX_MONTHS = 1200
_MAX_COUNT = 1_000_000_000


class Level(_Terms):
    """One partner level: what its partners earn."""

    rate: Decimal = Field(ge=0, le=1, description="commission rate on referred customers' revenue, a decimal fraction (`0.20` = 20 %)")
    discount: Decimal = Field(default=Decimal("0"), ge=0, le=1, description="resale discount, a decimal fraction (`0.30` = 30 %)")
    period_months: int | None = Field(default=None, ge=1, le=_MAX_MONTHS, description=(
        "months after a customer's attribution during which its payments earn commission; null: for life"))


class Promo(_Terms):
    """A launch promotion: a higher rate for the first partners approved."""

    rate: Decimal = Field(ge=0, le=1, description="the promo commission rate, a decimal fraction (`0.50` = 50 %)")
    slots: int = Field(ge=0, le=_MAX_COUNT, description="how many partners get it: the first ones approved")


class StatusTerms(_Terms):
    """When a partner counts as active, at risk or locked (informational: never changes payouts)."""

    target_per_year: int | None = Field(default=10, ge=0, le=_MAX_COUNT, description=(
        "new paying customers a year a partner needs to be active; null: the program sets no activity target "
        "(its partners are never at risk)"))
    window_months: int = Field(default=24, ge=1, le=_MAX_MONTHS, description="the rolling window for the yearly average, in months")
    lock_threshold: int | None = Field(default=50, ge=1, le=_MAX_COUNT, description=(
        "onboarded customers that lock the status to active; null: no such lock"))
    lock_years: int = Field(default=5, ge=0, le=_MAX_MONTHS // 12, description=(
        "how many years that lock lasts, from the threshold customer's onboarding"))
    meetings_per_year: int = Field(default=0, ge=0, le=366, description=(
        "meetings a partner is asked to hold each calendar year (the referral agreement asks for two)"))


class PayoutTerms(_Terms):
    """When commission becomes payable and a statement's balance is due."""

    minimum: Decimal = Field(default=Decimal("0.00"), ge=0, lt=Decimal("1e15"), allow_inf_nan=False, description=(
        "smallest balance paid out, a decimal string in the program's currency; below it the balance is carried forward"))
    hold_days: int = Field(default=0, ge=0, le=_MAX_MONTHS * 31, description=(
        "days after a payment before its commission is payable (a refund window)"))
    requires_tax_form: bool = Field(default=False, description="pay only partners whose tax form was on file by the month's end")
    requires_training: bool = Field(default=False, description="pay only partners who completed training by the month's end")


class Terms(_Terms):
    """A program's terms: levels and rates, what revenue earns, the promo, status and payout rules."""

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$", description="the program's currency (ISO 4217), e.g. `USD`")
    currencies: list[str] = Field(default_factory=list, description=(
        "other ISO 4217 currencies the program accepts payments, costs and adjustments in (commission is earned in the "
        "payment's currency)"))
    levels: dict[str, Level] = Field(min_length=1, description="the partner levels by name, e.g. `Silver`, `Gold`; at least one")
    default_level: str | None = Field(default=None, description="the level an approved partner starts at (one of `levels`)")
    commissionable_revenue: list[str] | Literal["*"] = Field(default="*", description=(
        "the payment line kinds that earn commission, e.g. `[\"subscription\"]`, or `\"*\"` for every kind"))
    promo: Promo | None = Field(default=None, description="a launch promotion, or null for none")
    status: StatusTerms = Field(default=StatusTerms(), description="partner status rules")
    payout: PayoutTerms = Field(default=PayoutTerms(), description="payout rules")
    training_required_for_leads: bool = Field(default=False, description="`lead` claims qualify only after the partner's training")
    landing_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://[^\s/?#]+[^\s]*$", description=(
        "where a partner's referral link (`/r/<link>`) sends a visitor, e.g. your sign-up page; the link is added as the "
        "`ref` query parameter (pass it on as `sign_up_customer`'s `referral_link`); null: referral links answer 404"))

    @model_validator(mode="after")
    def _default_level_exists(self) -> Terms:
        if self.default_level is not None and self.default_level not in self.levels:
            raise ValueError(f"default_level {self.default_level!r} is not one of the levels")
        return self

    def accepts(self, currency: str) -> bool:
        return currency == self.currency or currency in self.currencies

    def is_commissionable(self, kind: str) -> bool:
        return self.commissionable_revenue == "*" or kind in self.commissionable_revenue


def _terms_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
    """v2 terms list the other currencies a program accepts; v1 terms accepted only
    their own ``currency``."""
    return {**state, "terms": {**state["terms"], "currencies": []}}


class ProgramDefined(Event):
    TOPIC = "program.defined"
    SCHEMA_VERSION = 2
    program_id: str
    terms: Terms
    preset: str | None = None

    upcast_v1_v2 = staticmethod(_terms_v1_v2)


class ProgramTermsChanged(Event):
    TOPIC = "program.terms_changed"
    SCHEMA_VERSION = 2
    program_id: str
    terms: Terms

    upcast_v1_v2 = staticmethod(_terms_v1_v2)


class PromoSlotTaken(Event):
    """Recorded on the program with the approval, so slots are counted atomically."""

    TOPIC = "program.promo_slot_taken"
    program_id: str
    partner_id: str
    rate: Decimal


class PromoClosed(Event):
    TOPIC = "program.promo_closed"
    program_id: str
