"""Partner status on a date: locked, active or at risk (informational only: status
never changes payouts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from events.program import StatusTerms
from ledger.calendar import add_months, add_years, end_of_day


@dataclass(frozen=True)
class Lock:
    """A lock that applies or applied: until when, why, and whether it is in force."""

    until: datetime
    because: str
    in_force: bool

    def as_dict(self) -> dict[str, object]:
        return {"until": self.until.isoformat(), "because": self.because, "in_force": self.in_force}


@dataclass(frozen=True)
class Status:
    status: str  # "active" | "at_risk" | "locked"
    onboarded_total: int
    onboarded_in_window: int
    average_per_year: Decimal
    locked_until: datetime | None  # the lock in force on the date; None once it has ended
    locks: tuple[Lock, ...] = ()  # every lock reached by the date, ended ones included
    # The program's own rules the figures were measured against (its terms on the date).
    target_per_year: int | None = None  # None: the program sets no target, nobody is at risk
    window_months: int = 24
    lock_threshold: int | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "onboarded_total": self.onboarded_total,
            "onboarded_in_window": self.onboarded_in_window,
            "average_per_year": str(self.average_per_year),
            "locked_until": self.locked_until.isoformat() if self.locked_until else None,
            "locks": [lock.as_dict() for lock in self.locks],
            "target_per_year": self.target_per_year,
            "window_months": self.window_months,
            "lock_threshold": self.lock_threshold,
        }


def partner_status(
    *,
    on: datetime,
    approved_at: datetime | None,
    onboarded: Sequence[datetime],
    terms: StatusTerms,
    active_until: date | None,
) -> Status:
    """``onboarded``: the onboarding date of each of the partner's customers (any order)."""
    dates = sorted(d for d in onboarded if d <= on)
    window_start = add_months(on, -terms.window_months)
    in_window = sum(1 for d in dates if d > window_start)
    average = (Decimal(in_window) / _years_observed(on, approved_at, window_start, terms)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    locks = _locks(dates, terms, active_until, on)
    locked_until = max((lock.until for lock in locks if lock.in_force), default=None)
    if locked_until is not None:
        state = "locked"
    elif terms.target_per_year is None or average >= terms.target_per_year:
        state = "active"
    else:
        state = "at_risk"
    return Status(state, len(dates), in_window, average, locked_until, locks,
                  terms.target_per_year, terms.window_months, terms.lock_threshold)


def _years_observed(on: datetime, approved_at: datetime | None, window_start: datetime, terms: StatusTerms) -> Decimal:
    """The whole window, or the tenure of a younger partner counted as at least a year."""
    if approved_at is None or approved_at <= window_start:
        return Decimal(terms.window_months) / 12
    tenure_days = Decimal((on - approved_at).total_seconds()) / 86400
    return max(tenure_days / Decimal("365.25"), Decimal(1))


def _locks(dates: Sequence[datetime], terms: StatusTerms, active_until: date | None, on: datetime) -> tuple[Lock, ...]:
    """The threshold lock (once reached) and an admin's "active until"; the status is
    locked while either is in force."""
    locks = []
    if terms.lock_threshold is not None and len(dates) >= terms.lock_threshold:
        reached = dates[terms.lock_threshold - 1]
        until = add_years(reached, terms.lock_years)
        because = f"{terms.lock_threshold} customers onboarded by {reached.date().isoformat()}: locked {terms.lock_years} years"
        locks.append(Lock(until, because, on <= until))
    if active_until is not None:
        until = end_of_day(active_until)
        locks.append(Lock(until, "an admin set the partner active until this date", on <= until))
    return tuple(locks)
