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
    rate: Decimal = Field(ge=0, le=1)
    discount: Decimal = Field(default=Decimal("0"), ge=0, le=1)
    period_months: int | None = Field(default=None, ge=1, le=_MAX_MONTHS)


class Promo(_Terms):
    rate: Decimal = Field(ge=0, le=1)
    slots: int = Field(ge=0, le=_MAX_COUNT)


class StatusTerms(_Terms):
    target_per_year: int = Field(default=10, ge=0, le=_MAX_COUNT)
    window_months: int = Field(default=24, ge=1, le=_MAX_MONTHS)
    lock_threshold: int = Field(default=50, ge=1, le=_MAX_COUNT)
    lock_years: int = Field(default=5, ge=0, le=_MAX_MONTHS // 12)


class PayoutTerms(_Terms):
    minimum: Decimal = Field(default=Decimal("0.00"), ge=0, lt=Decimal("1e15"), allow_inf_nan=False)
    hold_days: int = Field(default=0, ge=0, le=_MAX_MONTHS * 31)
    requires_tax_form: bool = False
    requires_training: bool = False


class Terms(_Terms):
    """A program's terms, exactly the ``terms`` object of DESIGN.md."""

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    # Other currencies the program accepts payments, costs and adjustments in
    # (commission is earned in the payment's currency).
    currencies: list[str] = Field(default_factory=list)
    levels: dict[str, Level] = Field(min_length=1)
    default_level: str | None = None
    commissionable_revenue: list[str] | Literal["*"] = "*"
    promo: Promo | None = None
    status: StatusTerms = StatusTerms()
    payout: PayoutTerms = PayoutTerms()
    training_required_for_leads: bool = False

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
