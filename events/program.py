"""Program events and the program terms they carry."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.base import Event

Rate = Decimal  # a fraction between 0 and 1, e.g. Decimal("0.20")


class _Terms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Level(_Terms):
    rate: Decimal = Field(ge=0, le=1)
    discount: Decimal = Field(default=Decimal("0"), ge=0, le=1)
    period_months: int | None = Field(default=None, ge=1)


class Promo(_Terms):
    rate: Decimal = Field(ge=0, le=1)
    slots: int = Field(ge=0)


class StatusTerms(_Terms):
    target_per_year: int = Field(default=10, ge=0)
    window_months: int = Field(default=24, ge=1)
    lock_threshold: int = Field(default=50, ge=1)
    lock_years: int = Field(default=5, ge=0)


class PayoutTerms(_Terms):
    minimum: Decimal = Field(default=Decimal("0.00"), ge=0)
    hold_days: int = Field(default=0, ge=0)
    requires_tax_form: bool = False
    requires_training: bool = False


class Terms(_Terms):
    """A program's terms, exactly the ``terms`` object of DESIGN.md."""

    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
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

    def is_commissionable(self, kind: str) -> bool:
        return self.commissionable_revenue == "*" or kind in self.commissionable_revenue


class ProgramDefined(Event):
    TOPIC = "program.defined"
    program_id: str
    terms: Terms
    preset: str | None = None


class ProgramTermsChanged(Event):
    TOPIC = "program.terms_changed"
    program_id: str
    terms: Terms


class PromoSlotTaken(Event):
    """Recorded on the program with the approval, so slots are counted atomically."""

    TOPIC = "program.promo_slot_taken"
    program_id: str
    partner_id: str
    rate: Decimal


class PromoClosed(Event):
    TOPIC = "program.promo_closed"
    program_id: str
