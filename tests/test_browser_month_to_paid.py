"""Issue 20's "Done when", in a real browser against a real server: finance takes a month
from open to paid (confirms and closes every program's month, makes a SEPA pain.001 file
that validates against the XSD and PayPal CSVs whose totals equal what is due, marks
them paid, sees nothing due and each partner's dashboard showing what was paid); an
admin makes a partner a new sign-in link from its page and changes terms through the
preview; the audit trail says all of it in words, with the actors' token labels."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import pytest
from lxml import etree
from playwright.sync_api import Page, expect

from entrypoints.http.formatting import money
from entrypoints.http.server import serving
from ledger.calendar import add_months, period_of
from tests import builders as b
from tests.conftest import Live

PAIN = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"
P1_IBAN = "DE89370400440532013000"


@pytest.fixture
def live(sqlite_ledger, monkeypatch):
    """The server, paying from Acme's account (what the SEPA file needs)."""
    monkeypatch.setenv("LEDGER_PAYER_NAME", "Acme SaaS GmbH")
    monkeypatch.setenv("LEDGER_PAYER_IBAN", "DE62370400440532013001")
    with serving(sqlite_ledger.url) as base:
        yield Live(sqlite_ledger, base)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def the_world(live) -> dict[str, str]:
    """Two programs started three months ago: ``prog`` (EUR) with p1 paid by IBAN and p2
    by PayPal, ``us`` (USD) with p3 by PayPal; each earns two months ago. No month is
    closed yet."""
    start = add_months(datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0), -3)
    earned = add_months(start, 1).replace(day=15)
    eur = {"currency": "EUR", "levels": {"Std": {"rate": "0.20"}}, "commissionable_revenue": "*",
           "payout": {"minimum": "0.00", "hold_days": 0, "requires_tax_form": True}}
    usd = {**eur, "currency": "USD"}
    commands = [b.program("prog", terms=eur, at=iso(start)), b.program("us", terms=usd, at=iso(start))]
    details = {"p1": ("iban", P1_IBAN), "p2": ("paypal", "money@p2.example"), "p3": ("paypal", "money@p3.example")}
    for n, (partner, program, currency) in enumerate((("p1", "prog", "EUR"), ("p2", "prog", "EUR"), ("p3", "us", "USD")), 1):
        at = iso(start.replace(day=2))
        commands += [{**b.application(partner, program), "at": at}, {**b.approve(partner), "at": at},
                     b.cmd("submit_tax_form", partner_id=partner, form="W-8BEN", at=at),
                     b.cmd("set_payout_details", partner_id=partner, method=details[partner][0], account=details[partner][1]),
                     *b.customer(f"c{n}", partner, at=at),
                     b.payment(f"pay{n}", f"c{n}", {"subscription": f"{n}000.00"}, at=iso(earned), currency=currency)]
    live.driver.ok(*commands)
    return {"first": period_of(start), "last": period_of(add_months(datetime.now(UTC).replace(day=1), -1))}


def download(page: Page, button: str) -> bytes:
    with page.expect_download() as downloading:
        page.get_by_role("button", name=button).click()
    return Path(downloading.value.path()).read_bytes()


def test_finance_takes_a_month_from_open_to_paid_and_an_admin_does_its_day(live, page: Page):
    months = the_world(live)
    live.sign_in(page, "finance")

    # Confirm one close, then close every program up to last month, in order.
    page.get_by_role("navigation", name="Consoles").get_by_role("link", name="Months").click()
    page.locator("section.finance-program").filter(has_text="Program prog").get_by_role(
        "button", name=f"Close {months['first']}…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Close {months['first']} for prog?")
    page.get_by_role("button", name=f"Close {months['first']} for prog").click()
    expect(page.get_by_role("status")).to_contain_text(f"Closed {months['first']} for prog")
    page.get_by_label("Close every program up to").select_option(months["last"])
    page.get_by_role("button", name="Close all in order").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Every program closed up to {months['last']}")
    expect(page.locator(".finance-progress li.error")).to_have_count(0)
    for program in ("prog", "us"):
        assert live.driver.app.queries.periods(program)["last_closed"] == months["last"]

    # What is due, with the full accounts shown (and their showing recorded).
    due = {item["partner_id"]: item for item in live.api("/v1/payouts/due", "finance")["items"]}
    assert set(due) == {"p1", "p2", "p3"}
    page.get_by_role("link", name="Payouts due").click()
    page.get_by_role("button", name="Show full accounts").click()
    expect(page.locator('.finance-due tr[data-partner="p1"]')).to_contain_text(P1_IBAN)
    for partner, item in due.items():
        page.get_by_label(f"Pay {partner} {item['currency']}").check()
    page.get_by_role("button", name="Make payment files for ticked").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Payment files")

    # The files: pain.001 valid against the XSD; each file's total is what is due.
    xml = download(page, "Download pain.001")
    schema = etree.XMLSchema(etree.parse(str(files("sepaxml") / "schemas" / "pain.001.001.03.xsd")))
    document = etree.fromstring(xml)
    schema.assertValid(document)
    sepa = {t.findtext(f"{PAIN}CdtrAcct/{PAIN}Id/{PAIN}IBAN"): Decimal(t.findtext(f"{PAIN}Amt/{PAIN}InstdAmt"))
            for t in document.findall(f".//{PAIN}CdtTrfTxInf")}
    paypal = [row for currency in ("EUR", "USD")
              for row in csv.reader(io.StringIO(download(page, f"Download PayPal CSV ({currency})").decode()))]
    assert sepa == {P1_IBAN: Decimal(due["p1"]["due"])}
    assert {row[0]: (Decimal(row[1]), row[2]) for row in paypal} == {
        "money@p2.example": (Decimal(due["p2"]["due"]), "EUR"), "money@p3.example": (Decimal(due["p3"]["due"]), "USD")}
    totals = live.api("/v1/payouts/due", "finance")["items"]
    assert sum(sepa.values()) + sum(Decimal(r[1]) for r in paypal if r[2] == "EUR") == sum(
        Decimal(i["due"]) for i in totals if i["currency"] == "EUR"), "the files record nothing: all is still due"

    # Marked paid: recorded by the files' payout ids; nothing is due any more.
    page.get_by_role("button", name="Mark these paid").click()
    expect(page.get_by_role("status")).to_contain_text("3 paid")
    page.get_by_role("link", name="Back to the payouts due").click()
    expect(page.get_by_text("Nothing is due")).to_be_visible()
    assert live.api("/v1/payouts/due", "finance")["items"] == []

    # Each partner's dashboard shows what was paid, under the file's payout id.
    for partner, item in due.items():
        live.sign_in(page, "partner", partner)
        expect(page.locator('[data-figure="paid"]')).to_have_text(money(item["due"], item["currency"]))
        expect(page.locator("main")).to_contain_text("Payouts")
        expect(page.locator("main code").filter(has_text="PF")).to_have_count(1)

    # The admin's day: a new sign-in link for p1, new terms for prog through the preview.
    live.sign_in(page, "admin")
    page.goto(f"{live.base}/admin/partners/p1")
    page.get_by_role("button", name="Make a new sign-in link").click()
    link = page.get_by_role("textbox", name="Sign-in link").input_value()
    assert "/invite/" in link
    page.goto(f"{live.base}/admin/programs/prog")
    page.get_by_role("link", name="Change the terms…").click()
    page.get_by_label("Merge patch").fill('{"payout": {"minimum": "25.00"}}')
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".terms-changes")).to_contain_text("payout.minimum")
    expect(page.locator("pre.result")).to_contain_text('"minimum": "25.00"')
    assert live.api("/v1/programs/prog", "admin")["terms"]["payout"]["minimum"] == "0.00", "a preview records nothing"
    page.get_by_role("button", name="Apply these terms").click()
    expect(page.get_by_role("status")).to_have_text("New terms of prog recorded.")
    assert live.api("/v1/programs/prog", "admin")["terms"]["payout"]["minimum"] == "25.00"

    # The audit trail in words, with who did it by their token's label.
    live.sign_in(page, "auditor")
    page.goto(f"{live.base}/audit?partner=p1")
    trail = page.locator("main")
    expect(trail).to_contain_text("partner payout account revealed p1 in the payouts page")
    expect(trail).to_contain_text("partner payout account revealed p1 in the SEPA file")
    expect(trail).to_contain_text("payout recorded PF")
    expect(trail).to_contain_text("partner sign in link issued p1")
    expect(trail).to_contain_text("finance · browser finance")
    expect(trail).to_contain_text("admin · browser admin")
