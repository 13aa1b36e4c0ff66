"""Issued statements, exactly as issued (they are never rewritten), and the releases
that later made a carried-forward balance due (``statement_releases``)."""

from __future__ import annotations

import json
from typing import Any

from events.statement import StatementIssued, StatementReleased
from ledger.aggregate import Envelope
from projections.columns import to_minor, ts
from projections.runner import Tables, View


class StatementsView(View):
    TOPICS = frozenset({StatementIssued.TOPIC, StatementReleased.TOPIC})
    name = "statements"
    TABLES = ("statements", "statement_releases")

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.statements} ("
            " statement_id TEXT PRIMARY KEY, position BIGINT NOT NULL, program_id TEXT NOT NULL,"
            " partner_id TEXT NOT NULL, currency TEXT NOT NULL, period TEXT NOT NULL,"
            " effective_at TEXT NOT NULL, recorded_at TEXT NOT NULL, due_minor BIGINT NOT NULL,"
            " document TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t.statements}_partner ON {t.statements} (partner_id, period)",
            # A month's statements, a page at a time; the latest statement of an account.
            f"CREATE INDEX IF NOT EXISTS {t.statements}_period ON {t.statements} (period, statement_id)",
            f"CREATE INDEX IF NOT EXISTS {t.statements}_account ON {t.statements} (partner_id, currency, position)",
            f"CREATE TABLE IF NOT EXISTS {t.statement_releases} ("
            " position BIGINT PRIMARY KEY, statement_id TEXT NOT NULL, partner_id TEXT NOT NULL, currency TEXT NOT NULL,"
            " effective_at TEXT NOT NULL, recorded_at TEXT NOT NULL, due_minor BIGINT NOT NULL, because TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t.statement_releases}_statement ON {t.statement_releases} (statement_id, position)",
        ]

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._releases: list[tuple[Any, ...]] = []

    def discard(self) -> None:
        self._rows, self._releases = [], []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.statements, self._rows)
        cursor.insert_many(t.statement_releases, self._releases)
        self.discard()

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        if isinstance(event, StatementReleased):
            self._releases.append((
                position, event.statement_id, event.partner_id, event.currency, ts(envelope.effective_at),
                ts(envelope.recorded_at), to_minor(event.due, event.currency), event.because,
            ))
            return
        if not isinstance(event, StatementIssued):
            return
        document = {
            "statement_id": event.statement_id,
            "partner_id": event.partner_id,
            "period": event.period,
            "currency": event.currency,
            "issued_at": envelope.recorded_at.isoformat(),
            "opening": str(event.opening),
            "lines": [
                {"kind": line.kind, "amount": str(line.amount), "effective_at": line.effective_at.isoformat(),
                 "source_id": line.source_id}
                for line in event.lines
            ],
            "closing": str(event.closing),
            "due": str(event.due),
        }
        if event.carried_forward_because:
            document["carried_forward_because"] = event.carried_forward_because
        self._rows.append((
            event.statement_id, position, event.program_id, event.partner_id, event.currency, event.period,
            ts(envelope.effective_at), ts(envelope.recorded_at), to_minor(event.due, event.currency),
            json.dumps(document),
        ))
