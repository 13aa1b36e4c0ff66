"""Paperwork in a real browser against a real server (issue 18 "Done when"): a partner
whose balance was carried forward for want of a tax form hands in a W-8BEN (with its
signed PDF) and an IBAN, and its held payout becomes payable; page, API and CLI agree."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect

from ledger.calendar import add_months, period_of
from tests import builders as b
from tests.builders import TERMS, close


def held_last_month(live) -> str:
    """p1 earned 100.00 last month, which is closed: carried forward, no tax form on file."""
    now = datetime.now(UTC)
    last_month = period_of(add_months(now.replace(day=1), -1))
    live.driver.ok(
        b.program(terms=TERMS, at=f"{last_month}-01T00:00:00Z"),
        b.application("p1", at=f"{last_month}-01T01:00:00Z"), b.approve("p1", at=f"{last_month}-01T02:00:00Z"),
        *b.customer("c1", "p1", at=f"{last_month}-02T00:00:00Z"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at=f"{last_month}-15T00:00:00Z"),
        close(last_month, now.isoformat()),
    )
    return last_month


def test_a_partner_hands_in_a_w8ben_and_an_iban_and_its_held_payout_becomes_payable(live, page: Page, tmp_path: Path):
    period = held_last_month(live)
    page.goto(live.invite("partner", "p1"))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live.base}/partners/p1")
    account = page.locator('[data-currency="USD"]')
    expect(account.locator('[data-figure="due"]')).to_have_text("0.00 USD")
    expect(page.get_by_text("no tax form on file")).to_be_visible()

    page.get_by_role("navigation", name="Partner pages").get_by_role("link", name="Paperwork").click()
    expect(page).to_have_url(f"{live.base}/partners/p1/paperwork")
    signed = tmp_path / "w8ben.pdf"
    signed.write_bytes(b"%PDF-1.4\n% signed W-8BEN\n%%EOF\n")
    tax = page.get_by_role("form", name="Hand in a tax form")
    tax.get_by_label("Form", exact=True).select_option("W-8BEN")
    tax.get_by_label("Legal name").fill("Ada Lovelace")
    tax.get_by_label("Country").fill("DE")
    tax.get_by_label("Tax id").fill("DE123456789")
    tax.get_by_label("Signed form").set_input_files(str(signed))
    tax.get_by_role("button", name="Hand in the tax form").click()
    expect(page.get_by_role("status")).to_contain_text(f"prog/p1/USD/{period} is payable now")
    expect(page.locator('[data-on-file="tax_form"]')).to_contain_text("A*** L***")
    expect(page.locator('[data-on-file="tax_form"]')).not_to_contain_text("DE123456789")

    payout = page.get_by_role("form", name="Payout details")
    payout.get_by_label("Bank transfer (IBAN)").check()
    payout.get_by_label("IBAN", exact=True).fill("DE89 3704 0044 0532 0130 00")
    payout.get_by_role("button", name="Save payout details").click()
    expect(page.get_by_role("status")).to_contain_text("Payout details saved")
    expect(page.locator('[data-on-file="payout"]')).to_contain_text("3000")
    expect(page.locator('[data-on-file="payout"]')).to_contain_text("COBADEFFXXX")
    expect(page.locator('[data-on-file="payout"]')).not_to_contain_text("0532013000")
    page.screenshot(path=str(tmp_path / "paperwork.png"), full_page=True)

    page.get_by_role("navigation", name="Partner pages").get_by_role("link", name="Dashboard").click()
    api = live.api("/v1/partners/p1/balance", "partner", "p1")["currencies"]["USD"]
    cli = live.driver.cli_json("balance", "p1")["currencies"]["USD"]
    assert api["due"] == cli["due"] == "100.00"
    expect(account.locator('[data-figure="due"]')).to_have_text(f"{Decimal(api['due']):,} USD")
    expect(page.get_by_role("button", name=re.compile(r"Request payout of 100\.00 USD"))).to_be_visible()
    record = live.api("/v1/partners/p1", "partner", "p1")
    assert record["tax_form_details"]["form"] == "W-8BEN" and record["payout_method"]["bic"] == "COBADEFFXXX"
