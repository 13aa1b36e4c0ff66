"""What each money line is about, for statements and the customers table: the payment
and customer, the base it was earned on and the rate (``line_details``).

One row per payment that earned something (``payment``), per reversal of one
(``reversal``: its payment; the customer, rate and base are the payment's) and per cost
deducted (``cost``: the cost's customer, amount and rate). Adjustments are about no
customer. Statements and listings join it when they are read."""

from __future__ import annotations

from typing import Any

from events.revenue import CostRecorded, PaymentRecorded, PaymentReversed
from ledger.aggregate import Envelope
from projections.columns import to_minor
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

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        if isinstance(event, PaymentRecorded) and event.earning.partner_id and event.earning.kind != "none":
            earning = event.earning
            self._rows.append((event.payment_id, "payment", event.payment_id, event.customer_id, earning.partner_id,
                               event.currency, to_minor(earning.base, event.currency), str(earning.rate)))
        elif isinstance(event, PaymentReversed) and event.partner_id:
            self._rows.append((event.reversal_id, "reversal", event.payment_id, None, event.partner_id, event.currency,
                               None, None))
        elif isinstance(event, CostRecorded) and event.partner_id and event.deduction:
            self._rows.append((event.cost_id, "cost", None, event.customer_id, event.partner_id, event.currency,
                               to_minor(event.amount, event.currency), str(event.rate)))

    def discard(self) -> None:
        self._rows = []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.line_details, self._rows)
        self._rows = []


# Which detail row a statement line's kind reads (by its ``source_id``).
SOURCE_OF_KIND = {"commission": "payment", "void": "payment", "refund": "reversal", "chargeback": "reversal",
                  "cost_deduction": "cost"}
