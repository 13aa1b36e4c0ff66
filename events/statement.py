"""Month close, statements and payouts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from events.base import Event


class PeriodClosed(Event):
    """Recorded on the program: a period closes once, after the one before it."""

    TOPIC = "program.period_closed"
    program_id: str
    period: str
    statement_ids: list[str]


class StatementLine(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    amount: Decimal  # signed effect on the balance
    effective_at: datetime
    source_id: str
    line_key: str  # "<log position>:<seq>", the money line this is


class StatementIssued(Event):
    TOPIC = "statement.issued"
    statement_id: str
    program_id: str
    partner_id: str
    currency: str
    period: str
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal
    due: Decimal
    # Why nothing is due, when nothing is (below minimum, tax form missing, ...).
    carried_forward_because: list[str] = []


class StatementReleased(Event):
    """A statement's balance, carried forward only for want of paperwork the partner has
    since handed in, becomes due without waiting for the next month close."""

    TOPIC = "statement.released"
    statement_id: str
    partner_id: str
    currency: str
    period: str
    due: Decimal
    because: str


class PayoutRecorded(Event):
    TOPIC = "payout.recorded"
    payout_id: str
    partner_id: str
    amount: Decimal
    currency: str
    statement_ids: list[str]


class PayoutRequested(Event):
    """A partner asked to be paid what is due (finance's payout request queue); a payout
    recorded for the partner in that currency settles it."""

    TOPIC = "payout.requested"
    partner_id: str
    currency: str
    amount: Decimal
    statement_id: str  # the latest statement, the one a payout would be recorded against
