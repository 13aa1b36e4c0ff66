"""Month close, statements, payouts, and reproducing what was issued."""

from tests import builders as b
from tests.builders import TERMS, close, payout


def history(ledger) -> None:
    ledger.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"),
        {"type": "submit_tax_form", "partner_id": "p1", "form": "W-9", "at": "2025-01-05T00:00:00Z"},
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.payment("pay2", "c1", {"subscription": "100.00"}, at="2025-02-15T00:00:00Z"),
    )


def test_close_issues_statement_with_opening_lines_closing_due(ledger):
    history(ledger)
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"))
    statement = ledger.cli_json("statement", "p1", "--period", "2025-01")
    assert statement["statement_id"] == "prog/p1/USD/2025-01"
    assert (statement["opening"], statement["closing"], statement["due"]) == ("0.00", "100.00", "100.00")
    assert [(line["kind"], line["amount"], line["source_id"]) for line in statement["lines"]] == [("commission", "100.00", "pay1")]
    assert set(statement) >= {"statement_id", "partner_id", "period", "currency", "issued_at", "opening", "lines", "closing", "due"}
    assert ledger.balance("p1")["due"] == "100.00"


def test_payout_bounded_by_due_and_moves_opening(ledger):
    history(ledger)
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"))
    error = ledger.refused(payout("po1", "100.01", ["prog/p1/USD/2025-01"]))
    assert error["field"] == "amount" and "exceeds what is due" in error["message"]
    ledger.ok(payout("po1", "100.00", ["prog/p1/USD/2025-01"]))
    balance = ledger.balance("p1")
    assert (balance["paid"], balance["due"], balance["balance"]) == ("100.00", "0.00", "20.00")
    ledger.ok(close("2025-02", "2025-03-01T01:00:00Z"))
    february = ledger.cli_json("statement", "p1", "--period", "2025-02")
    # 20.00 is below the 50.00 minimum: nothing due, carried forward.
    assert (february["opening"], february["closing"], february["due"]) == ("0.00", "20.00", "0.00")


def test_late_refund_lands_in_next_statement_and_issued_one_is_reproducible(ledger):
    history(ledger)
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"))
    issued = ledger.cli_json("statement", "p1", "--period", "2025-01")
    closed_at = issued["issued_at"]
    ledger.ok(b.refund("r1", "pay1", "250.00", at="2025-01-20T00:00:00Z"))  # backdated into January
    assert ledger.cli_json("statement", "p1", "--period", "2025-01", "--known-at", closed_at) == issued
    assert ledger.cli_json("statement", "p1", "--period", "2025-01") == issued  # never rewritten
    january_as_known_then = ledger.balance("p1", as_of=_dt("2025-01-31T23:59:59Z"), known_at=_dt(closed_at))
    assert january_as_known_then["lifetime_commission"] == "100.00"
    assert ledger.balance("p1", as_of=_dt("2025-01-31T23:59:59Z"))["lifetime_commission"] == "50.00"
    ledger.ok(close("2025-02", "2025-03-01T01:00:00Z"))
    february = ledger.cli_json("statement", "p1", "--period", "2025-02")
    assert [(line["kind"], line["amount"]) for line in february["lines"]] == [("refund", "-50.00"), ("commission", "20.00")]
    assert (february["opening"], february["closing"]) == ("100.00", "70.00")


def test_nothing_due_without_tax_form_and_negative_balances_carry_forward(ledger):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"))
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"))
    january = ledger.cli_json("statement", "p1", "--period", "2025-01")
    assert january["due"] == "0.00" and "no tax form on file" in january["carried_forward_because"]
    ledger.ok({"type": "adjust_commission", "adjustment_id": "a1", "partner_id": "p1", "amount": "-300.00",
               "currency": "USD", "reason": "correction", "at": "2025-02-03T00:00:00Z"})
    ledger.ok(close("2025-02", "2025-03-01T01:00:00Z"))
    february = ledger.cli_json("statement", "p1", "--period", "2025-02")
    assert (february["opening"], february["closing"], february["due"]) == ("100.00", "-200.00", "0.00")


def test_periods_close_once_and_in_order(ledger):
    history(ledger)
    ledger.ok(close("2025-02", "2025-03-01T01:00:00Z"))
    assert ledger.refused(close("2025-01", "2025-03-02T00:00:00Z"))["field"] == "period"
    assert ledger.refused(close("2025-02", "2025-03-02T00:00:00Z"))["field"] == "period"
    assert ledger.refused(close("2025-03", "2025-03-15T00:00:00Z"))["field"] == "period"  # not ended yet


def test_hold_days_keep_lines_pending_until_payable(ledger):
    terms = {**TERMS, "payout": {"minimum": "0", "hold_days": 30}}
    ledger.ok(b.program(terms=terms), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-01-15T00:00:00Z"))
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"))
    assert ledger.app.queries.statements("p1", "2025-01") == []  # pending: nothing stated yet
    ledger.ok(close("2025-02", "2025-03-01T01:00:00Z"))
    february = ledger.cli_json("statement", "p1", "--period", "2025-02")
    assert [line["amount"] for line in february["lines"]] == ["20.00"]


def _dt(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def request(currency: str = "USD", amount: str | None = None, partner_id: str = "p1") -> dict:
    command = {"type": "request_payout", "partner_id": partner_id, "currency": currency}
    if amount is not None:
        command["amount"] = amount
    return command


def test_a_partner_requests_what_is_due_once_until_a_payout_settles_it(ledger):
    history(ledger)
    assert ledger.refused(request())["code"] == "nothing_due", "nothing issued, nothing due"
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"))
    assert ledger.refused(request(amount="100.01"))["field"] == "amount"
    assert ledger.refused(request("EUR"))["code"] == "nothing_due"
    [asked] = ledger.ok(request())
    assert (asked["amount"], asked["due"]) == ("100.00", "100.00")
    assert ledger.refused(request(amount="10.00"))["code"] == "conflict", "one open request at a time"
    ledger.ok(payout("po1", "60.00", ["prog/p1/USD/2025-01"]))
    [again] = ledger.ok(request(amount="40.00"))
    assert again["amount"] == "40.00"
    trail_entry = next(e for e in ledger.cli_json("audit", "p1") if e["type"] == "payout.requested")
    assert trail_entry["details"]["statement_id"] == "prog/p1/USD/2025-01"
