"""One pydantic model per command of DESIGN.md's table.

Every command may carry ``at`` (effective time, default now), ``actor`` and
``command_id`` (an idempotency key). Amounts are decimal strings (JSON numbers are
read exactly as decimals too, never through float).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from events.partner import TaxForm
from events.program import Terms
from events.revenue import RevenueLine
from ledger.money import CURRENCIES, MAX_AMOUNT, minor_unit

# No id or text may hold a control character (C0 or C1, NUL included): PostgreSQL
# cannot store NUL in text, and the others only ever hide something. ``parsing``
# checks every string and key of a command against the same rule, at any depth.
PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f]*$"
MAX_ID = 200
MAX_TEXT = 2000
# Times and dates a command may carry: wide enough for any real business date, far
# enough from the calendar's ends that adding months or years can never overflow.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)


def _iso_only(value: Any) -> Any:
    """Times and dates are ISO-8601 strings: a number is not read as a Unix time."""
    if isinstance(value, str | date):
        return value
    raise ValueError("give an ISO-8601 string, e.g. 2025-03-01T12:00:00Z")


def _in_range(value: date) -> date:
    day = value.date() if isinstance(value, datetime) else value
    if not EARLIEST.date() <= day <= LATEST.date():
        raise ValueError(f"{day.isoformat()} is outside the years {EARLIEST.year} to {LATEST.year}")
    return value


def _iso_currency(code: str) -> str:
    if code not in CURRENCIES:
        raise ValueError(f"{code!r} is not an ISO 4217 currency")
    return code


Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ID, pattern=PRINTABLE)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT, pattern=PRINTABLE)]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_iso_currency),
    Field(json_schema_extra={"enum": sorted(CURRENCIES)}),
]
Moment = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_in_range)]
Day = Annotated[date, BeforeValidator(_iso_only), AfterValidator(_in_range)]
Rate = Annotated[Decimal, Field(ge=0, le=1, decimal_places=10)]
# Amounts stay below a quadrillion and carry at most 4 decimals (the finest minor
# unit, e.g. CLF); each command then checks its currency's own minor unit.
_AMOUNT = {"lt": MAX_AMOUNT, "decimal_places": 4, "allow_inf_nan": False}
Amount = Annotated[Decimal, Field(gt=-MAX_AMOUNT, **_AMOUNT)]
PositiveAmount = Annotated[Decimal, Field(gt=0, **_AMOUNT)]
NonNegativeAmount = Annotated[Decimal, Field(ge=0, **_AMOUNT)]
Count = Annotated[int, Field(ge=0, le=1_000_000_000)]
_PERIOD = r"^(19\d\d|2\d\d\d)-(0[1-9]|1[0-2])$"


def _period(text: str) -> str:
    if re.fullmatch(_PERIOD, text) is None:
        raise ValueError(f"give a month as YYYY-MM, from {EARLIEST.year}-01 to {LATEST.year}-12")
    return text


Period = Annotated[str, AfterValidator(_period), Field(json_schema_extra={"pattern": _PERIOD})]


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The field whose value is this command's idempotency key, if it has one.
    KEY_FIELD: ClassVar[str | None] = None

    type: str  # each command narrows it to its own literal name
    at: Moment | None = None
    actor: Id | None = None
    command_id: Id | None = None

    @field_validator("at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def idempotency_keys(self) -> list[str]:
        keys = []
        if self.KEY_FIELD is not None:
            keys.append(f"{self.KEY_FIELD.removesuffix('_id')}:{getattr(self, self.KEY_FIELD)}")
        if self.command_id is not None:
            keys.append(f"command:{self.command_id}")
        return keys

    def content(self) -> dict[str, Any]:
        """What makes two deliveries the same command: everything but who sent it and
        when, unless the effective time was given explicitly."""
        exclude = {"actor", "command_id"} | ({"at"} if "at" not in self.model_fields_set else set())
        return self.model_dump(mode="json", exclude=exclude)


class FieldError(ValueError):
    """A model-level check that knows which field is at fault (pydantic would not)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.reason = field, message


def _check_precision(amount: Decimal, currency: str, field: str) -> None:
    if amount != amount.quantize(minor_unit(currency)):
        raise FieldError(field, f"{amount} has more decimal places than {currency} allows")


class _Money(Command):
    """Commands with an ``amount`` in a ``currency``."""

    amount: Decimal
    currency: Currency

    @model_validator(mode="after")
    def _precision(self) -> _Money:
        _check_precision(self.amount, self.currency, "amount")
        return self


# -- programs --------------------------------------------------------------------------


def _iso_terms(terms: Terms) -> Terms:
    """The terms' currencies are ISO 4217 codes (the catalogue's model checks only the shape)."""
    for index, code in enumerate([terms.currency, *terms.currencies]):
        if code not in CURRENCIES:
            field = "currency" if index == 0 else f"currencies.{index - 1}"
            raise FieldError(field, f"{code!r} is not an ISO 4217 currency")
    return terms


CheckedTerms = Annotated[Terms, AfterValidator(_iso_terms)]


class DefineProgram(Command):
    type: Literal["define_program"]
    program_id: Id
    terms: CheckedTerms | None = None
    preset: Literal["refer-resell", "sales-partner", "referral-tiers"] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DefineProgram:
        if (self.terms is None) == (self.preset is None):
            raise ValueError("give either terms or preset")
        return self


class ChangeProgramTerms(Command):
    type: Literal["change_program_terms"]
    program_id: Id
    terms: CheckedTerms


class ClosePromo(Command):
    type: Literal["close_promo"]
    program_id: Id


# -- partners --------------------------------------------------------------------------


class ApplicationProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    company: Text
    contact_email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    website: Text | None = None
    city: Text
    country: Text
    business_type: Text
    team_size: Count
    client_count: Count
    focus_market: Text | None = None
    expected_pipeline: Text | None = None


class SubmitApplication(Command):
    type: Literal["submit_application"]
    partner_id: Id
    program_id: Id
    profile: ApplicationProfile


class ApproveApplication(Command):
    type: Literal["approve_application"]
    partner_id: Id
    level: Id | None = None
    rate: Rate | None = None


class RejectApplication(Command):
    type: Literal["reject_application"]
    partner_id: Id
    reason: Text


class ChangeLevel(Command):
    type: Literal["change_level"]
    partner_id: Id
    level: Id


class SetCommissionRate(Command):
    type: Literal["set_commission_rate"]
    partner_id: Id
    rate: Rate | None


class SubmitTaxForm(Command):
    type: Literal["submit_tax_form"]
    partner_id: Id
    form: TaxForm


class SetPayoutDetails(Command):
    type: Literal["set_payout_details"]
    partner_id: Id
    method: Id
    account: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=MAX_ID, pattern=PRINTABLE)]


class CompleteTraining(Command):
    type: Literal["complete_training"]
    partner_id: Id


class RecordMeeting(Command):
    type: Literal["record_meeting"]
    partner_id: Id


class SetActiveUntil(Command):
    type: Literal["set_active_until"]
    partner_id: Id
    until: Day | None


class TerminatePartner(Command):
    type: Literal["terminate_partner"]
    partner_id: Id
    reason: Text


class ForgetPartner(Command):
    type: Literal["forget_partner"]
    partner_id: Id
    reason: Text


# -- customers --------------------------------------------------------------------------


class SignUpCustomer(Command):
    type: Literal["sign_up_customer"]
    customer_id: Id
    email: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")] | None = None
    company: Text | None = None


class ClaimCustomer(Command):
    type: Literal["claim_customer"]
    customer_id: Id
    partner_id: Id
    channel: Literal["link", "code", "lead", "resell"]


class SetDoNotContact(Command):
    type: Literal["set_do_not_contact"]
    customer_id: Id
    value: bool


class ForgetCustomer(Command):
    type: Literal["forget_customer"]
    customer_id: Id
    reason: Text


# -- money -----------------------------------------------------------------------------


class PaymentLine(RevenueLine):
    kind: Id
    amount: NonNegativeAmount


class RecordPayment(Command):
    KEY_FIELD = "payment_id"
    type: Literal["record_payment"]
    payment_id: Id
    customer_id: Id
    currency: Currency
    lines: Annotated[list[PaymentLine], Field(min_length=1)]
    tax: NonNegativeAmount = Decimal("0")

    @model_validator(mode="after")
    def _precision(self) -> RecordPayment:
        for index, line in enumerate(self.lines):
            _check_precision(line.amount, self.currency, f"lines.{index}.amount")
        _check_precision(self.tax, self.currency, "tax")
        return self


class RecordRefund(Command):
    KEY_FIELD = "refund_id"
    type: Literal["record_refund"]
    refund_id: Id
    payment_id: Id
    amount: PositiveAmount


class RecordChargeback(Command):
    KEY_FIELD = "chargeback_id"
    type: Literal["record_chargeback"]
    chargeback_id: Id
    payment_id: Id
    amount: PositiveAmount


class RecordCost(_Money):
    KEY_FIELD = "cost_id"
    type: Literal["record_cost"]
    cost_id: Id
    customer_id: Id
    amount: PositiveAmount
    currency: Currency
    kind: Id


class AdjustCommission(_Money):
    KEY_FIELD = "adjustment_id"
    type: Literal["adjust_commission"]
    adjustment_id: Id
    partner_id: Id
    amount: Amount
    currency: Currency
    reason: Text

    @field_validator("amount")
    @classmethod
    def _not_zero(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValueError("an adjustment of zero changes nothing")
        return value


class ReviewCommission(Command):
    type: Literal["review_commission"]
    payment_id: Id
    decision: Literal["release", "void"]
    reason: Text


class ClosePeriod(Command):
    type: Literal["close_period"]
    program_id: Id
    period: Period


class RecordPayout(_Money):
    KEY_FIELD = "payout_id"
    type: Literal["record_payout"]
    payout_id: Id
    partner_id: Id
    amount: PositiveAmount
    currency: Currency
    statement_ids: Annotated[list[Id], Field(min_length=1)]


AnyCommand = Annotated[
    DefineProgram | ChangeProgramTerms | ClosePromo | SubmitApplication | ApproveApplication
    | RejectApplication | ChangeLevel | SetCommissionRate | SubmitTaxForm | SetPayoutDetails
    | CompleteTraining | RecordMeeting | SetActiveUntil | TerminatePartner | ForgetPartner
    | SignUpCustomer | ClaimCustomer | SetDoNotContact | ForgetCustomer | RecordPayment
    | RecordRefund | RecordChargeback | RecordCost | AdjustCommission | ReviewCommission
    | ClosePeriod | RecordPayout,
    Field(discriminator="type"),
]
