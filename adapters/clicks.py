"""Clicks on partners' referral links, counted per link and day in a table of their own.

A click is not a business fact (nothing is owed for it, it is not audited, a visitor
may click twice), so it is not an event: recording one per visit would flood the log
and Kafka. One row per link and day, incremented in place, is all the funnel needs.
"""

from __future__ import annotations

from datetime import date

from adapters.database import Database

CLICKS_TABLE = "ledger_referral_clicks"


class ClickCounter:
    def __init__(self, db: Database) -> None:
        self.db = db
        with db.schema_change() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {CLICKS_TABLE} (link TEXT NOT NULL, day TEXT NOT NULL,"
                " clicks BIGINT NOT NULL, PRIMARY KEY (link, day))"
            )

    def count(self, link: str, day: date) -> None:
        """One more click on ``link`` on ``day`` (concurrent clicks each count: the
        upsert adds under the row's lock)."""
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"INSERT INTO {CLICKS_TABLE} (link, day, clicks) VALUES (%s, %s, 1)"
                f" ON CONFLICT (link, day) DO UPDATE SET clicks = {CLICKS_TABLE}.clicks + 1",
                (link, day.isoformat()),
            )

    def per_month(self, link: str, first_day: date, last_day: date) -> dict[str, int]:
        """Clicks on ``link`` per month (``YYYY-MM``) between two days, both included."""
        rows = self.db.fetch_all(
            f"SELECT SUBSTR(day, 1, 7), SUM(clicks) FROM {CLICKS_TABLE} WHERE link = %s AND day >= %s AND day <= %s"
            " GROUP BY SUBSTR(day, 1, 7)",
            (link, first_day.isoformat(), last_day.isoformat()),
        )
        return {month: int(total) for month, total in rows}
