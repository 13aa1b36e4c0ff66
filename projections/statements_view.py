"""Issued statements, exactly as issued (they are never rewritten), and the releases
that later made a carried-forward balance due (``statement_releases``)."""

from __future__ import annotations

from typing import Any

import orjson

from events.statement import StatementIssued, StatementReleased
from projections.columns import to_minor
from projections.record import Record, amount, iso_text
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

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p = record.payload
        if record.topic == StatementReleased.TOPIC:
            self._releases.append((
                position, p["statement_id"], p["partner_id"], p["currency"], record.effective_at,
                record.recorded_at, to_minor(amount(p["due"]), p["currency"]), p["because"],
            ))
            return
        if record.topic != StatementIssued.TOPIC:
            return
        due = amount(p["due"])
        document = {
            "statement_id": p["statement_id"],
            "partner_id": p["partner_id"],
            "period": p["period"],
            "currency": p["currency"],
            "issued_at": iso_text(record.recorded_at),
            "opening": str(amount(p["opening"])),
            "lines": [
                {"kind": line["kind"], "amount": str(amount(line["amount"])), "effective_at": iso_text(line["effective_at"]),
                 "source_id": line["source_id"]}
                for line in p["lines"]
            ],
            "closing": str(amount(p["closing"])),
            "due": str(due),
        }
        if p.get("carried_forward_because"):
            document["carried_forward_because"] = p["carried_forward_because"]
        self._rows.append((
            p["statement_id"], position, p["program_id"], p["partner_id"], p["currency"], p["period"],
            record.effective_at, record.recorded_at, to_minor(due, p["currency"]), orjson.dumps(document).decode(),
        ))
