"""Every event's effect on money (``ledger.money_lines``, where the books a month close
states from make theirs too), as the read models keep it: a payable time as column
text."""

from __future__ import annotations

from events.base import Event
from ledger.money_lines import (
    ADJUSTED,
    CLAWED_BACK,
    COMMISSION_SIGN,
    DEDUCTED,
    DISCOUNT,
    EARNED,
    MONEY_TOPICS,
    PAID,
    STATEMENT_BUCKETS,
    MoneyLine,
    lines_of,
)
from projections.record import Record, ts_text

__all__ = [
    "ADJUSTED", "CLAWED_BACK", "COMMISSION_SIGN", "DEDUCTED", "DISCOUNT", "DUE", "EARNED", "MONEY_TOPICS", "PAID",
    "STATEMENT_BUCKETS", "MoneyLine", "money_lines", "record_lines",
]

DUE = "due"  # not a money line: the latest statement's due less payouts since


def record_lines(record: Record) -> list[MoneyLine[str]]:
    """The money lines of a record, worked out once for every view that reads them
    (a payable time as column text, ``projections.columns.ts``)."""
    lines = record.money
    if lines is None:
        lines = record.money = lines_of(record.topic, record.payload, ts_text) if record.topic in MONEY_TOPICS else []
    return lines


def money_lines(event: Event) -> list[MoneyLine[str]]:
    """The money lines of a catalogue event (what-if analysis; the views read records)."""
    return lines_of(event.TOPIC, event.model_dump(mode="json"), ts_text)
