"""Table-driven unit tests of partner status (ledger/status.py), on the sales-partner
status terms: 10 new customers a year over a rolling 24-month window, 50 onboarded
customers lock the status for 5 years. Pure function, no database, no I/O.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.program import StatusTerms
from ledger.presets import preset_terms
from ledger.status import Status, partner_status

TERMS = preset_terms("sales-partner").status
ON = "2026-07-01"


def at(text: str) -> datetime:
    """``2025-01-31`` or ``2025-01-31T10:30:00``, in UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def daily(count: int, first: str) -> list[datetime]:
    """``count`` onboardings, one a day from ``first``."""
    return [at(first) + timedelta(days=i) for i in range(count)]


def status(
    *, on: str = ON, approved: str | None = "2020-01-01", onboarded: Sequence[datetime] = (),
    active_until: date | None = None, terms: StatusTerms = TERMS,
) -> Status:
    return partner_status(
        on=at(on), approved_at=None if approved is None else at(approved), onboarded=onboarded,
        terms=terms, active_until=active_until,
    )


def summary(got: Status) -> tuple[str, int, int, str]:
    return got.status, got.onboarded_total, got.onboarded_in_window, str(got.average_per_year)


def test_sales_partner_status_terms() -> None:
    assert StatusTerms(target_per_year=10, window_months=24, lock_threshold=50, lock_years=5) == TERMS


# -- active / at risk -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on", "approved", "onboarded", "expected"),
    [
        # a partner older than the window: customers in the window / 2 years
        pytest.param(ON, "2020-01-01", daily(20, "2025-01-01"), ("active", 20, 20, "10.00"), id="full-window-20-is-10-a-year"),
        pytest.param(ON, "2020-01-01", daily(19, "2025-01-01"), ("at_risk", 19, 19, "9.50"), id="full-window-19-is-at-risk"),
        pytest.param(ON, "2020-01-01", daily(25, "2025-01-01"), ("active", 25, 25, "12.50"), id="full-window-25"),
        pytest.param(ON, "2020-01-01", [], ("at_risk", 0, 0, "0.00"), id="no-customers"),
        pytest.param(ON, None, daily(20, "2025-01-01"), ("active", 20, 20, "10.00"), id="no-approval-date-full-window"),
        pytest.param(ON, "2024-07-01", daily(20, "2025-01-01"), ("active", 20, 20, "10.00"), id="approved-exactly-at-window-start"),
        pytest.param(ON, "2020-01-01", daily(1, "2024-07-01") + daily(1, "2024-07-02"), ("at_risk", 2, 1, "0.50"),
                     id="window-start-instant-excluded-next-day-included"),
        # a partner younger than the window: its tenure, counted as at least 12 months
        pytest.param(ON, "2026-01-01", daily(6, "2026-02-01"), ("at_risk", 6, 6, "6.00"), id="6-months-old-6-customers"),
        pytest.param(ON, "2026-01-01", daily(10, "2026-02-01"), ("active", 10, 10, "10.00"), id="6-months-old-10-customers"),
        pytest.param(ON, "2026-01-01", daily(9, "2026-02-01"), ("at_risk", 9, 9, "9.00"), id="6-months-old-9-customers"),
        pytest.param(ON, "2025-07-01", daily(10, "2025-08-01"), ("active", 10, 10, "10.00"), id="exactly-one-year-old"),
        # 2025-01-01 .. 2026-07-01 is 546 days = 1.4949 years of 365.25 days
        pytest.param(ON, "2025-01-01", daily(15, "2025-02-01"), ("active", 15, 15, "10.03"), id="18-calendar-months-15-customers"),
        pytest.param(ON, "2025-01-01", daily(14, "2025-02-01"), ("at_risk", 14, 14, "9.37"), id="18-calendar-months-14-customers"),
        # 547 days 21 hours = exactly 1.5 years of 365.25 days: 15 / 1.5 = 10.00
        pytest.param("2026-07-02T21:00:00", "2025-01-01", daily(15, "2025-02-01"), ("active", 15, 15, "10.00"),
                     id="exactly-1.5-years-15-customers-is-target"),
        pytest.param("2026-07-02T21:00:00", "2025-01-01", daily(14, "2025-02-01"), ("at_risk", 14, 14, "9.33"),
                     id="exactly-1.5-years-14-customers"),
        # which onboardings count
        pytest.param(ON, "2020-01-01", daily(20, "2026-07-02"), ("at_risk", 0, 0, "0.00"), id="onboarded-after-on-not-counted"),
        pytest.param(ON, "2020-01-01", daily(19, "2026-06-01") + daily(5, "2026-07-01T00:00:00.000001"), ("at_risk", 19, 19, "9.50"),
                     id="a-microsecond-after-on-not-counted"),
        pytest.param(ON, "2020-01-01", [*daily(19, "2026-06-01"), at(ON)], ("active", 20, 20, "10.00"), id="onboarded-at-on-counted"),
        pytest.param(ON, "2020-01-01", daily(30, "2023-01-01") + daily(10, "2025-01-01"), ("at_risk", 40, 10, "5.00"),
                     id="older-than-24-months-outside-window"),
        pytest.param(ON, "2020-01-01", daily(10, "2024-06-20") + daily(10, "2025-01-01"), ("at_risk", 20, 10, "5.00"),
                     id="just-before-window-start-outside"),
        pytest.param(ON, "2020-01-01", daily(10, "2024-07-01T00:00:01") + daily(10, "2025-01-01"), ("active", 20, 20, "10.00"),
                     id="just-after-window-start-inside"),
        pytest.param("2026-02-28", "2020-01-01", daily(1, "2024-02-28") + daily(1, "2024-02-29"), ("at_risk", 2, 1, "0.50"),
                     id="window-from-feb28-back-24-months-starts-feb28"),
    ],
)
def test_active_or_at_risk(on: str, approved: str | None, onboarded: list[datetime], expected: tuple[str, int, int, str]) -> None:
    got = status(on=on, approved=approved, onboarded=onboarded)
    assert summary(got) == expected
    assert got.locked_until is None


def test_young_partner_customers_in_any_order() -> None:
    onboarded = daily(10, "2026-02-01")
    random.Random(7).shuffle(onboarded)
    assert summary(status(approved="2026-01-01", onboarded=onboarded)) == ("active", 10, 10, "10.00")


# -- locked ------------------------------------------------------------------------------------

# 49 customers in 2024, the 50th on 2025-03-15 (midnight): locked until 2030-03-15.
FIFTY = [*daily(49, "2024-01-01"), at("2025-03-15")]
# 49 customers from mid-2023, the 50th on leap day 2024-02-29: 5 years later clamps to 2029-02-28.
LEAP_FIFTY = [*daily(49, "2023-06-01"), at("2024-02-29")]


@pytest.mark.parametrize(
    ("on", "onboarded", "expected_status", "locked_until"),
    [
        pytest.param("2025-03-14T23:59:59", FIFTY, "active", None, id="day-before-the-50th-49-in-window-active"),
        pytest.param("2025-03-15", FIFTY, "locked", "2030-03-15", id="the-50th-locks-on-its-day"),
        pytest.param("2028-01-01", FIFTY, "locked", "2030-03-15", id="locked-with-nobody-new-in-window"),
        pytest.param("2030-03-15", FIFTY, "locked", "2030-03-15", id="locked-at-the-lock-end"),
        pytest.param("2030-03-16", FIFTY, "at_risk", "2030-03-15", id="not-locked-the-day-after"),
        pytest.param("2035-01-01", FIFTY, "at_risk", "2030-03-15", id="lock-long-over"),
        pytest.param("2025-03-15", list(reversed(FIFTY)), "locked", "2030-03-15", id="unsorted-input"),
        pytest.param("2025-03-15", FIFTY + daily(20, "2026-01-01"), "locked", "2030-03-15", id="later-customers-do-not-move-the-lock"),
        pytest.param("2025-03-15", FIFTY[:-1], "active", None, id="49-never-lock"),
        pytest.param("2027-01-01", FIFTY[:-1], "at_risk", None, id="49-never-lock-window-empty"),
        pytest.param("2025-03-15", [*FIFTY[:-1], at("2025-03-16")], "active", None, id="50th-after-on-not-yet-locked"),
        pytest.param("2025-03-01", LEAP_FIFTY, "locked", "2029-02-28", id="leap-day-50th-clamps"),
        pytest.param("2029-02-28", LEAP_FIFTY, "locked", "2029-02-28", id="leap-day-50th-lock-end"),
        pytest.param("2029-03-01", LEAP_FIFTY, "at_risk", "2029-02-28", id="leap-day-50th-after"),
    ],
)
def test_threshold_lock(on: str, onboarded: list[datetime], expected_status: str, locked_until: str | None) -> None:
    got = status(on=on, onboarded=onboarded)
    assert got.status == expected_status
    assert_lock(got, on, locked_until)


def assert_lock(got: Status, on: str, lock_end: str | None) -> None:
    """``locked_until`` is the lock in force (None once it has ended); ``locks`` keeps
    every lock reached, ended ones included."""
    end = None if lock_end is None else at(lock_end)
    assert got.locked_until == (end if got.status == "locked" else None)
    assert max((lock.until for lock in got.locks), default=None) == end
    assert all(lock.in_force == (at(on) <= lock.until) for lock in got.locks)


def test_lock_runs_from_the_50th_onboarding_time() -> None:
    onboarded = [*daily(49, "2024-01-01"), at("2025-03-15T10:30:00")]
    got = status(on="2030-03-15T10:30:00", onboarded=onboarded)
    assert (got.status, got.locked_until) == ("locked", at("2030-03-15T10:30:00"))


def test_locked_even_with_a_high_average() -> None:
    assert summary(status(on="2025-03-15", approved="2023-01-01", onboarded=daily(50, "2025-01-01"))) == ("locked", 50, 50, "25.00")


@pytest.mark.parametrize(
    ("on", "onboarded", "active_until", "expected_status", "locked_until"),
    [
        pytest.param("2026-06-30T20:00:00", [], date(2026, 6, 30), "locked", "2026-06-30T23:59:59.999999", id="admin-lock-evening-of-last-day"),
        pytest.param("2026-06-30T23:59:59.999999", [], date(2026, 6, 30), "locked", "2026-06-30T23:59:59.999999", id="admin-lock-last-instant"),
        pytest.param("2026-07-01", [], date(2026, 6, 30), "at_risk", "2026-06-30T23:59:59.999999", id="admin-lock-over-next-midnight"),
        pytest.param("2025-01-15", [], date(2026, 6, 30), "locked", "2026-06-30T23:59:59.999999", id="admin-lock-well-before-end"),
        pytest.param("2025-03-15", FIFTY, date(2031, 12, 31), "locked", "2031-12-31T23:59:59.999999", id="admin-lock-later-than-threshold-wins"),
        pytest.param("2031-06-01", FIFTY, date(2031, 12, 31), "locked", "2031-12-31T23:59:59.999999", id="admin-lock-holds-after-threshold-ends"),
        pytest.param("2025-03-15", FIFTY, date(2026, 12, 31), "locked", "2030-03-15", id="threshold-later-than-admin-wins"),
        pytest.param("2029-01-01", FIFTY, date(2026, 12, 31), "locked", "2030-03-15", id="threshold-holds-after-admin-ends"),
        pytest.param("2025-01-01", FIFTY, date(2024, 12, 31), "active", "2024-12-31T23:59:59.999999", id="admin-lock-in-the-past-only"),
    ],
)
def test_admin_active_until(on: str, onboarded: list[datetime], active_until: date, expected_status: str, locked_until: str) -> None:
    got = status(on=on, onboarded=onboarded, active_until=active_until)
    assert got.status == expected_status
    assert_lock(got, on, locked_until)


def test_active_partner_with_past_admin_lock_is_active() -> None:
    got = status(onboarded=daily(20, "2025-01-01"), active_until=date(2025, 12, 31))
    assert (got.status, str(got.average_per_year)) == ("active", "10.00")


def test_as_dict() -> None:
    got = status(on="2025-03-15", approved="2020-01-01", onboarded=FIFTY)
    assert got.as_dict() == {
        "status": "locked",
        "onboarded_total": 50,
        "onboarded_in_window": 50,
        "average_per_year": "25.00",
        "locked_until": "2030-03-15T00:00:00+00:00",
        "locks": [{"until": "2030-03-15T00:00:00+00:00", "because": "50 customers onboarded by 2025-03-15: locked 5 years",
                   "in_force": True}],
        "target_per_year": 10, "window_months": 24, "lock_threshold": 50,
    }
    assert status(onboarded=daily(3, "2026-01-01")).as_dict() == {
        "status": "at_risk", "onboarded_total": 3, "onboarded_in_window": 3, "average_per_year": "1.50", "locked_until": None,
        "locks": [], "target_per_year": 10, "window_months": 24, "lock_threshold": 50,
    }
    ended = status(on="2030-03-16", approved="2020-01-01", onboarded=FIFTY).as_dict()
    assert ended["locked_until"] is None and ended["locks"][0]["in_force"] is False  # the past lock stays visible


@pytest.mark.parametrize("preset", ["refer-resell", "referral-tiers"])
def test_a_program_without_a_target_puts_nobody_at_risk_and_locks_nobody(preset: str) -> None:
    terms = preset_terms(preset).status
    assert (terms.target_per_year, terms.lock_threshold) == (None, None)
    first_day = status(on="2026-01-02", approved="2026-01-01", terms=terms)
    assert (first_day.status, first_day.target_per_year) == ("active", None)
    many = status(onboarded=daily(60, "2026-01-01"), terms=terms)  # past any threshold: no lock without one
    assert (many.status, many.locks, many.locked_until) == ("active", (), None)
    admin_lock = status(terms=terms, active_until=date(2099, 1, 1))  # an admin's "active until" still locks
    assert admin_lock.status == "locked"


def test_a_program_s_own_window_and_target_are_the_ones_applied() -> None:
    terms = StatusTerms(target_per_year=2, window_months=6, lock_threshold=3, lock_years=1)
    got = status(on="2026-07-01", onboarded=[at("2025-12-01"), at("2026-02-01")], terms=terms)
    # Only February is inside the 6-month window: 1 in half a year is 2.00 a year, the target.
    assert (got.status, got.onboarded_in_window, str(got.average_per_year)) == ("active", 1, "2.00")
    assert (got.target_per_year, got.window_months, got.lock_threshold) == (2, 6, 3)


# -- properties --------------------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))


@given(
    on=instants,
    approved=st.one_of(st.none(), instants),
    onboarded=st.lists(instants, max_size=70),
    future=st.lists(st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=3000)), max_size=5),
    seed=st.integers(),
)
def test_status_is_consistent(
    on: datetime, approved: datetime | None, onboarded: list[datetime], future: list[timedelta], seed: int
) -> None:
    got = partner_status(on=on, approved_at=approved, onboarded=onboarded, terms=TERMS, active_until=None)

    # Order and onboardings after ``on`` never matter.
    shuffled = [*onboarded, *(on + delta for delta in future)]
    random.Random(seed).shuffle(shuffled)
    assert partner_status(on=on, approved_at=approved, onboarded=shuffled, terms=TERMS, active_until=None) == got

    counted = [d for d in onboarded if d <= on]
    assert got.onboarded_total == len(counted)
    assert 0 <= got.onboarded_in_window <= got.onboarded_total
    assert got.average_per_year == got.average_per_year.quantize(Decimal("0.01"))
    # Averaged over at most the 2-year window and at least one year.
    assert Decimal(got.onboarded_in_window) / 2 - Decimal("0.005") <= got.average_per_year <= got.onboarded_in_window
    assert (len(counted) >= 50) == bool(got.locks)
    if got.locked_until is not None:
        assert got.status == "locked" and on <= got.locked_until
    else:
        assert got.status == ("active" if got.average_per_year >= 10 else "at_risk")
