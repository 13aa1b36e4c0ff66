"""The money journal: one row per money line, the source of balances and statements.

A line's ``held`` state: 0 payable when due, 1 on hold for review (with every
reversal of the same payment), 2 void (never stated). ``statement_id`` marks the
statement a line went into, so no line is ever stated twice.
"""

from __future__ import annotations

from typing import Any

from events.revenue import CommissionReviewed
from events.statement import StatementIssued
from ledger.aggregate import Envelope
from projections.columns import to_minor, ts
from projections.money import MONEY_TOPICS, money_lines
from projections.runner import Tables, View

PAYABLE, ON_HOLD, VOID = 0, 1, 2


class LinesView(View):
    TOPICS = MONEY_TOPICS
    name = "lines"
    TABLES = ("lines",)

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.lines} ("
            " position BIGINT NOT NULL, seq INTEGER NOT NULL,"
            " partner_id TEXT NOT NULL, currency TEXT NOT NULL, bucket TEXT NOT NULL, kind TEXT NOT NULL,"
            " amount_minor BIGINT NOT NULL, source_id TEXT NOT NULL, payment_id TEXT,"
            " effective_at TEXT NOT NULL, recorded_at TEXT NOT NULL, payable_at TEXT, held INTEGER NOT NULL,"
            " statement_id TEXT, PRIMARY KEY (position, seq))",
            f"CREATE INDEX IF NOT EXISTS {t.lines}_partner ON {t.lines} (partner_id, effective_at)",
            f"CREATE INDEX IF NOT EXISTS {t.lines}_payment ON {t.lines} (payment_id)",
        ]

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        for seq, line in enumerate(money_lines(event)):
            held = ON_HOLD if line.held else PAYABLE
            self._rows.append((
                position, seq, line.partner_id, line.currency, line.bucket, line.kind,
                to_minor(line.amount, line.currency), line.source_id, line.payment_id,
                ts(envelope.effective_at), ts(envelope.recorded_at),
                ts(line.payable_at) if line.payable_at else None, held, None,
            ))
        if isinstance(event, CommissionReviewed | StatementIssued):
            self.flush(cursor, t)  # updates below must see every line inserted before them
        if isinstance(event, CommissionReviewed):
            self._review(cursor, t, event, ts(envelope.effective_at))
        elif isinstance(event, StatementIssued):
            cursor.executemany(
                f"UPDATE {t.lines} SET statement_id = %s WHERE position = %s AND seq = %s",
                [(event.statement_id, *(int(part) for part in line.line_key.split(":"))) for line in event.lines],
            )

    def discard(self) -> None:
        self._rows = []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.lines, self._rows)
        self._rows = []

    @staticmethod
    def _review(cursor: Any, t: Tables, event: CommissionReviewed, when: str) -> None:
        if event.decision == "release":
            cursor.execute(
                f"UPDATE {t.lines} SET held = %s, payable_at = %s WHERE payment_id = %s AND held = %s",
                (PAYABLE, when, event.payment_id, ON_HOLD),
            )
        else:
            cursor.execute(f"UPDATE {t.lines} SET held = %s WHERE payment_id = %s", (VOID, event.payment_id))
