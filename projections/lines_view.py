"""The money journal: one row per money line, the source of balances and statements."""

from __future__ import annotations

from typing import Any

from ledger.aggregate import Envelope
from projections.columns import ts, to_minor
from projections.money import money_lines
from projections.runner import Tables


class LinesView:
    name = "lines"
    TABLES = ("lines",)

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.lines} ("
            " position BIGINT NOT NULL, seq INTEGER NOT NULL,"
            " partner_id TEXT NOT NULL, currency TEXT NOT NULL, bucket TEXT NOT NULL, kind TEXT NOT NULL,"
            " amount_minor BIGINT NOT NULL, source_id TEXT NOT NULL, payment_id TEXT,"
            " effective_at TEXT NOT NULL, recorded_at TEXT NOT NULL, payable_at TEXT, held INTEGER NOT NULL,"
            " PRIMARY KEY (position, seq))",
            f"CREATE INDEX IF NOT EXISTS {t.lines}_partner ON {t.lines} (partner_id, effective_at)",
        ]

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        rows = [
            (
                position, seq, line.partner_id, line.currency, line.bucket, line.kind,
                to_minor(line.amount, line.currency), line.source_id, line.payment_id,
                ts(envelope.effective_at), ts(envelope.recorded_at),
                ts(line.payable_at) if line.payable_at else None, int(line.held),
            )
            for seq, line in enumerate(money_lines(envelope.payload))
        ]
        if rows:
            cursor.executemany(
                f"INSERT INTO {t.lines} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows
            )
