"""Earnings in detail (issue 18 item 6): statement lines carry customer, payment, base,
rate and amount on the page, in the CSV and in the API's and CLI's JSON; the dashboard
shows clawed back, costs deducted and adjustments; the customers table shows each
customer's revenue, commission earned and when its commission period ends."""

from __future__ import annotations

import csv
import io
import re

from tests import builders as b
from tests.builders import TERMS, close

# Std earns 20 % for 24 months from a customer's first payment.
TERMS_24 = {**TERMS, "levels": {"Std": {"rate": "0.20", "period_months": 24}}}


def scene(http) -> None:
    """p1 (tax form on file): c1 pays 500.00 (100.00 earned), 50.00 of it refunded (10.00
    clawed back); a 100.00 cost for c1 deducts 20.00; finance adjusts +5.00; c2 never pays."""
    http.driver.ok(
        b.program(terms=TERMS_24), *b.partner("p1"), *b.partner("p2"),
        b.cmd("submit_tax_form", partner_id="p1", form="W-9", at="2025-01-05T00:00:00Z"),
        *b.customer("c1", "p1"), *b.customer("c2", "p1"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.cmd("record_refund", refund_id="re1", payment_id="pay1", amount="50.00", at="2025-01-20T00:00:00Z"),
        b.cmd("record_cost", cost_id="cost1", customer_id="c1", amount="100.00", currency="USD", kind="marketing",
              at="2025-01-21T00:00:00Z"),
        b.cmd("adjust_commission", adjustment_id="adj1", partner_id="p1", amount="5.00", currency="USD", reason="booth",
              at="2025-01-22T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


EXPECTED = {  # kind -> (customer_id, payment_id, base, rate, amount)
    "commission": ("c1", "pay1", "500.00", "0.20", "100.00"),
    "refund": ("c1", "pay1", None, "0.20", "-10.00"),
    "cost_deduction": ("c1", None, "100.00", "0.20", "-20.00"),
    "adjustment": (None, None, None, None, "5.00"),
}


def _lines(document):
    return {line["kind"]: (line["customer_id"], line["payment_id"], line["base"], line["rate"], line["amount"])
            for line in document["lines"]}


def test_statement_lines_carry_customer_payment_base_rate_and_amount_in_api_cli_and_csv(http):
    scene(http)
    [api] = http.get("/v1/partners/p1/statements/2025-01", as_="partner", partner_id="p1").json()
    assert _lines(api) == EXPECTED and api["closing"] == "75.00"
    cli = http.driver.cli_json("statement", "p1", "--period", "2025-01")
    assert _lines(cli) == EXPECTED
    answer = http.get("/v1/partners/p1/statements/2025-01.csv", as_="partner", partner_id="p1")
    rows = [r for r in csv.DictReader(io.StringIO(answer.text)) if r["row"] == "line"]
    assert {r["kind"]: (r["customer_id"] or None, r["payment_id"] or None, r["base"] or None, r["rate"] or None, r["amount"])
            for r in rows} == EXPECTED


def test_the_statement_page_shows_the_same_lines(http):
    scene(http)
    page = http.get("/partners/p1/statements/2025-01", as_="partner", partner_id="p1").text
    row = page.split('data-line="pay1"')[1].split("</tr>")[0]
    assert "<code>c1</code>" in row and "<code>pay1</code>" in row and "500.00 USD" in row and "20 %" in row
    assert 'data-figure="amount">100.00 USD' in row
    assert 'data-figure="closing"><strong>75.00 USD' in page
    dashboard = http.get("/partners/p1?from=2025-01&to=2025-03", as_="partner", partner_id="p1").text
    assert 'href="/partners/p1/statements/2025-01"' in dashboard
    assert http.get("/partners/p1/statements/2025-01", as_="partner", partner_id="p2").status_code == 404
    assert http.get("/partners/p1/statements/2024-12", as_="partner", partner_id="p1").status_code == 404


def test_the_dashboard_shows_clawed_back_costs_deducted_and_adjustments_as_the_api(http):
    scene(http)
    api = http.get("/v1/partners/p1/balance", as_="partner", partner_id="p1").json()["currencies"]["USD"]
    page = http.get("/partners/p1", as_="partner", partner_id="p1").text
    parts = page.split('data-currency-parts="USD"')[1].split("</tr>")[0]
    shown = dict(re.findall(r'data-figure="(\w+)">([^<]+)<', parts))
    assert shown == {"earned": f"{api['earned']} USD", "clawed_back": f"{api['clawed_back']} USD",
                     "deducted": f"{api['deducted']} USD", "adjusted": f"{api['adjusted']} USD",
                     "lifetime": f"{api['lifetime_commission']} USD"}
    assert (api["earned"], api["clawed_back"], api["deducted"], api["adjusted"]) == ("100.00", "10.00", "20.00", "5.00")


def test_the_customers_table_shows_revenue_commission_and_when_commission_ends(http):
    scene(http)
    customers = {c["customer_id"]: c for c in http.get("/v1/partners/p1/customers", as_="partner", partner_id="p1").json()["items"]}
    # c1: 500.00 of revenue; 100.00 earned less 10.00 clawed back less 20.00 deducted (adjustments are about no customer).
    assert customers["c1"]["earnings"] == {"USD": {"revenue": "500.00", "commission": "70.00"}}
    assert customers["c1"]["commission_until"][:10] == "2027-01-15"  # first payment + 24 months
    assert (customers["c2"]["earnings"], customers["c2"]["commission_until"]) == ({}, None)
    page = http.get("/partners/p1", as_="partner", partner_id="p1").text
    row = page.split("<code>c1</code>")[1].split("</tr>")[0]
    assert 'data-figure="revenue">500.00 USD' in row and 'data-figure="commission">70.00 USD' in row and "2027-01-15" in row
    assert "from the first payment" in page.split("<code>c2</code>")[1].split("</tr>")[0]
