"""What the listings filter on that no other read model keeps: each partner's level
history (levels are effective-dated, so "Gold on 2025-06-30" is a range lookup) and the
commission held for review, one row per held payment until an admin decides."""

from __future__ import annotations

from typing import Any

from events.partner import ApplicationApproved, LevelChanged
from events.revenue import CommissionReviewed, PaymentRecorded, PaymentReversed
from ledger.aggregate import Envelope
from projections.columns import to_minor, ts
from projections.runner import Tables, View


class ListingsView(View):
    TOPICS = frozenset(e.TOPIC for e in (ApplicationApproved, LevelChanged, PaymentRecorded, PaymentReversed, CommissionReviewed))
    name = "listings"
    TABLES = ("partner_levels", "holds")

    def __init__(self) -> None:
        self._levels: list[tuple[Any, ...]] = []  # per batch: level changes, written at once

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.partner_levels} (position BIGINT PRIMARY KEY,"
            " partner_id TEXT NOT NULL, effective_at TEXT NOT NULL, level TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t.partner_levels}_partner ON {t.partner_levels} (partner_id, effective_at)",
            f"CREATE TABLE IF NOT EXISTS {t.holds} (payment_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL,"
            " customer_id TEXT NOT NULL, currency TEXT NOT NULL, amount_minor BIGINT NOT NULL,"
            " since TEXT NOT NULL, reason TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t.holds}_since ON {t.holds} (since, payment_id)",
        ]

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        if isinstance(event, ApplicationApproved | LevelChanged):
            self._levels.append((position, event.partner_id, ts(envelope.effective_at), event.level))
        # Holds are rare (self-referrals): written as they come.
        elif isinstance(event, PaymentRecorded):
            earning = event.earning
            if earning.hold_reason is not None and earning.partner_id is not None and earning.kind == "commission":
                cursor.execute(
                    f"INSERT INTO {t.holds} VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (event.payment_id, earning.partner_id, event.customer_id, event.currency,
                     to_minor(earning.amount, event.currency), ts(envelope.effective_at), earning.hold_reason),
                )
        elif isinstance(event, PaymentReversed) and event.on_hold:
            # What stays on hold is the commission less what refunds already took back.
            cursor.execute(
                f"UPDATE {t.holds} SET amount_minor = amount_minor - %s WHERE payment_id = %s",
                (to_minor(event.clawback, event.currency), event.payment_id),
            )
        elif isinstance(event, CommissionReviewed):
            cursor.execute(f"DELETE FROM {t.holds} WHERE payment_id = %s", (event.payment_id,))

    def discard(self) -> None:
        self._levels = []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.partner_levels, self._levels)
        self._levels = []
