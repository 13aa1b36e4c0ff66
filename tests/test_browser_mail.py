"""Issue 18's journey, in a real browser against a real ``ledger serve`` whose mail worker
sends to a real SMTP server: an admin approves an application, the new partner receives
its invite by e-mail and signs in from it, copies its link, a visitor follows it and signs
up, and the partner sees the click, the sign-up and, after a payment, the commission;
later, signed out, it asks the sign-in page to e-mail it a link and signs in from that mail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from entrypoints.http.server import free_port, serving
from ledger.calendar import period_of
from tests import builders as b
from tests.builders import TERMS
from tests.conftest import Live
from tests.smtp import Inbox, link_in, smtp_server
from tests.test_browser_referrals import funnel_row, minutes_ago
from tests.vendor_site import vendor_site

ADDRESS = "owner@p1.example"


@pytest.fixture
def mailing(sqlite_ledger) -> Iterator[tuple[Live, Inbox]]:
    """``ledger serve`` (with its mail worker) sending to a test SMTP server."""
    port = free_port()
    with smtp_server() as (inbox, url), serving(
        sqlite_ledger.url, port=port,
        env={"LEDGER_SMTP_URL": url, "LEDGER_HTTP_PUBLIC_URL": f"http://127.0.0.1:{port}"},
    ) as base:
        yield Live(sqlite_ledger, base), inbox


def arrives(inbox: Inbox, subject: str, count: int = 1, within: float = 60.0) -> Any:
    """The ``count``-th mail to ADDRESS whose subject holds ``subject``, once the worker sent it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = [m for m in inbox.to(ADDRESS) if subject in m["Subject"]]
        if len(found) >= count:
            return found[count - 1]
        time.sleep(0.1)
    pytest.fail(f"no mail {subject!r} (#{count}) within {within} s; received: {[m['Subject'] for m in inbox.received]}")


def test_the_journey_invite_by_mail_link_shared_visitor_signs_up_commission_then_an_e_mailed_sign_in(mailing, browser):
    live, inbox = mailing
    this_month = period_of(datetime.now(UTC))
    with vendor_site(live.base, live.token("billing")) as vendor:
        live.driver.ok(b.program(terms={**TERMS, "landing_url": f"{vendor}/signup"}, at=minutes_ago(10)),
                       b.application("p1", email=ADDRESS, at=minutes_ago(9)))

        admin: Page = browser.new_page()
        live.sign_in(admin, "admin")
        admin.goto(f"{live.base}/admin/applications")
        admin.locator("article.application", has_text="p1").get_by_role("button", name="Approve").click()
        expect(admin.get_by_role("status")).to_contain_text("Approved p1")

        # The invite comes by e-mail and signs the partner in.
        context = browser.new_context()
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base)
        partner: Page = context.new_page()
        partner.goto(link_in(arrives(inbox, "approved")))
        partner.get_by_role("button", name="Sign in").click()
        expect(partner).to_have_url(f"{live.base}/partners/p1")

        # It copies its link; a visitor follows it to the seller's site and signs up.
        partner.get_by_role("button", name="Copy link").click()
        copied = partner.evaluate("navigator.clipboard.readText()")
        visitor = browser.new_context().new_page()
        visitor.goto(copied)
        visitor.get_by_label("Company").fill("Initech")
        visitor.get_by_label("E-mail").fill("peter@initech.example")
        visitor.get_by_role("button", name="Create my account").click()
        expect(visitor.get_by_role("heading", name="Welcome aboard")).to_be_visible()

    partner.reload()
    assert funnel_row(partner, this_month) == {"clicks": "1", "sign_ups": "1", "paying_customers": "0", "commission": "—"}
    [customer] = live.api("/v1/partners/p1/customers", "partner", "p1")["items"]
    live.driver.ok(b.payment("pay1", customer["customer_id"], {"subscription": "500.00"}, at=minutes_ago(0)))
    partner.reload()
    assert funnel_row(partner, this_month)["commission"] == "100.00 USD"

    # Later, signed out, it asks the sign-in page for a link by e-mail and signs in from it.
    partner.get_by_role("button", name="Sign out").click()
    expect(partner).to_have_url(f"{live.base}/signin")
    partner.fill("#email", ADDRESS)
    partner.get_by_role("button", name="E-mail me a link").click()
    expect(partner.get_by_role("status")).to_contain_text("a sign-in link is on its way")
    partner.goto(link_in(arrives(inbox, "sign-in link")))
    partner.get_by_role("button", name="Sign in").click()
    expect(partner).to_have_url(f"{live.base}/partners/p1")
