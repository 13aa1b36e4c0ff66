"""Finance in a real browser: closes a month, opens its statements and downloads their
CSV, whose totals equal the page's and the API's."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from tests import builders as b
from tests.builders import TERMS


def january(live) -> None:
    """p1 and p2 (tax forms on file) and p3 (none) earn commission in January 2025."""
    commands = [b.program(terms=TERMS)]
    for n, partner in enumerate(("p1", "p2", "p3"), start=1):
        commands += [*b.partner(partner), *b.customer(f"c{n}", partner),
                     b.payment(f"pay{n}", f"c{n}", {"subscription": f"{3 * n}12.50"}, at="2025-01-15T00:00:00Z")]
        if partner != "p3":
            commands.append(b.cmd("submit_tax_form", partner_id=partner, form="W-9", at="2025-01-05T00:00:00Z"))
    live.driver.ok(*commands)


def test_finance_closes_a_month_and_downloads_statements_whose_totals_match(live, page: Page):
    january(live)
    live.sign_in(page, "finance")
    page.get_by_role("navigation", name="Consoles").get_by_role("link", name="Months").click()
    page.get_by_role("button", name="Close 2025-01…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Close 2025-01 for prog?")
    preview = page.locator('.finance-preview-totals tr[data-currency="USD"]')
    expect(preview.locator("td").first).to_have_text("3")  # three statements, before anything is recorded
    page.get_by_role("button", name="Close 2025-01 for prog").click()
    expect(page.get_by_role("status")).to_have_text("Closed 2025-01 for prog: 3 statements issued.")
    expect(page.get_by_role("button", name="Close 2025-02…")).to_be_visible()

    page.get_by_role("link", name="View").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Statements for 2025-01 · prog")
    totals = page.locator('.finance-totals tr[data-currency="USD"]')
    on_page = {figure: _amount(totals.locator(f'[data-total="{figure}"]').inner_text()) for figure in ("closing", "due")}

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download CSV").click()
    download = downloading.value
    assert download.suggested_filename == "statements-2025-01.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    in_csv = {figure: sum(Decimal(row[figure]) for row in rows) for figure in ("closing", "due")}

    api = page.request.get(f"{live.base}/v1/statements?period=2025-01").json()["items"]
    from_api = {figure: sum(Decimal(item[figure]) for item in api) for figure in ("closing", "due")}
    # 20 % of 312.50, 612.50 and 912.50; p3 has no tax form, so only p1's and p2's is due.
    assert in_csv == on_page == from_api == {"closing": Decimal("367.50"), "due": Decimal("185.00")}
    assert len(rows) == len(api) == 3


def _amount(text: str) -> Decimal:
    found = re.fullmatch(r"(-?\d+\.\d+) USD", text.strip())
    assert found, text
    return Decimal(found.group(1))


def test_finance_records_two_payouts_at_once_and_they_leave_the_due_list(live, page: Page):
    january(live)
    live.driver.ok({"type": "close_period", "program_id": "prog", "period": "2025-01", "at": "2025-02-01T01:00:00Z"},
                   b.cmd("request_payout", partner_id="p2", currency="USD", amount="50.00"),
                   *(b.cmd("set_payout_details", partner_id=p, method="ach", account=f"0212000{n}7654321") for n, p in enumerate(("p1", "p2"))))
    live.sign_in(page, "finance")
    page.goto(f"{live.base}/finance/payouts")
    page.get_by_role("link", name="the requests, oldest first").click()
    expect(page.locator(".finance-requests")).to_contain_text("p2")
    page.goto(f"{live.base}/finance/payouts")
    page.get_by_label("Pay p1 USD").check()
    page.get_by_label("Pay p2 USD").check()
    expect(page.get_by_label("Amount paid to p2 in USD")).to_have_value("50.00")  # what p2 asked for
    page.get_by_label("Payment reference").fill("wire-2025-02-05")
    page.get_by_role("button", name="Record ticked payouts").click()
    expect(page.get_by_role("status")).to_have_text("2 paid, 112.50 USD.")
    expect(page.locator('.finance-outcomes tr[data-partner="p1"]')).to_contain_text("wire-2025-02-05:p1:USD")
    page.get_by_role("link", name="Back to the payouts due").click()
    expect(page.locator(".finance-due")).not_to_contain_text("p1")
    expect(page.locator(".finance-due")).to_contain_text("72.50 USD")  # p2: 122.50 due, 50.00 paid
    page.goto(f"{live.base}/finance/payouts/requests")
    expect(page.get_by_text("No partner is waiting on a payout request.")).to_be_visible()
