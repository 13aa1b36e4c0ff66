"""Every event's effect on money, in one place: the lines that balances, statements
and the audit trail are all sums of. The journal (``projections.money``,
``projections/lines_view.py``) and the books a month close states from
(``ledger.account.Books``) both make their lines here, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from events.revenue import CommissionAdjusted, CommissionReviewed, CostRecorded, PaymentRecorded, PaymentReversed
from events.statement import PayoutRecorded, StatementIssued

# The events that can move money (``lines_of`` returns nothing for the others).
MONEY_TOPICS = frozenset(
    e.TOPIC for e in (PaymentRecorded, PaymentReversed, CommissionReviewed, CostRecorded, CommissionAdjusted,
                      PayoutRecorded, StatementIssued)
)

# Balance buckets. lifetime_commission = earned - clawed_back - deducted + adjusted.
EARNED, CLAWED_BACK, DEDUCTED, ADJUSTED, DISCOUNT, PAID = (
    "earned", "clawed_back", "deducted", "adjusted", "discount", "paid",
)
COMMISSION_SIGN = {EARNED: 1, CLAWED_BACK: -1, DEDUCTED: -1, ADJUSTED: 1}
STATEMENT_BUCKETS = tuple(COMMISSION_SIGN)  # discounts are the reseller's own margin; payouts move the opening

# A line's hold: payable when due, on hold for review (with every reversal of the same
# payment), or void (never stated).
PAYABLE, ON_HOLD, VOID = 0, 1, 2

T = TypeVar("T")  # a payable time, as the reader keeps it (column text, a datetime)


@dataclass(frozen=True, slots=True)
class MoneyLine(Generic[T]):
    partner_id: str
    currency: str
    bucket: str
    kind: str  # what a statement calls the line
    amount: Decimal  # magnitude in its bucket (discount reversals are negative)
    source_id: str
    payment_id: str | None = None
    payable_at: T | None = None  # the stored time, as ``lines_of``'s ``payable`` reads it
    held: bool = False


def lines_of(topic: str, p: dict[str, Any], payable: Callable[[str], T]) -> list[MoneyLine[T]]:
    """The money lines of an event's payload as stored (a dict, amounts as text); a
    payable time is read by ``payable`` from its stored ISO 8601 text."""
    if topic == PaymentRecorded.TOPIC:
        return _payment(p, payable)
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


def _payment(p: dict[str, Any], payable: Callable[[str], T]) -> list[MoneyLine[T]]:
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
                  payable(payable_at) if payable_at else None, held=earning.get("hold_reason") is not None)
    ]


def amount(value: Any) -> Decimal:
    """A stored amount, exactly (amounts are stored as decimal strings, never read through a float)."""
    return Decimal(value) if isinstance(value, str) else Decimal(str(value))
