"""Calendar arithmetic on aware datetimes (UTC)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months later (clamped to month end)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def add_years(moment: datetime, years: int) -> datetime:
    return add_months(moment, 12 * years)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC)


def month_end(period: str) -> datetime:
    """The last instant of a ``YYYY-MM`` period."""
    year, month = (int(part) for part in period.split("-"))
    return end_of_day(date(year, month, calendar.monthrange(year, month)[1]))


def next_period(period: str) -> str:
    """The ``YYYY-MM`` month after ``period``."""
    year, month = (int(part) for part in period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def period_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_moment(text: str) -> datetime:
    """An ISO-8601 date or date-time as given to ``as_of``, ``known_at`` and ``on``: a
    bare date means the end of that day; a time without a zone is UTC."""
    if len(text) == 10:
        return end_of_day(date.fromisoformat(text))
    return as_utc(datetime.fromisoformat(text.upper().replace("Z", "+00:00")))


def months_ended(first: str, now: datetime) -> list[str]:
    """``first`` and every month after it that has ended by ``now``, in order (empty when
    ``first`` has not ended): the months a program can close now, one after another."""
    months = []
    month = first
    while month_end(month) < now:
        months.append(month)
        month = next_period(month)
    return months
