"""DESIGN.md "Partner status": locked / active / at risk, onboarding dates, tenure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ledger.presets import PRESETS
from tests import builders as b

STATUS_KEYS = {"status", "onboarded_total", "onboarded_in_window", "average_per_year", "locked_until", "locks",
               "target_per_year", "window_months", "lock_threshold"}


def on(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def onboard(partner_id: str, count: int, at: str, prefix: str | None = None) -> list[dict[str, Any]]:
    prefix = prefix or f"{partner_id}-{at[:10]}"
    return [c for i in range(count) for c in b.customer(f"{prefix}-{i}", partner_id, at=at)]


def status(ledger: Any, partner_id: str, when: str) -> dict[str, Any]:
    return ledger.app.queries.status(partner_id, on=on(when))


def test_young_partner_averages_over_at_least_twelve_months(ledger):
    # sales-partner: 10 a year over 24 months; partners approved 2025-01-03
    ledger.ok(b.program(), *b.partner("ten"), *b.partner("nine"),
              *onboard("ten", 10, "2025-02-01T00:00:00Z"), *onboard("nine", 9, "2025-02-01T00:00:00Z"))
    ten = status(ledger, "ten", "2025-06-01T00:00:00Z")
    assert (ten["status"], ten["onboarded_total"], ten["onboarded_in_window"], ten["average_per_year"], ten["locked_until"]) == (
        "active", 10, 10, "10.00", None)
    nine = status(ledger, "nine", "2025-06-01T00:00:00Z")
    assert (nine["status"], nine["average_per_year"]) == ("at_risk", "9.00")


def test_partner_younger_than_the_window_averages_over_its_tenure(ledger):
    # 2025-01-03 -> 2026-07-03: 546 days = 1.49 years
    ledger.ok(b.program(), *b.partner("p15"), *b.partner("p14"),
              *onboard("p15", 15, "2025-02-01T00:00:00Z"), *onboard("p14", 14, "2025-02-01T00:00:00Z"))
    p15 = status(ledger, "p15", "2026-07-03T00:00:00Z")
    assert (p15["status"], p15["average_per_year"]) == ("active", "10.03")
    p14 = status(ledger, "p14", "2026-07-03T00:00:00Z")
    assert (p14["status"], p14["average_per_year"]) == ("at_risk", "9.37")


def test_older_partner_counts_the_rolling_window_only(ledger):
    ledger.ok(b.program(), *b.partner("p1"),
              *onboard("p1", 5, "2025-02-01T00:00:00Z"),  # before the window
              *onboard("p1", 10, "2025-08-01T00:00:00Z"), *onboard("p1", 10, "2027-03-01T00:00:00Z"))
    got = status(ledger, "p1", "2027-06-01T00:00:00Z")  # window: 2025-06-01 .. 2027-06-01
    assert (got["status"], got["onboarded_total"], got["onboarded_in_window"], got["average_per_year"]) == (
        "active", 25, 20, "10.00")
    later = status(ledger, "p1", "2027-08-02T00:00:00Z")  # the 2025-08-01 ten left the window
    assert (later["status"], later["onboarded_in_window"], later["average_per_year"]) == ("at_risk", 10, "5.00")


def test_reaching_the_lock_threshold_locks_for_five_years_from_the_threshold_onboarding(ledger):
    ledger.ok(b.program(), *b.partner("p1"),
              *onboard("p1", 49, "2025-02-01T00:00:00Z"), *onboard("p1", 1, "2025-03-01T00:00:00Z"))
    assert status(ledger, "p1", "2025-02-28T00:00:00Z")["locked_until"] is None
    locked = status(ledger, "p1", "2029-01-01T00:00:00Z")  # nobody new in the window
    assert (locked["status"], locked["onboarded_in_window"]) == ("locked", 0)
    assert on(locked["locked_until"]) == on("2030-03-01T00:00:00Z")
    assert status(ledger, "p1", "2030-03-02T00:00:00Z")["status"] == "at_risk"


def test_active_until_locks_through_that_date(ledger):
    ledger.ok(b.program(), *b.partner("p1"),
              b.cmd("set_active_until", partner_id="p1", until="2026-06-30", at="2025-02-01T00:00:00Z"))
    assert status(ledger, "p1", "2026-06-30T20:00:00Z")["status"] == "locked"
    assert status(ledger, "p1", "2026-07-01T00:00:00Z")["status"] == "at_risk"
    assert status(ledger, "p1", "2025-01-15T00:00:00Z")["status"] == "at_risk"  # not yet set then
    ledger.ok(b.cmd("set_active_until", partner_id="p1", until=None, at="2025-03-01T00:00:00Z"))
    got = status(ledger, "p1", "2025-06-01T00:00:00Z")
    assert (got["status"], got["locked_until"]) == ("at_risk", None)


def test_onboarding_date_is_the_later_of_signup_and_claim(ledger):
    ledger.ok(b.program(), *b.partner("p1"),
              b.claim("late-signup", "p1", at="2025-01-10T00:00:00Z"), b.signup("late-signup", at="2025-03-01T00:00:00Z"),
              b.signup("late-claim", at="2025-01-05T00:00:00Z"), b.claim("late-claim", "p1", at="2025-04-01T00:00:00Z"))
    assert status(ledger, "p1", "2025-02-15T00:00:00Z")["onboarded_total"] == 0
    assert status(ledger, "p1", "2025-03-02T00:00:00Z")["onboarded_total"] == 1
    assert status(ledger, "p1", "2025-04-02T00:00:00Z")["onboarded_total"] == 2


def test_status_never_changes_commission(ledger):
    with_target = {**PRESETS["referral-tiers"], "status": {"target_per_year": 10}}
    ledger.ok(b.program(terms=with_target), *b.partner("risky"), *b.customer("c1", "risky"),
              b.cmd("set_active_until", partner_id="risky", until="2030-01-01", at="2025-01-20T00:00:00Z"),
              *b.partner("calm"), *b.customer("c2", "calm"))
    [locked] = ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}))
    [at_risk] = ledger.ok(b.payment("pay2", "c2", {"subscription": "100.00"}))
    assert status(ledger, "risky", "2025-02-01T00:00:00Z")["status"] == "locked"
    assert status(ledger, "calm", "2025-02-01T00:00:00Z")["status"] == "at_risk"
    assert locked["earning"]["amount"] == at_risk["earning"]["amount"] == "20.00"


def test_status_json_has_exactly_the_documented_keys(ledger):
    ledger.ok(b.program(), *b.partner("p1"), *onboard("p1", 3, "2025-02-01T00:00:00Z"))
    got = ledger.cli_json("status", "p1", "--on", "2025-06-01")
    assert set(got) == STATUS_KEYS
    assert got["status"] == "at_risk" and got["onboarded_total"] == 3 and got["average_per_year"] == "3.00"
