"""The reads behind the finance console's figures: a month's statements and everything
due added up per currency (what the CSVs sum to), and how a page of partners is paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from projections.listings import BadListing
from tests import builders as b
from tests.builders import TERMS as USD_TERMS
from tests.builders import close
from tests.conftest import pages

TERMS = {**USD_TERMS, "currencies": ["EUR"]}


def month_of_statements(ledger) -> None:
    """prog: p1 (tax form on file) earns 100.00 USD and 20.00 EUR, p2 (no tax form) 60.00
    USD, so nothing of p2's is due; January closed. Program ``other`` has no partners."""
    ledger.ok(
        b.program(terms=TERMS), b.program("other", terms=TERMS), *b.partner("p1"), *b.partner("p2"),
        b.cmd("submit_tax_form", partner_id="p1", form="W-9", at="2025-01-05T00:00:00Z"),
        *b.customer("c1", "p1"), *b.customer("c2", "p2"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.payment("pay2", "c1", {"subscription": "100.00"}, at="2025-01-16T00:00:00Z", currency="EUR"),
        b.payment("pay3", "c2", {"subscription": "300.00"}, at="2025-01-17T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def test_statement_totals_add_up_the_months_statements_per_currency(ledger):
    month_of_statements(ledger)
    listings = ledger.app.listings
    totals = listings.statement_totals(period="2025-01")
    assert totals == {
        "EUR": {"statements": 1, "opening": "0.00", "closing": "20.00", "due": "0.00"},
        "USD": {"statements": 2, "opening": "0.00", "closing": "160.00", "due": "100.00"},
    }
    items = listings.statements(period="2025-01").items
    for currency, total in totals.items():
        mine = [s for s in items if s["currency"] == currency]
        assert total["statements"] == len(mine)
        assert Decimal(total["closing"]) == sum(Decimal(s["closing"]) for s in mine)
        assert Decimal(total["due"]) == sum(Decimal(s["due"]) for s in mine)
    assert listings.statement_totals(period="2025-01", program="other") == {}
    assert listings.statement_totals(period="2025-02") == {}
    with pytest.raises(BadListing) as refused:
        listings.statement_totals(period="2025-13")
    assert refused.value.field == "period"


def test_payouts_due_totals_add_up_every_page_of_payouts_due(ledger):
    month_of_statements(ledger)
    listings = ledger.app.listings
    assert listings.payouts_due_totals() == {"USD": {"partners": 1, "due": "100.00"}}
    ledger.ok(b.cmd("submit_tax_form", partner_id="p2", form="W-9", at="2025-02-02T00:00:00Z"),
              close("2025-02", "2025-03-01T01:00:00Z"),
              b.cmd("record_payout", payout_id="po1", partner_id="p1", amount="40.00", currency="USD",
                    statement_ids=["prog/p1/USD/2025-01"], at="2025-03-02T00:00:00Z"))
    totals = listings.payouts_due_totals()
    every = [item for page in pages(lambda after: listings.payouts_due(limit=1, after=after)) for item in page.items]
    assert totals == {"USD": {"partners": 2, "due": str(sum(Decimal(item["due"]) for item in every))}}
    assert totals["USD"]["due"] == "120.00", "p1: 100.00 - 40.00; p2: 60.00 once its tax form is on file"
    assert listings.payouts_due_totals(program="other") == {}


def test_payees_show_how_a_page_of_partners_is_paid_masked_and_why_one_cannot_be(ledger):
    month_of_statements(ledger)
    ledger.ok(b.cmd("set_payout_details", partner_id="p1", method="iban", account="DE89370400440532013000"))
    payees = ledger.app.listings.payees(["p2", "p1", "p1", "nobody"])
    assert payees["p1"] == {"method": "iban", "account": ledger.app.queries.partner("p1")["payout_method"]["account"],
                            "bic": "COBADEFFXXX", "holder": "p1 GmbH", "blocked": None}
    assert payees["p1"]["account"].endswith("3000") and "DE89" not in payees["p1"]["account"]
    assert payees["p2"]["blocked"] == "no payout details on file; no tax form on file", "prog asks for a tax form"
    assert payees["nobody"] is None
    assert ledger.app.listings.payees([]) == {}


def test_payout_accounts_are_the_full_accounts_until_the_partner_is_forgotten(ledger):
    month_of_statements(ledger)
    ledger.ok(b.cmd("set_payout_details", partner_id="p1", method="iban", account="DE89370400440532013000"))
    assert ledger.app.listings.payout_accounts(["p1", "p2"]) == {"p1": "DE89370400440532013000"}
    ledger.ok(b.cmd("forget_partner", partner_id="p1", reason="asked to be forgotten"))
    assert ledger.app.listings.payout_accounts(["p1"]) == {"p1": "[forgotten]"}
