"""Clicks on referral links: counted per link and day in their own table, and every
click counts, also when many arrive at once (on both databases)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from adapters.clicks import ClickCounter
from adapters.database import Database

THREADS, CLICKS_EACH = 4, 25


def test_concurrent_clicks_each_count_per_link_and_day(ledger_url):
    db = Database.from_url(ledger_url)
    counter = ClickCounter(db)
    days = [date(2025, 1, 31), date(2025, 2, 1)]

    def click(thread: int) -> None:
        for n in range(CLICKS_EACH):
            counter.count("abc", days[(thread + n) % 2])
        if not db.is_postgres:
            db.close()  # this thread's own SQLite connection (PostgreSQL's pool is shared: closed at the end)

    try:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(click, range(THREADS)))
        counter.count("other", days[0])
        assert counter.per_month("abc", date(2025, 1, 1), date(2025, 2, 28)) == {"2025-01": 50, "2025-02": 50}
        assert counter.per_month("abc", date(2025, 2, 1), date(2025, 2, 28)) == {"2025-02": 50}
        assert counter.per_month("other", date(2025, 1, 1), date(2025, 12, 31)) == {"2025-01": 1}
        assert counter.per_month("nobody", date(2025, 1, 1), date(2025, 12, 31)) == {}
    finally:
        db.close()
