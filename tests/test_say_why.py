"""Say why (issue #12): a refused payout names what held the money back; ``ledger
partner`` shows meetings, payout method and termination; resale months without a
report are ``not_reported``."""

from __future__ import annotations

from typing import Any

from tests import builders as b
from tests.builders import close


def payout(amount: str, statement_id: str = "prog/p1/USD/2025-02") -> dict[str, Any]:
    return b.payout("po1", amount, [statement_id])


def earn(ledger: Any, terms: dict[str, Any], amount: str = "100.00") -> None:
    ledger.ok(b.program(terms=terms), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": amount}), close("2025-02", "2025-03-01T01:00:00Z"))


def test_payout_refused_for_a_missing_tax_form_says_so(ledger):
    earn(ledger, b.terms(payout={"minimum": "0", "requires_tax_form": True}))
    error = ledger.refused(payout("20.00"))
    assert (error["code"], error["field"]) == ("tax_form_missing", "partner_id")
    assert "no tax form on file" in error["message"] and "prog/p1/USD/2025-02" in error["message"]
    errors = ledger.apply(payout("20.00"))[0]["errors"]
    assert [(e["code"], e["field"]) for e in errors] == [("tax_form_missing", "partner_id"), ("invalid", "amount")]


def test_a_partners_payout_request_refused_for_a_missing_tax_form_says_so(ledger):
    earn(ledger, b.terms(payout={"minimum": "0", "requires_tax_form": True}))
    [result] = ledger.apply(b.cmd("request_payout", partner_id="p1", currency="USD"))
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("tax_form_missing", "partner_id"), ("nothing_due", "currency")]
    assert "no tax form on file" in result["error"]["message"]


def test_payout_refused_for_training_or_minimum_says_so(ledger):
    earn(ledger, b.terms(payout={"minimum": "50.00", "requires_training": True}))
    [result] = ledger.apply(payout("20.00"))
    error = result["error"]
    assert (error["code"], error["field"]) == ("below_minimum", "amount")
    assert "below the minimum payout of 50.00" in error["message"]
    assert [(e["code"], e["field"]) for e in result["errors"]] == [
        ("below_minimum", "amount"), ("training_missing", "partner_id"), ("invalid", "amount")]


def test_payout_above_what_is_due_still_says_how_much_is_due(ledger):
    earn(ledger, b.terms())
    error = ledger.refused(payout("20.01"))
    assert (error["code"], error["field"]) == ("invalid", "amount") and "(20.00 USD)" in error["message"]


def test_partner_shows_meetings_payout_method_and_termination(ledger):
    ledger.ok(b.program(preset="referral-tiers"), *b.partner("p1"),
              b.cmd("record_meeting", partner_id="p1", at="2024-06-01T00:00:00Z"),  # another year
              b.cmd("record_meeting", partner_id="p1"),
              b.cmd("set_payout_details", partner_id="p1", method="sepa", account="DE89370400440532013000"))
    partner = ledger.cli_json("partner", "p1")
    meetings = partner["meetings"]
    assert (meetings["held"], meetings["required"]) == (1, 2)  # the referral agreement asks for two a year
    assert partner["payout_method"] == {"method": "sepa", "account": "******************3000", "bic": None}
    assert (partner["terminated_at"], partner["termination_reason"]) == (None, None)
    ledger.ok(b.cmd("terminate_partner", partner_id="p1", reason="breach of contract", at="2025-05-01T00:00:00Z"))
    partner = ledger.cli_json("partner", "p1")
    assert partner["terminated_at"].startswith("2025-05-01") and partner["termination_reason"] == "breach of contract"
    code, table = ledger.cli("partner", "p1")
    assert code == 0 and "meetings.required" in table and "breach of contract" in table


def test_sales_partner_preset_asks_for_no_meetings(ledger):
    ledger.ok(b.program(preset="sales-partner"), *b.partner("p1"))
    assert ledger.cli_json("partner", "p1")["meetings"]["required"] == 0


def test_resale_months_without_a_report_are_not_reported(ledger):
    ledger.ok(b.program(preset="refer-resell"), *b.partner("p1"),
              *b.customer("r1", "p1", channel="resell", at="2025-01-10T00:00:00Z"),
              b.payment("pay1", "r1", {"subscription": "100.00"}, at="2025-01-20T00:00:00Z"),
              b.payment("pay2", "r1", {"subscription": "100.00"}, at="2025-03-05T00:00:00Z"))
    resale = ledger.cli_json("resale", "p1", "--on", "2025-04-15")
    months = {m["period"]: m for m in resale["months"]}
    assert list(months) == ["2025-01", "2025-02", "2025-03"]  # April has not ended
    assert months["2025-02"] == {"period": "2025-02", "state": "not_reported", "currencies": {}}
    january = months["2025-01"]
    assert january["state"] == "reported"
    assert january["currencies"]["USD"] == {"payments": 1, "list_price": "100.00", "margin": "20.00", "wholesale": "80.00"}
    code, table = ledger.cli("resale", "p1", "--on", "2025-04-15")
    assert code == 0 and [line.split()[:2] for line in table.splitlines() if line.startswith("2025-02")] == [["2025-02", "not_reported"]]


def test_a_partner_with_no_resold_customer_has_no_resale_months(ledger):
    ledger.ok(b.program(preset="refer-resell"), *b.partner("p1"), *b.customer("c1", "p1"))
    assert ledger.cli_json("resale", "p1")["months"] == []
