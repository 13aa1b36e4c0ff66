"""Every event's effect on money, in one place: the lines that balances, statements
and the audit trail are all sums of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from events.base import Event
from events.revenue import CommissionAdjusted, CommissionReviewed, CostRecorded, PaymentRecorded, PaymentReversed
from events.statement import PayoutRecorded, StatementIssued

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


@dataclass(frozen=True)
class MoneyLine:
    partner_id: str
    currency: str
    bucket: str
    kind: str  # what a statement calls the line
    amount: Decimal  # magnitude in its bucket (discount reversals are negative)
    source_id: str
    payment_id: str | None = None
    payable_at: datetime | None = None
    held: bool = False


# The last event asked about and its lines: every view that reads money asks about
# the same event in turn, and the lines are worked out once. (Held, so the event's
# identity cannot be taken by another object while it is remembered; events are
# immutable, so its lines cannot change.)
_last: tuple[Event | None, list[MoneyLine]] = (None, [])


def money_lines(event: Event) -> list[MoneyLine]:
    global _last
    remembered, lines = _last
    if remembered is not event:
        lines = _lines(event)
        _last = (event, lines)
    return lines


def _lines(event: Event) -> list[MoneyLine]:
    if isinstance(event, PaymentRecorded):
        return _payment(event)
    if isinstance(event, PaymentReversed) and event.partner_id and event.clawback:
        if event.earning_kind == "discount":
            return [
                MoneyLine(event.partner_id, event.currency, DISCOUNT, "discount_reversal", -event.clawback,
                          event.reversal_id, event.payment_id)
            ]
        return [
            MoneyLine(event.partner_id, event.currency, CLAWED_BACK, event.reason, event.clawback,
                      event.reversal_id, event.payment_id, held=event.on_hold)
        ]
    if isinstance(event, CommissionReviewed) and event.partner_id and event.voided:
        return [MoneyLine(event.partner_id, event.currency, CLAWED_BACK, "void", event.voided, event.payment_id, event.payment_id)]
    if isinstance(event, CostRecorded) and event.partner_id and event.deduction:
        return [MoneyLine(event.partner_id, event.currency, DEDUCTED, "cost_deduction", event.deduction, event.cost_id)]
    if isinstance(event, PayoutRecorded):
        return [MoneyLine(event.partner_id, event.currency, PAID, "payout", event.amount, event.payout_id)]
    if isinstance(event, CommissionAdjusted):
        return [MoneyLine(event.partner_id, event.currency, ADJUSTED, "adjustment", event.amount, event.adjustment_id)]
    return []


def _payment(event: PaymentRecorded) -> list[MoneyLine]:
    earning = event.earning
    if earning.partner_id is None or earning.kind == "none" or not earning.amount:
        return []
    if earning.kind == "discount":
        return [MoneyLine(earning.partner_id, event.currency, DISCOUNT, "discount", earning.amount, event.payment_id, event.payment_id)]
    return [
        MoneyLine(
            earning.partner_id, event.currency, EARNED, "commission", earning.amount,
            event.payment_id, event.payment_id, earning.payable_at, held=earning.hold_reason is not None,
        )
    ]
