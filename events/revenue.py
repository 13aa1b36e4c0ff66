"""Money events: payments with the commission they earned, reversals, costs, adjustments.

Each event carries the amounts the commission policy decided when the ledger learnt
the fact, so every figure downstream is a sum of recorded amounts, traceable to its
event, and never re-rated silently when terms change later.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from events.base import Event

EarningKind = Literal["commission", "discount", "none"]


class RevenueLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    kind: str
    amount: Decimal


class Earning(BaseModel):
    """What a payment earned its partner: a referral commission or a resale discount."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: EarningKind
    partner_id: str | None = None
    rate: Decimal = Decimal("0")
    base: Decimal = Decimal("0")  # commissionable net revenue
    amount: Decimal = Decimal("0")
    wholesale: Decimal | None = None  # resale only: what the reseller owes
    reason: str | None = None  # why nothing was earned, when kind is "none"
    payable_at: datetime | None = None  # None while on hold for review
    hold_reason: str | None = None


class PaymentRecorded(Event):
    TOPIC = "payment.recorded"
    payment_id: str
    customer_id: str
    currency: str
    lines: list[RevenueLine]
    tax: Decimal
    paid_amount: Decimal
    earning: Earning


class PaymentReversed(Event):
    """A refund or chargeback, and the share of the earning it claws back."""

    TOPIC = "payment.reversed"
    payment_id: str
    partner_id: str | None
    currency: str
    earning_kind: EarningKind
    reversal_id: str
    reason: Literal["refund", "chargeback"]
    amount: Decimal
    clawback: Decimal
    # The payment's commission was on hold for review when this reversal was recorded.
    on_hold: bool = False


class CommissionReviewed(Event):
    """An admin's decision on a payment held for review (self-referral)."""

    TOPIC = "payment.commission_reviewed"
    payment_id: str
    partner_id: str | None
    currency: str
    decision: Literal["release", "void"]
    reason: str
    voided: Decimal  # what was left of the earning and is now void (0 on release)


class CostRecorded(Event):
    TOPIC = "cost.recorded"
    cost_id: str
    customer_id: str
    partner_id: str | None
    amount: Decimal
    currency: str
    kind: str
    rate: Decimal
    deduction: Decimal


class CommissionAdjusted(Event):
    TOPIC = "adjustment.recorded"
    adjustment_id: str
    partner_id: str
    amount: Decimal
    currency: str
    reason: str
