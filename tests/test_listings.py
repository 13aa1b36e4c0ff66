"""Listings (issue #12, shared with the HTTP API): filters, stable order, keyset pages,
money as decimal strings, and the ``ledger list`` command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from projections.listings import BadListing, decode_cursor
from tests import builders as b
from tests.builders import listings_world as world
from tests.conftest import pages


def ids(page: Any, key: str = "partner_id") -> list[str]:
    return [item[key] for item in page.items]


def test_partners_filter_by_state_level_status_program_and_id(ledger):
    world(ledger)
    listings = ledger.app.listings
    assert ids(listings.partners()) == ["p1", "p2", "p3", "p4", "p5"]
    assert ids(listings.partners(state="approved")) == ["p1", "p2"]
    assert ids(listings.partners(level="Gold", on=_at("2025-02-01"))) == ["p1"]
    assert ids(listings.partners(level="Gold", on=_at("2025-03-02"))) == ["p1", "p2"]  # levels are effective-dated
    assert ids(listings.partners(status="active", on=_at("2025-02-01"))) == ["p1"]
    assert ids(listings.partners(status="at_risk", on=_at("2025-02-01"))) == ["p2"]
    assert ids(listings.partners(q="P")) == ["p1", "p2", "p3", "p4", "p5"]  # id search ignores case
    assert ids(listings.partners(q="3")) == ["p3"]
    assert ids(listings.partners(q="%")) == []  # the search text is literal
    assert ids(listings.partners(program="elsewhere")) == []
    p1 = listings.partners(q="p1").items[0]
    assert (p1["program_id"], p1["level"], p1["company"], p1["state"]) == ("prog", "Gold", "p1 GmbH", "approved")
    p5 = listings.partners(state="terminated").items[0]
    assert p5["terminated_at"].startswith("2025-01-20") and p5["status"] is None


def test_partner_pages_follow_the_cursor_without_gaps_or_repeats(ledger):
    world(ledger)
    listings = ledger.app.listings
    seen = []
    for page in pages(lambda after: listings.partners(limit=2, after=after)):
        seen += ids(page)
        assert len(page.items) <= 2
    assert seen == ["p1", "p2", "p3", "p4", "p5"]
    # a status filter pages too, skipping the partners it leaves out
    first = listings.partners(status="at_risk", on=_at("2025-02-01"), limit=1, after=None)
    assert ids(first) == ["p2"] and first.next is None


def test_applications_queue_is_oldest_first_and_pending_by_default(ledger):
    world(ledger)
    listings = ledger.app.listings
    pending = listings.applications()
    assert ids(pending) == ["p3"] and pending.items[0]["state"] == "pending"
    assert pending.items[0]["team_size"] == 4 and pending.items[0]["country"] == "DE"
    everything = listings.applications(state=None)
    assert ids(everything) == ["p1", "p2", "p5", "p4", "p3"]  # by application date, then id
    assert ids(listings.applications(state="rejected")) == ["p4"]
    first = listings.applications(state=None, limit=1)
    rest = listings.applications(state=None, limit=10, after=first.next)
    assert ids(first) + ids(rest) == ids(everything)


def test_statements_of_a_month_and_payouts_due_with_the_statement_to_pay(ledger):
    world(ledger)
    listings = ledger.app.listings
    statements = listings.statements(period="2025-01")
    assert [(s["partner_id"], s["closing"], s["due"]) for s in statements.items] == [("p1", "25.00", "25.00")]
    assert statements.items[0]["statement_id"] == "prog/p1/USD/2025-01"
    assert listings.statements(period="2025-02").items == []
    due = listings.payouts_due()
    assert due.items == [{"partner_id": "p1", "program_id": "prog", "currency": "USD", "due": "25.00",
                          "statement_ids": ["prog/p1/USD/2025-01"]}]
    ledger.ok(b.cmd("record_payout", payout_id="po1", partner_id="p1", amount="15.00", currency="USD",
                    statement_ids=["prog/p1/USD/2025-01"], at="2025-02-02T00:00:00Z"))
    assert listings.payouts_due().items[0]["due"] == "10.00"
    ledger.ok(b.cmd("record_payout", payout_id="po2", partner_id="p1", amount="10.00", currency="USD",
                    statement_ids=["prog/p1/USD/2025-01"], at="2025-02-02T00:00:00Z"))
    assert listings.payouts_due().items == []


def test_holds_list_commission_held_for_review_until_decided(ledger):
    world(ledger)
    listings = ledger.app.listings
    [hold] = listings.holds().items
    assert hold == {"partner_id": "p1", "program_id": "prog", "customer_id": "c2", "payment_id": "pay2",
                    "currency": "USD", "amount": "25.00", "since": "2025-01-16T00:00:00+00:00", "reason": "self_referral"}
    ledger.ok(b.refund("r1", "pay2", "50.00", at="2025-01-20T00:00:00Z"))
    assert listings.holds(partner="p1").items[0]["amount"] == "12.50"
    ledger.ok(b.cmd("review_commission", payment_id="pay2", decision="release", reason="checked", at="2025-02-03T00:00:00Z"))
    assert listings.holds().items == []


def test_bad_parameters_name_the_field(ledger):
    listings = ledger.app.listings
    for call, field in [
        (lambda: listings.partners(status="sleepy"), "status"),
        (lambda: listings.partners(limit=0), "limit"),
        (lambda: listings.partners(after="not-a-cursor!"), "after"),
        (lambda: listings.statements(period="2025-13"), "period"),
        (lambda: listings.applications(state="waiting"), "state"),
    ]:
        with pytest.raises(BadListing) as raised:
            call()
        assert raised.value.field == field
    with pytest.raises(BadListing):
        decode_cursor("WyJhIl0", 2)  # a cursor of another listing (one key, not two)


def test_list_command_prints_tables_and_json(ledger):
    world(ledger)
    page = ledger.cli_json("list", "partners", "--state", "approved")
    assert [p["partner_id"] for p in page["items"]] == ["p1", "p2"] and page["next"] is None
    code, out = ledger.cli("list", "payouts-due")
    assert code == 0
    header, row = out.splitlines()[0], out.splitlines()[2]
    assert header.split() == ["partner", "program", "currency", "due", "statements"]
    assert row.split() == ["p1", "prog", "USD", "25.00", "prog/p1/USD/2025-01"]
    assert ledger.cli_json("list", "holds")["items"][0]["payment_id"] == "pay2"
    assert ledger.cli_json("list", "applications")["items"][0]["partner_id"] == "p3"
    assert ledger.cli_json("list", "statements", "--period", "2025-01")["items"][0]["due"] == "25.00"
    code, out = ledger.cli("list", "partners", "--limit", "2")
    assert code == 0 and "more: --after" in out
    everything = ledger.cli_json("list", "partners", "--limit", "2", "--all")
    assert len(everything["items"]) == 5


def test_list_command_refuses_a_bad_parameter_naming_it(ledger, capsys):
    code, _ = ledger.cli("list", "statements", "--period", "April")
    assert code == 2
    assert json.loads(capsys.readouterr().err)["error"]["field"] == "period"


def _at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)
