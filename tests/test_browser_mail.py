"""The mail parts of issue 18's journey, in a real browser against a real ``ledger serve``
(whose mail worker sends to a real SMTP server): an admin approves an application, the
new partner receives its invite by e-mail and signs in from it; later, signed out, it
asks the sign-in page to e-mail it a link and signs in again from that mail."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from entrypoints.http.server import free_port, serving
from tests import builders as b
from tests.conftest import Live
from tests.smtp import Inbox, link_in, smtp_server

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


def test_an_approved_partner_signs_in_from_its_invite_mail_and_later_from_an_e_mailed_link(mailing, browser):
    live, inbox = mailing
    live.driver.ok(b.program(), b.application("p1", email=ADDRESS))

    admin: Page = browser.new_page()
    live.sign_in(admin, "admin")
    admin.goto(f"{live.base}/admin/applications")
    admin.locator("article.application", has_text="p1").get_by_role("button", name="Approve").click()
    expect(admin.get_by_role("status")).to_contain_text("Approved p1")

    partner: Page = browser.new_context().new_page()
    partner.goto(link_in(arrives(inbox, "approved")))
    partner.get_by_role("button", name="Sign in").click()
    expect(partner).to_have_url(f"{live.base}/partners/p1")

    partner.get_by_role("button", name="Sign out").click()
    expect(partner).to_have_url(f"{live.base}/signin")
    partner.fill("#email", ADDRESS)
    partner.get_by_role("button", name="E-mail me a link").click()
    expect(partner.get_by_role("status")).to_contain_text("a sign-in link is on its way")

    partner.goto(link_in(arrives(inbox, "sign-in link")))
    partner.get_by_role("button", name="Sign in").click()
    expect(partner).to_have_url(f"{live.base}/partners/p1")
