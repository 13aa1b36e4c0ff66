"""The payment aggregate: what was paid, what it earned, and what was reversed since."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import singledispatchmethod

from events.base import Event
from events.revenue import CommissionReviewed, Earning, PaymentRecorded, PaymentReversed
from ledger.aggregate import Aggregate, Envelope
from ledger.money import ZERO


class Payment(Aggregate):
    KIND = "payment"
    EVENTS = (PaymentRecorded, PaymentReversed, CommissionReviewed)

    def __init__(self, id: object) -> None:
        super().__init__(id)  # type: ignore[arg-type]
        self.recorded: PaymentRecorded | None = None
        self.paid_at: datetime | None = None
        self.reversed_total = ZERO
        self.clawed_back = ZERO
        self.voided = ZERO
        self.review: str | None = None

    @property
    def details(self) -> PaymentRecorded:
        assert self.recorded is not None
        return self.recorded

    @property
    def earning(self) -> Earning:
        return self.details.earning

    @property
    def earning_left(self) -> Decimal:
        return self.earning.amount - self.clawed_back - self.voided

    @property
    def refundable(self) -> Decimal:
        return self.details.paid_amount - self.reversed_total

    @property
    def awaiting_review(self) -> bool:
        return self.earning.hold_reason is not None and self.review is None

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        super().when(payload, envelope)

    @when.register
    def _(self, e: PaymentRecorded, envelope: Envelope) -> None:
        self.recorded = e
        self.paid_at = envelope.effective_at

    @when.register
    def _(self, e: PaymentReversed, envelope: Envelope) -> None:
        self.reversed_total += e.amount
        self.clawed_back += e.clawback

    @when.register
    def _(self, e: CommissionReviewed, envelope: Envelope) -> None:
        self.review = e.decision
        self.voided += e.voided
