"""The referral funnel as a property: for any partner's history (customers brought by
link, code or a claim, in any month; payments recorded in any order, backdated ones
included; clicks on any day), each month of the funnel counts that month's clicks and
sign-ups, each paying customer once in the month of its earliest payment, and the
commission its payments earned, equal to a model written from the rules."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entrypoints.bootstrap import bootstrap
from tests import builders as b
from tests.builders import TERMS

MONTHS = 6  # 2025-01 .. 2025-06
AS_OF = datetime(2025, 6, 30, 12, tzinfo=UTC)
RATE = Decimal("0.20")
PRICE = Decimal("100.00")


@st.composite
def customer(draw: st.DrawFn) -> tuple[int, str, list[int]]:
    signed_up = draw(st.integers(1, MONTHS))
    channel = draw(st.sampled_from(["link", "code", "claim"]))
    payments = draw(st.lists(st.integers(signed_up, MONTHS), max_size=3))
    return signed_up, channel, payments


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Iterator[int]]]:
    """One ledger for every example (each has a partner of its own), and the partners' numbers."""
    ledger = bootstrap(database_url=f"sqlite:///{tmp_path_factory.mktemp('funnel')}/ledger.db")
    assert all(r["ok"] for r in ledger.bus.handle_many([b.program(terms=TERMS)]))
    yield ledger, itertools.count()
    ledger.close()


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(customers=st.lists(customer(), max_size=4), clicks=st.lists(st.integers(1, MONTHS), max_size=6),
       order=st.randoms(use_true_random=False))
def test_the_funnel_counts_each_month_as_the_rules_say(program, customers, clicks, order):
    ledger, numbers = program
    partner_id = f"p{next(numbers)}"
    _record(ledger, partner_id, customers, clicks, order)
    assert ledger.referrals.funnel(partner_id, MONTHS, AS_OF)["months"] == _model(customers, clicks)


def _record(ledger: Any, partner_id: str, customers: list[tuple[int, str, list[int]]], clicks: list[int], order: Any) -> None:
    assert all(r["ok"] for r in ledger.bus.handle_many(b.partner(partner_id)))
    record = ledger.queries.partner(partner_id, with_code=True)
    commands, payments = [], []
    for n, (month, channel, paid) in enumerate(customers):
        at, customer_id = f"2025-{month:02d}-10T00:00:00Z", f"{partner_id}-c{n}"
        if channel == "claim":
            commands += b.customer(customer_id, partner_id, at=at)
        else:
            by = {"referral_link": record["referral_link"]} if channel == "link" else {"referral_code": record["partner_code"]}
            commands.append(b.cmd("sign_up_customer", customer_id=customer_id, at=at, **by))
        payments += [b.payment(f"{customer_id}-pay{k}", customer_id, {"subscription": str(PRICE)}, at=f"2025-{m:02d}-20T00:00:00Z")
                     for k, m in enumerate(paid)]
    order.shuffle(payments)  # recorded in any order: a backdated payment moves the first payment back
    assert all(r["ok"] for r in ledger.bus.handle_many([*commands, *payments]))
    for month in clicks:
        ledger.clicks.count(record["referral_link"], date(2025, month, 15))


def _model(customers: list[tuple[int, str, list[int]]], clicks: list[int]) -> list[dict[str, Any]]:
    any_payment = any(paid for _, _, paid in customers)
    months = []
    for month in range(1, MONTHS + 1):
        earned = sum(RATE * PRICE for _, _, paid in customers for m in paid if m == month)
        months.append({
            "period": f"2025-{month:02d}",
            "clicks": clicks.count(month),
            "sign_ups": sum(1 for signed_up, _, _ in customers if signed_up == month),
            "paying_customers": sum(1 for _, _, paid in customers if paid and min(paid) == month),
            "commission": {"USD": f"{earned:.2f}"} if any_payment else {},
        })
    return months
