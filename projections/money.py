"""Every event's effect on money, in one place: the lines that balances, statements
and the audit trail are all sums of."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from events.base import Event
from events.revenue import CommissionAdjusted, CommissionReviewed, CostRecorded, PaymentRecorded, PaymentReversed
from events.statement import PayoutRecorded, StatementIssued
from projections.record import Record, amount, ts_text

# The events that can move money (``money_lines`` returns nothing for the others).
MONEY_TOPICS = frozenset(
    e.TOPIC for e in (PaymentRecorded, PaymentReversed, CommissionReviewed, CostRecorded, CommissionAdjusted,
                      PayoutRecorded, StatementIssued)
)

# Balance buckets. lifetime_commission = earned - clawed_back - deducted + adjusted.
EARNED, CLAWED_BACK, DEDUCTED, ADJUSTED, DISCOUNT, PAID = (
    "earned", "clawed_back", "deducted", "adjusted", "discount", "paid",
)
DUE = "due"  # not a money line: the latest statement's due less payouts since
COMMISSION_SIGN = {EARNED: 1, CLAWED_BACK: -1, DEDUCTED: -1, ADJUSTED: 1}
STATEMENT_BUCKETS = tuple(COMMISSION_SIGN)  # discounts are the reseller's own margin; payouts move the opening


@dataclass(frozen=True, slots=True)
class MoneyLine:
    partner_id: str
    currency: str
    bucket: str
    kind: str  # what a statement calls the line
    amount: Decimal  # magnitude in its bucket (discount reversals are negative)
    source_id: str
    payment_id: str | None = None
    payable_at: str | None = None  # column text (``projections.columns.ts``)
    held: bool = False


def record_lines(record: Record) -> list[MoneyLine]:
    """The money lines of a record, worked out once for every view that reads them."""
    lines = record.money
    if lines is None:
        lines = record.money = lines_of(record.topic, record.payload) if record.topic in MONEY_TOPICS else []
    return lines


def money_lines(event: Event) -> list[MoneyLine]:
    """The money lines of a catalogue event (what-if analysis; the views read records)."""
    return lines_of(event.TOPIC, event.model_dump(mode="json"))


def lines_of(topic: str, p: dict[str, Any]) -> list[MoneyLine]:
    """The money lines of an event's payload as stored (a dict, amounts as text)."""
    if topic == PaymentRecorded.TOPIC:
        return _payment(p)
    if topic == PaymentReversed.TOPIC:
        partner_id, clawback = p.get("partner_id"), amount(p["clawback"])
        if not (partner_id and clawback):
            return []
        if p["earning_kind"] == "discount":
            return [MoneyLine(partner_id, p["currency"], DISCOUNT, "discount_reversal", -clawback, p["reversal_id"],
                              p["payment_id"])]
        return [MoneyLine(partner_id, p["currency"], CLAWED_BACK, p["reason"], clawback, p["reversal_id"], p["payment_id"],
                          held=bool(p.get("on_hold", False)))]
    if topic == CommissionReviewed.TOPIC:
        partner_id, voided = p.get("partner_id"), amount(p["voided"])
        if partner_id and voided:
            return [MoneyLine(partner_id, p["currency"], CLAWED_BACK, "void", voided, p["payment_id"], p["payment_id"])]
        return []
    if topic == CostRecorded.TOPIC:
        partner_id, deduction = p.get("partner_id"), amount(p["deduction"])
        if partner_id and deduction:
            return [MoneyLine(partner_id, p["currency"], DEDUCTED, "cost_deduction", deduction, p["cost_id"])]
        return []
    if topic == PayoutRecorded.TOPIC:
        return [MoneyLine(p["partner_id"], p["currency"], PAID, "payout", amount(p["amount"]), p["payout_id"])]
    if topic == CommissionAdjusted.TOPIC:
        return [MoneyLine(p["partner_id"], p["currency"], ADJUSTED, "adjustment", amount(p["amount"]), p["adjustment_id"])]
    return []


def _payment(p: dict[str, Any]) -> list[MoneyLine]:
    earning = p["earning"]
    partner_id, kind = earning.get("partner_id"), earning["kind"]
    if partner_id is None or kind == "none":
        return []
    earned = amount(earning.get("amount", "0"))
    if not earned:
        return []
    if kind == "discount":
        return [MoneyLine(partner_id, p["currency"], DISCOUNT, "discount", earned, p["payment_id"], p["payment_id"])]
    payable_at = earning.get("payable_at")
    return [
        MoneyLine(partner_id, p["currency"], EARNED, "commission", earned, p["payment_id"], p["payment_id"],
                  ts_text(payable_at) if payable_at else None, held=earning.get("hold_reason") is not None)
    ]
