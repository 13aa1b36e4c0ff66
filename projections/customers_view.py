"""Customers and their attribution: who onboarded whom, and when (business time and
the time the ledger knew it), for partner status."""

from __future__ import annotations

from typing import Any

from events.customer import CustomerClaimed, CustomerSignedUp, DoNotContactSet
from ledger.aggregate import Envelope
from projections.columns import ts
from projections.runner import Tables, View


class CustomersView(View):
    name = "customers"
    TABLES = ("customers",)

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.customers} ("
            " customer_id TEXT PRIMARY KEY, partner_id TEXT, channel TEXT,"
            " signed_up_at TEXT, signed_up_known TEXT, attributed_at TEXT, attributed_known TEXT,"
            " onboarded_at TEXT, onboarded_known TEXT, do_not_contact INTEGER NOT NULL DEFAULT 0)",
            f"CREATE INDEX IF NOT EXISTS {t.customers}_partner ON {t.customers} (partner_id, onboarded_at)",
        ]

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        when, known = ts(envelope.effective_at), ts(envelope.recorded_at)
        if isinstance(event, CustomerSignedUp):
            self._upsert(cursor, t, event.customer_id, {"signed_up_at": when, "signed_up_known": known})
        elif isinstance(event, CustomerClaimed):
            self._upsert(cursor, t, event.customer_id, {
                "partner_id": event.partner_id, "channel": event.channel, "attributed_at": when, "attributed_known": known,
            })
        elif isinstance(event, DoNotContactSet):
            cursor.execute(
                f"UPDATE {t.customers} SET do_not_contact = %s WHERE customer_id = %s", (int(event.value), event.customer_id)
            )

    @staticmethod
    def _upsert(cursor: Any, t: Tables, customer_id: str, values: dict[str, str]) -> None:
        """Insert or update, and derive onboarding in the same statement: onboarded once
        signed up and attributed, at the later date, known when both were."""
        columns = ", ".join(values)
        marks = ", ".join("%s" for _ in values)
        updates = ", ".join(f"{column} = excluded.{column}" for column in values)
        cursor.execute(
            f"INSERT INTO {t.customers} AS c (customer_id, {columns}) VALUES (%s, {marks})"
            f" ON CONFLICT (customer_id) DO UPDATE SET {updates}",
            (customer_id, *values.values()),
        )
        cursor.execute(
            f"UPDATE {t.customers} SET"
            " onboarded_at = CASE WHEN signed_up_at > attributed_at THEN signed_up_at ELSE attributed_at END,"
            " onboarded_known = CASE WHEN signed_up_known > attributed_known THEN signed_up_known ELSE attributed_known END"
            " WHERE customer_id = %s AND signed_up_at IS NOT NULL AND attributed_at IS NOT NULL",
            (customer_id,),
        )
