"""The partner dashboard in a real browser against a real server: a partner follows its
invite link, lands on its dashboard, sees the balance the API reports and its chart,
and asks for its payout."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from playwright.sync_api import Page, expect

from ledger.calendar import add_months, period_of
from tests import builders as b
from tests.builders import TERMS, close


def last_month_earned(live) -> None:
    """p1 earned 100.00 last month (tax form on file) and last month is closed: 100.00 is due,
    and the chart's last 12 months have a bar."""
    now = datetime.now(UTC)
    last_month = period_of(add_months(now.replace(day=1), -1))
    live.driver.ok(
        b.program(terms=TERMS, at=f"{last_month}-01T00:00:00Z"),
        b.application("p1", at=f"{last_month}-01T01:00:00Z"), b.approve("p1", at=f"{last_month}-01T02:00:00Z"),
        b.cmd("submit_tax_form", partner_id="p1", form="W-9", at=f"{last_month}-01T03:00:00Z"),
        *b.customer("c1", "p1", at=f"{last_month}-02T00:00:00Z"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at=f"{last_month}-15T00:00:00Z"),
        close(last_month, now.isoformat()),
    )


def test_a_partner_follows_its_invite_sees_its_balance_and_chart_and_asks_for_its_payout(live, page: Page):
    last_month_earned(live)
    page.goto(live.invite("partner", "p1"))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live.base}/partners/p1")

    usd = live.api("/v1/partners/p1/balance", "partner", "p1")["currencies"]["USD"]
    account = page.locator('[data-currency="USD"]')
    expect(account.locator('[data-figure="balance"]')).to_have_text(f"{Decimal(usd['balance']):,} USD")
    expect(account.locator('[data-figure="due"]')).to_have_text(f"{Decimal(usd['due']):,} USD")
    assert usd["due"] == "100.00"

    chart = page.locator("img.chart")
    expect(chart).to_be_visible()
    page.wait_for_function("() => { const img = document.querySelector('img.chart'); return img.complete && img.naturalWidth > 0 }")
    assert chart.evaluate("img => img.naturalWidth") > 0

    page.get_by_role("button", name=re.compile(r"Request payout of 100\.00 USD")).click()
    expect(page).to_have_url(f"{live.base}/partners/p1")
    expect(page.get_by_role("status")).to_contain_text("Payout of 100.00 USD requested")
    expect(page.get_by_text("waiting for finance")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("Request payout"))).to_have_count(0)
    [request] = live.api("/v1/payouts/requests", "finance")["items"]
    assert (request["partner_id"], request["currency"], request["amount"]) == ("p1", "USD", "100.00")
