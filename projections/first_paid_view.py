"""When each customer first paid: the "paying customers" step of a partner's funnel
(the customers view says whose customer it is and when it signed up)."""

from __future__ import annotations

from typing import Any

from events.customer import CustomerFirstPaid
from projections.record import Record, ts_text
from projections.runner import Tables, View


class FirstPaidView(View):
    TOPICS = frozenset({CustomerFirstPaid.TOPIC})
    name = "first_paid"
    TABLES = ("first_paid",)

    def __init__(self) -> None:
        self._paid: dict[str, str] = {}  # per batch: customer -> earliest payment date

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.first_paid} (customer_id TEXT PRIMARY KEY, paid_at TEXT NOT NULL)",
        ]

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        # The event is recorded only when the date moves backwards: the latest one wins.
        self._paid[record.payload["customer_id"]] = ts_text(record.payload["paid_at"])

    def discard(self) -> None:
        self._paid = {}

    def flush(self, cursor: Any, t: Tables) -> None:
        if self._paid:
            cursor.execute_values(
                f"INSERT INTO {t.first_paid} (customer_id, paid_at) VALUES ..."
                " ON CONFLICT (customer_id) DO UPDATE SET paid_at = excluded.paid_at",
                list(self._paid.items()),
            )
        self._paid = {}
