"""Customers and their attribution: who onboarded whom, and when (business time and
the time the ledger knew it), for partner status."""

from __future__ import annotations

from typing import Any

from events.customer import CustomerClaimed, CustomerSignedUp, DoNotContactSet
from projections.record import Record
from projections.runner import Tables, View

_COLUMNS = ("partner_id", "channel", "signed_up_at", "signed_up_known", "attributed_at", "attributed_known")


class CustomersView(View):
    TOPICS = frozenset(e.TOPIC for e in (CustomerSignedUp, CustomerClaimed, DoNotContactSet))
    name = "customers"
    TABLES = ("customers",)

    def __init__(self) -> None:
        self._changes: dict[str, dict[str, Any]] = {}  # per batch: customer -> columns set

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.customers} ("
            " customer_id TEXT PRIMARY KEY, partner_id TEXT, channel TEXT,"
            " signed_up_at TEXT, signed_up_known TEXT, attributed_at TEXT, attributed_known TEXT,"
            " onboarded_at TEXT, onboarded_known TEXT, do_not_contact INTEGER)",
            f"CREATE INDEX IF NOT EXISTS {t.customers}_partner ON {t.customers} (partner_id, onboarded_at)",
        ]

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p, when, known = record.payload, record.effective_at, record.recorded_at
        if record.topic == CustomerSignedUp.TOPIC:
            self._set(p["customer_id"], signed_up_at=when, signed_up_known=known)
        elif record.topic == CustomerClaimed.TOPIC:
            self._set(p["customer_id"], partner_id=p["partner_id"], channel=p["channel"],
                      attributed_at=when, attributed_known=known)
        elif record.topic == DoNotContactSet.TOPIC:
            self._set(p["customer_id"], do_not_contact=int(p["value"]))

    def _set(self, customer_id: str, **columns: Any) -> None:
        self._changes.setdefault(customer_id, {}).update(columns)

    def discard(self) -> None:
        self._changes = {}

    def flush(self, cursor: Any, t: Tables) -> None:
        """Upsert every customer the batch touched, then derive onboarding: onboarded
        once signed up and attributed, at the later date, known when both were."""
        if not self._changes:
            return
        columns = (*_COLUMNS, "do_not_contact")
        updates = ", ".join(f"{c} = COALESCE(excluded.{c}, {t.customers}.{c})" for c in columns)
        cursor.execute_values(
            f"INSERT INTO {t.customers} (customer_id, {', '.join(columns)}) VALUES ..."
            f" ON CONFLICT (customer_id) DO UPDATE SET {updates}",
            [(customer_id, *(change.get(c) for c in columns)) for customer_id, change in self._changes.items()],
        )
        cursor.execute_values(
            f"UPDATE {t.customers} SET"
            " onboarded_at = CASE WHEN signed_up_at > attributed_at THEN signed_up_at ELSE attributed_at END,"
            " onboarded_known = CASE WHEN signed_up_known > attributed_known THEN signed_up_known ELSE attributed_known END"
            " WHERE signed_up_at IS NOT NULL AND attributed_at IS NOT NULL AND customer_id IN (SELECT * FROM (VALUES ...) AS v)",
            [(customer_id,) for customer_id in self._changes],
        )
        self._changes = {}
