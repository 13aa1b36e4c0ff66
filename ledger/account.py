"""A partner's account in one currency: the statements issued to it and the payouts
made against them. One aggregate, so "never pay more than is due" holds under
concurrent writers."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import singledispatchmethod

from events.base import Event
from events.statement import PayoutRecorded, PayoutRequested, StatementIssued, StatementLine
from ledger.aggregate import Aggregate, Envelope
from ledger.money import ZERO


@dataclass(frozen=True)
class IssuedStatement:
    statement_id: str
    period: str
    closing: Decimal
    due: Decimal


class Account(Aggregate):
    KIND = "account"
    EVENTS = (StatementIssued, PayoutRecorded, PayoutRequested)

    def __init__(self, id: object) -> None:
        super().__init__(id)  # type: ignore[arg-type]
        self.statements: dict[str, IssuedStatement] = {}
        self.latest: IssuedStatement | None = None
        self.paid_since_latest = ZERO
        self.requested = ZERO  # an open payout request, until a payout is recorded

    @staticmethod
    def key(partner_id: str, currency: str) -> str:
        return f"{partner_id}:{currency}"

    @property
    def opening_for_next(self) -> Decimal:
        """The previous closing balance less payouts recorded since."""
        return (self.latest.closing if self.latest else ZERO) - self.paid_since_latest

    @property
    def outstanding(self) -> Decimal:
        """What may still be paid out: the latest statement's due less payouts since."""
        return (self.latest.due if self.latest else ZERO) - self.paid_since_latest

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        super().when(payload, envelope)

    @when.register
    def _(self, e: StatementIssued, envelope: Envelope) -> None:
        self.latest = IssuedStatement(e.statement_id, e.period, e.closing, e.due)
        self.statements[e.statement_id] = self.latest
        self.paid_since_latest = ZERO

    @when.register
    def _(self, e: PayoutRecorded, envelope: Envelope) -> None:
        self.paid_since_latest += e.amount
        self.requested = ZERO

    @when.register
    def _(self, e: PayoutRequested, envelope: Envelope) -> None:
        self.requested = e.amount


@dataclass(frozen=True)
class StatementDraft:
    """The lines the read side found for one partner and currency: every money line
    effective by the period's end and in no earlier statement."""

    partner_id: str
    currency: str
    lines: list[StatementLine]
