"""A partner's account in one currency: the statements issued to it and the payouts
made against them. One aggregate, so "never pay more than is due" holds under
concurrent writers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import singledispatchmethod
from typing import Any

from events.base import Event
from events.revenue import CommissionAdjusted, CommissionReviewed, CostRecorded, PaymentRecorded, PaymentReversed
from events.statement import PayoutRecorded, PayoutRequested, StatementIssued, StatementLine, StatementReleased
from ledger.aggregate import Aggregate, Envelope
from ledger.calendar import month_end
from ledger.errors import Problem
from ledger.money import ZERO, from_minor, to_minor
from ledger.money_lines import CLAWED_BACK, COMMISSION_SIGN, EARNED, ON_HOLD, PAYABLE, STATEMENT_BUCKETS, lines_of


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


# -- the books: what the next month close states, folded from the log ----------------------
#
# A month close states, per partner and currency, every commission line effective (and
# payable) by the period's end that no statement holds yet. The books are that, folded
# here from the events themselves, never from a read model: a projection bug cannot
# become a permanent ``StatementIssued``. The lines are the journal's, made by the same
# rules (``ledger.money_lines``), so the statements are exactly the same.

# The events the books read (the rest move no commission a statement states), by topic.
PAID, REVERSED, REVIEWED, COST, ADJUSTMENT, STATED = (
    PaymentRecorded.TOPIC, PaymentReversed.TOPIC, CommissionReviewed.TOPIC, CostRecorded.TOPIC,
    CommissionAdjusted.TOPIC, StatementIssued.TOPIC,
)
BOOK_TOPICS = frozenset((PAID, REVERSED, REVIEWED, COST, ADJUSTMENT, STATED))
_UTC_OFFSET = timedelta(0)


@dataclass(slots=True)
class BookLine:
    """One commission line no statement holds yet: a payment's commission, a clawback
    (refund, chargeback, void), a cost deduction or an adjustment. Its amount and times
    are kept as recorded (times compare as instants); ``statement_line`` writes them as
    the journal does, once, for the lines a statement takes."""

    position: int  # of its event in the log; with ``seq``, the line's key
    seq: int
    partner_id: str
    currency: str
    bucket: str
    kind: str
    amount: Decimal  # magnitude in its bucket, as recorded
    effective_at: datetime
    source_id: str
    payment_id: str | None
    payable_at: datetime | None
    held: int

    def statement_line(self) -> StatementLine:
        return StatementLine(kind=self.kind, amount=_signed_minor(self.amount, self.currency, self.bucket),
                             effective_at=_utc(self.effective_at), source_id=self.source_id,
                             line_key=f"{self.position}:{self.seq}")


class Books:
    """Every commission line not yet stated, per partner and currency, and the accounts
    each program has stated before; fed the log's events in order (``observe``). What
    is stated leaves the books, so they stay as small as what the next closes state."""

    def __init__(self) -> None:
        self.unstated: dict[tuple[str, str], dict[tuple[int, int], BookLine]] = {}
        self._by_payment: dict[str, list[BookLine]] = {}  # unstated lines of a payment
        self._stated_accounts: dict[str, set[tuple[str, str]]] = {}  # per program

    def observe(self, position: int, effective_at: datetime, topic: str, payload: dict[str, Any]) -> None:
        """One book event of the log (``BOOK_TOPICS``), at its position, effective at
        that time; its payload as stored, a plain JSON object at its current schema
        version (amounts as decimal text, times as ISO 8601 text): decoding the log's
        rows with orjson costs a fraction of validating them into the catalogue's
        models, and a fresh process's first close reads the whole log."""
        if topic == STATED:
            self._state(payload)
            return
        stated = [line for line in lines_of(topic, payload, datetime.fromisoformat) if line.bucket in STATEMENT_BUCKETS]
        for seq, line in enumerate(stated):
            book_line = BookLine(position, seq, line.partner_id, line.currency, line.bucket, line.kind, line.amount,
                                 effective_at, line.source_id, line.payment_id, line.payable_at,
                                 ON_HOLD if line.held else PAYABLE)
            self.unstated.setdefault((line.partner_id, line.currency), {})[(position, seq)] = book_line
            if line.payment_id is not None:
                self._by_payment.setdefault(line.payment_id, []).append(book_line)
        if topic == REVIEWED:
            self._review(payload, effective_at)

    def partners(self) -> set[str]:
        return {partner_id for partner_id, _ in self.unstated}

    def drafts(self, program_id: str, period: str, in_program: Iterable[str]) -> list[StatementDraft]:
        """What closing ``period`` states for the program whose partners are
        ``in_program``: per account, the lines effective and payable by the period's
        end (a clawback waits for the commission it claws back to be payable), in
        effective order; accounts stated before get a draft too, to carry their balance."""
        end = month_end(period)
        members = set(in_program)
        drafts: dict[tuple[str, str], list[StatementLine]] = {
            account: [] for account in self._stated_accounts.get(program_id, ())
        }
        for account, lines in self.unstated.items():
            if account[0] not in members:
                continue
            due = sorted((line for line in lines.values() if self._due(line, end)),
                         key=lambda line: (line.effective_at, line.position, line.seq))
            if due:
                drafts[account] = [line.statement_line() for line in due]
        return [StatementDraft(partner, currency, lines) for (partner, currency), lines in sorted(drafts.items())]

    def _due(self, line: BookLine, end: datetime) -> bool:
        if line.held != PAYABLE or line.effective_at > end or (line.payable_at is not None and line.payable_at > end):
            return False
        if line.bucket != CLAWED_BACK or line.payment_id is None:
            return True
        # A commission already stated was payable by an earlier close's end, so only
        # an unstated one can hold its clawback back (a voided one leaves nothing to claw).
        return not any(
            other.bucket == EARNED and (other.payable_at is None or other.payable_at > end)
            for other in self._by_payment.get(line.payment_id, ())
        )

    def _state(self, statement: dict[str, Any]) -> None:
        account = (statement["partner_id"], statement["currency"])
        self._stated_accounts.setdefault(statement["program_id"], set()).add(account)
        lines = self.unstated.get(account, {})
        for stated in statement["lines"]:
            position, seq = stated["line_key"].split(":")
            line = lines.pop((int(position), int(seq)), None)
            if line is not None and line.payment_id is not None:
                of_payment = self._by_payment[line.payment_id]
                of_payment.remove(line)
                if not of_payment:
                    del self._by_payment[line.payment_id]
        if not lines:
            self.unstated.pop(account, None)

    def _review(self, review: dict[str, Any], effective_at: datetime) -> None:
        """A release makes the payment's held lines payable from now; a void voids
        every line of the payment (its own clawback line too): never stated."""
        if review["decision"] == "release":
            for line in self._by_payment.get(review["payment_id"], ()):
                if line.held == ON_HOLD:
                    line.held, line.payable_at = PAYABLE, effective_at
            return
        for line in self._by_payment.pop(review["payment_id"], ()):
            account = (line.partner_id, line.currency)
            lines = self.unstated[account]
            lines.pop((line.position, line.seq), None)
            if not lines:
                del self.unstated[account]  # as ``_state`` does: no account is left with nothing to state


def _signed_minor(amount: Decimal, currency: str, bucket: str) -> Decimal:
    """The signed amount as the journal keeps it: whole minor units of the currency."""
    return from_minor(to_minor(amount, currency), currency) * COMMISSION_SIGN[bucket]


def _utc(moment: datetime) -> datetime:
    """A time as the journal keeps it: in UTC (``timezone.utc``)."""
    if moment.utcoffset() == _UTC_OFFSET:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
