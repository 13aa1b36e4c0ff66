"""A partner's account in one currency: the statements issued to it and the payouts
made against them. One aggregate, so "never pay more than is due" holds under
concurrent writers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from functools import singledispatchmethod

from events.base import Event
from events.statement import PayoutRecorded, PayoutRequested, StatementIssued, StatementLine, StatementReleased
from ledger.aggregate import Aggregate, Envelope
from ledger.errors import Problem
from ledger.money import ZERO


@dataclass(frozen=True)
class IssuedStatement:
    statement_id: str
    period: str
    closing: Decimal
    due: Decimal
    not_due_because: tuple[str, ...] = ()


# Why a month close left a balance undue, as ``not_payable`` words it (a reason
# starts with one of these; the minimum's amount follows its phrase), and the code
# and field a refused payout names for it.
NOT_POSITIVE = "balance is not positive"
BELOW_MINIMUM = "balance is below the minimum payout"
NO_TAX_FORM = "no tax form on file"
NOT_TRAINED = "training not completed"
NOT_DUE = {
    NOT_POSITIVE: ("nothing_due", "amount"),
    BELOW_MINIMUM: ("below_minimum", "amount"),
    NO_TAX_FORM: ("tax_form_missing", "partner_id"),
    NOT_TRAINED: ("training_missing", "partner_id"),
}


def not_due_problem(statement: IssuedStatement, reason: str) -> Problem:
    code, field = next((v for start, v in NOT_DUE.items() if reason.startswith(start)), ("not_due", "amount"))
    return Problem(code, f"nothing is due on {statement.statement_id}: {reason}", field)


class Account(Aggregate):
    KIND = "account"
    EVENTS = (StatementIssued, PayoutRecorded, PayoutRequested, StatementReleased)

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
        self.latest = IssuedStatement(e.statement_id, e.period, e.closing, e.due, tuple(e.carried_forward_because))
        self.statements[e.statement_id] = self.latest
        self.paid_since_latest = ZERO

    @when.register
    def _(self, e: StatementReleased, envelope: Envelope) -> None:
        released = replace(self.statements[e.statement_id], due=e.due, not_due_because=())
        self.statements[e.statement_id] = released
        if self.latest is not None and self.latest.statement_id == e.statement_id:
            self.latest = released

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
