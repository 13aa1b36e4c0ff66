"""The audit trail: every event with its times, actor, source and effect on money."""

from __future__ import annotations

from typing import Any

import orjson

from events.customer import ClaimRejected, CustomerClaimed
from events.receipt import CommandAccepted
from events.wire import public_json
from projections.money import record_lines
from projections.record import Record
from projections.runner import Tables, View

_CLAIMED, _REJECTED = CustomerClaimed.TOPIC, ClaimRejected.TOPIC


class AuditView(View):
    name = "audit"
    TABLES = ("audit",)

    def __init__(self) -> None:
        self._rows: list[list[Any]] = []
        # Per batch: customers claimed so far, and rows that name only a customer
        # claimed before the batch (or never), resolved at flush in one query.
        self._claimed: dict[str, str] = {}
        self._unresolved: list[list[Any]] = []

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
        return topic != CommandAccepted.TOPIC  # legacy idempotency receipts are bookkeeping, not business facts

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p = record.payload
        customer_id = p.get("customer_id")
        if record.topic == _CLAIMED:
            self._claimed[p["customer_id"]] = p["partner_id"]
        partner_id = p.get("partner_id") or (p.get("earning") or {}).get("partner_id")
        if partner_id is None and customer_id is not None:
            partner_id = self._claimed.get(customer_id)
        lines = record_lines(record)
        money = orjson.dumps([
            {"bucket": line.bucket, "kind": line.kind, "amount": str(line.amount), "currency": line.currency}
            for line in lines
        ]).decode() if lines else "[]"
        # The bytes the store wrote, as they are (readers parse them), without private
        # fields by the same rule as Kafka's.
        details = public_json(record.payload_json, record.topic)
        if record.topic == _REJECTED:
            details = orjson.dumps({**orjson.loads(details), "rejected": True}, option=orjson.OPT_SORT_KEYS)
        row = [
            position, record.event_id_text, record.topic, partner_id, customer_id, record.effective_at,
            record.recorded_at, record.actor, record.source, record.correlation_id, money, details.decode(),
        ]
        self._rows.append(row)
        if partner_id is None and customer_id is not None:
            self._unresolved.append(row)

    def discard(self) -> None:
        self._rows, self._unresolved, self._claimed = [], [], {}

    def flush(self, cursor: Any, t: Tables) -> None:
        self._resolve_partners(cursor, t)
        cursor.insert_many(t.audit, self._rows)
        self.discard()

    def _resolve_partners(self, cursor: Any, t: Tables) -> None:
        """The partner of rows that name only a customer: the customer's attribution,
        if it came before the row. A claim in this batch came after any such row
        (else the row would have it); attributions never change, so a claim from an
        earlier batch is the one in the customers view."""
        earlier = sorted({row[4] for row in self._unresolved if row[4] not in self._claimed})
        partner_of: dict[str, str] = {}
        for start in range(0, len(earlier), 500):
            chunk = earlier[start : start + 500]
            cursor.execute(
                f"SELECT customer_id, partner_id FROM {t.customers} WHERE partner_id IS NOT NULL"
                f" AND customer_id IN ({', '.join('%s' for _ in chunk)})",
                chunk,
            )
            partner_of.update((customer_id, partner_id) for customer_id, partner_id in cursor.fetchall())
        for row in self._unresolved:
            if row[4] not in self._claimed:
                row[3] = partner_of.get(row[4])

