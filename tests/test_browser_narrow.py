"""Every console is usable on a 390 px phone: no page is wider than the screen (wide
tables scroll inside their own box, the top bar wraps), in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests import builders as b
from tests.builders import TERMS, close

PHONE = {"width": 390, "height": 844}

PAGES = {
    "partner": ["/partners/p1"],
    "admin": ["/", "/admin/applications", "/admin/partners", "/admin/partners/p1", "/admin/programs", "/admin/programs/prog",
              "/admin/holds", "/admin/leads", "/admin/webhooks", '/what-if?program=prog&patch={"levels":{"Std":{"rate":"0.3"}}}'],
    "finance": ["/finance", "/finance/statements?period=2025-01", "/finance/payouts", "/finance/payouts/requests", "/finance/close?program_id=prog&period=2025-02"],
    "auditor": ["/audit?partner=p1", "/audit/snapshots", "/audit/verify"],
}


@pytest.fixture
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": PHONE}


def test_every_console_fits_a_390_px_phone(live, page: Page):
    live.driver.ok(b.program(terms=TERMS), *b.partner("p1"), *b.partner("p2"),
                   b.cmd("submit_tax_form", partner_id="p1", form="W-9", at="2025-01-05T00:00:00Z"),
                   *b.customer("c1", "p1"), b.payment("pay1", "c1", {"subscription": "51234.50"}, at="2025-01-15T00:00:00Z"),
                   close("2025-01", "2025-02-01T01:00:00Z"))
    too_wide = []
    for role, paths in PAGES.items():
        live.sign_in(page, role, "p1" if role == "partner" else None)
        page.wait_for_load_state()
        for path in paths:
            page.goto(f"{live.base}{path}")
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                too_wide.append((path, width))
    assert too_wide == [], f"pages wider than a 390 px phone: {too_wide}"
