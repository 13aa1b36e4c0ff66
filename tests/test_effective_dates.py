"""What was true on a fact's own date decides, not what is known when it is recorded."""

from tests import builders as b
from tests.builders import TERMS, close


def test_a_claim_dated_before_the_approval_does_not_qualify(ledger):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), b.signup("c1"))
    error = ledger.refused(b.claim("c1", "p1", at="2025-01-02T12:00:00Z"))  # approved on 01-03
    assert error["code"] == "claim_rejected" and "not yet approved" in error["message"]


def test_a_cost_dated_before_the_attribution_deducts_nothing(ledger):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1", at="2025-01-10T00:00:00Z"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-01-15T00:00:00Z"))
    [result] = ledger.ok(b.cost("k1", "c1", "50.00", at="2025-01-05T00:00:00Z"))
    assert result["deduction"] == "0.00"


def test_a_tax_form_filed_after_the_month_does_not_make_that_month_payable(ledger):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
              {"type": "submit_tax_form", "partner_id": "p1", "form": "W-9", "at": "2025-02-05T00:00:00Z"})
    ledger.ok(close("2025-01", "2025-02-10T00:00:00Z"))
    january = ledger.cli_json("statement", "p1", "--period", "2025-01")
    assert january["due"] == "0.00" and "no tax form on file" in january["carried_forward_because"]


def test_a_refund_of_a_pending_commission_waits_for_it(ledger):
    terms = {**TERMS, "payout": {"minimum": "0", "hold_days": 30}}
    ledger.ok(b.program(terms=terms), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-01-20T00:00:00Z"),
              b.refund("r1", "pay1", "50.00", at="2025-01-25T00:00:00Z"))
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"))
    assert ledger.app.queries.statements("p1", "2025-01") == []  # neither is stated yet
    ledger.ok(close("2025-02", "2025-03-01T01:00:00Z"))
    february = ledger.cli_json("statement", "p1", "--period", "2025-02")
    assert sorted(line["amount"] for line in february["lines"]) == ["-10.00", "20.00"]


def test_short_payout_accounts_are_mostly_masked(ledger):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"))
    [result] = ledger.ok({"type": "set_payout_details", "partner_id": "p1", "method": "ach", "account": "1234"})
    assert result["account"] == "***4"  # at most a third shown
