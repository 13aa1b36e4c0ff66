"""What the listings filter on that no other read model keeps: each partner's level
history (levels are effective-dated, so "Gold on 2025-06-30" is a range lookup) and the
commission held for review, one row per held payment until an admin decides."""

from __future__ import annotations

from typing import Any

from events.partner import ApplicationApproved, LevelChanged
from events.revenue import CommissionReviewed, PaymentRecorded, PaymentReversed
from projections.columns import to_minor
from projections.record import Record, amount
from projections.runner import Tables, View

_LEVELS = frozenset({ApplicationApproved.TOPIC, LevelChanged.TOPIC})


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

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p, topic = record.payload, record.topic
        if topic in _LEVELS:
            self._levels.append((position, p["partner_id"], record.effective_at, p["level"]))
        # Holds are rare (self-referrals): written as they come.
        elif topic == PaymentRecorded.TOPIC:
            earning = p["earning"]
            hold_reason = earning.get("hold_reason")
            if hold_reason is not None and earning.get("partner_id") is not None and earning["kind"] == "commission":
                cursor.execute(
                    f"INSERT INTO {t.holds} VALUES (%s, %s, %s, %s, %s, %s, %s)",
                    (p["payment_id"], earning["partner_id"], p["customer_id"], p["currency"],
                     to_minor(amount(earning.get("amount", "0")), p["currency"]), record.effective_at, hold_reason),
                )
        elif topic == PaymentReversed.TOPIC and p.get("on_hold", False):
            # What stays on hold is the commission less what refunds already took back.
            cursor.execute(
                f"UPDATE {t.holds} SET amount_minor = amount_minor - %s WHERE payment_id = %s",
                (to_minor(amount(p["clawback"]), p["currency"]), p["payment_id"]),
            )
        elif topic == CommissionReviewed.TOPIC:
            cursor.execute(f"DELETE FROM {t.holds} WHERE payment_id = %s", (p["payment_id"],))

    def discard(self) -> None:
        self._levels = []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.partner_levels, self._levels)
        self._levels = []
