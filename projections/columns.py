"""How values are stored in read-model columns, identically on SQLite and PostgreSQL.

Times are fixed-width UTC text (so text order is time order); amounts are integers
in the currency's minor unit (so SQL sums are exact on both databases).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache

from ledger.money import from_minor, to_minor

__all__ = ["FAR_FUTURE", "from_minor", "from_ts", "to_minor", "ts"]

_UTC_OFFSET = timedelta(0)


@lru_cache(maxsize=8192)
def ts(moment: datetime) -> str:
    """Several views write the same event's times: format each once. (A time already
    in UTC, as every stored one is, is written as it is: the same text.)"""
    if moment.utcoffset() == _UTC_OFFSET:
        return moment.isoformat(timespec="microseconds")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


FAR_FUTURE = "9999-12-31T23:59:59.999999+00:00"
