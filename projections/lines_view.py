"""The money journal: one row per money line, the source of balances and statements.

A line's ``held`` state: 0 payable when due, 1 on hold for review (with every
reversal of the same payment), 2 void (never stated). ``statement_id`` marks the
statement a line went into, so no line is ever stated twice.
"""

from __future__ import annotations

from typing import Any

from events.revenue import CommissionReviewed
from events.statement import StatementIssued
from ledger.money_lines import ON_HOLD, PAYABLE, VOID
from projections.columns import to_minor
from projections.money import MONEY_TOPICS, record_lines
from projections.record import Record
from projections.runner import Tables, View

_PAYABLE_AT, _HELD, _STATEMENT = 11, 12, 13  # columns a review or a statement changes
_REVIEWED, _ISSUED = CommissionReviewed.TOPIC, StatementIssued.TOPIC


class LinesView(View):
    TOPICS = MONEY_TOPICS
    name = "lines"
    TABLES = ("lines",)

    def __init__(self) -> None:
        # Per batch: new rows by key (a statement or review in the same batch changes
        # them before they are written), new rows by payment, and the changes to rows
        # of earlier batches, written at flush.
        self._rows: dict[tuple[int, int], list[Any]] = {}
        self._by_payment: dict[str, list[list[Any]]] = {}
        self._stated: list[tuple[str, int, int]] = []
        self._reviews: list[tuple[str, str, str]] = []

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

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        for seq, line in enumerate(record_lines(record)):
            row = [
                position, seq, line.partner_id, line.currency, line.bucket, line.kind,
                to_minor(line.amount, line.currency), line.source_id, line.payment_id,
                record.effective_at, record.recorded_at, line.payable_at, ON_HOLD if line.held else PAYABLE, None,
            ]
            self._rows[(position, seq)] = row
            if line.payment_id is not None:
                self._by_payment.setdefault(line.payment_id, []).append(row)
        if record.topic == _REVIEWED:
            self._review(record.payload["decision"], record.payload["payment_id"], record.effective_at)
        elif record.topic == _ISSUED:
            self._state(record.payload)

    def _review(self, decision: str, payment_id: str, when: str) -> None:
        for row in self._by_payment.get(payment_id, ()):
            if decision != "release":
                row[_HELD] = VOID
            elif row[_HELD] == ON_HOLD:
                row[_HELD], row[_PAYABLE_AT] = PAYABLE, when
        self._reviews.append((decision, payment_id, when))

    def _state(self, statement: dict[str, Any]) -> None:
        statement_id = statement["statement_id"]
        for line in statement["lines"]:
            position, seq = (int(part) for part in line["line_key"].split(":"))
            row = self._rows.get((position, seq))
            if row is not None:
                row[_STATEMENT] = statement_id
            else:
                self._stated.append((statement_id, position, seq))

    def discard(self) -> None:
        self._rows, self._by_payment, self._stated, self._reviews = {}, {}, [], []

    def flush(self, cursor: Any, t: Tables) -> None:
        """Earlier batches' rows first (the batch's own rows already carry what
        changed them), then the batch's rows, appended at once."""
        for decision, payment_id, when in self._reviews:
            if decision == "release":
                cursor.execute(
                    f"UPDATE {t.lines} SET held = %s, payable_at = %s WHERE payment_id = %s AND held = %s",
                    (PAYABLE, when, payment_id, ON_HOLD),
                )
            else:
                cursor.execute(f"UPDATE {t.lines} SET held = %s WHERE payment_id = %s", (VOID, payment_id))
        cursor.execute_values(  # one statement per page of lines, not one per line
            f"UPDATE {t.lines} SET statement_id = v.column1 FROM (VALUES ...) AS v"
            f" WHERE {t.lines}.position = v.column2 AND {t.lines}.seq = v.column3",
            self._stated,
        )
        cursor.insert_many(t.lines, list(self._rows.values()))
        self.discard()
