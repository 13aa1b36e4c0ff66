"""The audit trail: every event with its times, actor, source and effect on money."""

from __future__ import annotations

import json
from typing import Any

from events.customer import ClaimRejected, CustomerClaimed
from events.receipt import CommandAccepted
from events.wire import public_payload
from ledger.aggregate import Envelope
from projections.columns import ts
from projections.money import money_lines
from projections.runner import Tables, View


class AuditView(View):
    name = "audit"
    TABLES = ("audit",)

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._partner_of: dict[str, str] = {}  # attributions never change: safe to remember

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.audit} ("
            " position BIGINT PRIMARY KEY, event_id TEXT NOT NULL, event_type TEXT NOT NULL,"
            " partner_id TEXT, customer_id TEXT, effective_at TEXT NOT NULL, recorded_at TEXT NOT NULL,"
            " actor TEXT NOT NULL, source TEXT NOT NULL, correlation_id TEXT NOT NULL,"
            " money TEXT NOT NULL, details TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t.audit}_partner ON {t.audit} (partner_id, position)",
            f"CREATE INDEX IF NOT EXISTS {t.audit}_customer ON {t.audit} (customer_id, position)",
        ]

    def wants(self, topic: str) -> bool:
        return topic != CommandAccepted.TOPIC  # idempotency receipts are bookkeeping, not business facts

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        fields = event.model_dump(mode="json")
        customer_id = fields.get("customer_id")
        if isinstance(event, CustomerClaimed):
            self._partner_of[event.customer_id] = event.partner_id
        partner_id = fields.get("partner_id") or (fields.get("earning") or {}).get("partner_id")
        if partner_id is None and customer_id is not None:
            partner_id = self._attributed_partner(cursor, t, customer_id)
        money = [
            {"bucket": line.bucket, "kind": line.kind, "amount": str(line.amount), "currency": line.currency}
            for line in money_lines(event)
        ]
        details = public_payload(fields)  # the same privacy rule as Kafka's
        if isinstance(event, ClaimRejected):
            details["rejected"] = True
        meta = envelope.meta
        self._rows.append((
            position, str(envelope.event_id), event.TOPIC, partner_id, customer_id,
            ts(envelope.effective_at), ts(envelope.recorded_at), meta.actor, meta.source,
            meta.correlation_id, json.dumps(money), json.dumps(details, sort_keys=True),
        ))

    def discard(self) -> None:
        self._rows = []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.audit, self._rows)
        self._rows = []

    def _attributed_partner(self, cursor: Any, t: Tables, customer_id: str) -> str | None:
        if customer_id not in self._partner_of:
            cursor.execute(f"SELECT partner_id FROM {t.customers} WHERE customer_id = %s", (customer_id,))
            row = cursor.fetchone()
            if row is None or row[0] is None:
                return None
            self._partner_of[customer_id] = row[0]
        return self._partner_of[customer_id]

