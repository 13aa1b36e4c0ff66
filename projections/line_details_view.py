"""What each money line is about, for statements and the customers table: the payment
and customer, the base it was earned on and the rate (``line_details``).

One row per payment that earned something (``payment``), per reversal of one
(``reversal``: its payment; the customer, rate and base are the payment's) and per cost
deducted (``cost``: the cost's customer, amount and rate). Adjustments are about no
customer. Statements and listings join it when they are read."""

from __future__ import annotations

from typing import Any

from events.revenue import CostRecorded, PaymentRecorded, PaymentReversed
from projections.columns import to_minor
from projections.record import Record, amount
from projections.runner import Tables, View


class LineDetailsView(View):
    TOPICS = frozenset({PaymentRecorded.TOPIC, PaymentReversed.TOPIC, CostRecorded.TOPIC})
    name = "line_details"
    TABLES = ("line_details",)

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.line_details} ("
            " source_id TEXT NOT NULL, source TEXT NOT NULL, payment_id TEXT, customer_id TEXT, partner_id TEXT NOT NULL,"
            " currency TEXT NOT NULL, base_minor BIGINT, rate TEXT, PRIMARY KEY (source_id, source))",
            f"CREATE INDEX IF NOT EXISTS {t.line_details}_customer ON {t.line_details} (partner_id, customer_id)",
        ]

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p, topic = record.payload, record.topic
        if topic == PaymentRecorded.TOPIC:
            earning = p["earning"]
            if earning.get("partner_id") and earning["kind"] != "none":
                self._rows.append((p["payment_id"], "payment", p["payment_id"], p["customer_id"], earning["partner_id"],
                                   p["currency"], to_minor(amount(earning.get("base", "0")), p["currency"]),
                                   str(amount(earning.get("rate", "0")))))
        elif topic == PaymentReversed.TOPIC:
            if p.get("partner_id"):
                self._rows.append((p["reversal_id"], "reversal", p["payment_id"], None, p["partner_id"], p["currency"],
                                   None, None))
        elif topic == CostRecorded.TOPIC and p.get("partner_id") and amount(p["deduction"]):
            self._rows.append((p["cost_id"], "cost", None, p["customer_id"], p["partner_id"], p["currency"],
                               to_minor(amount(p["amount"]), p["currency"]), str(amount(p["rate"]))))

    def discard(self) -> None:
        self._rows = []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.line_details, self._rows)
        self._rows = []


# Which detail row a statement line's kind reads (by its ``source_id``).
SOURCE_OF_KIND = {"commission": "payment", "void": "payment", "refund": "reversal", "chargeback": "reversal",
                  "cost_deduction": "cost"}
