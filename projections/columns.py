"""How values are stored in read-model columns, identically on SQLite and PostgreSQL.

Times are fixed-width UTC text (so text order is time order); amounts are integers
in the currency's minor unit (so SQL sums are exact on both databases).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from ledger.money import minor_unit

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


def to_minor(amount: Decimal, currency: str) -> int:
    return int(amount / minor_unit(currency))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(int(units)) * minor_unit(currency)


FAR_FUTURE = "9999-12-31T23:59:59.999999+00:00"
