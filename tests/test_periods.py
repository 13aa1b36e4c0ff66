"""Months close in order (issue #12): after the first close only the month after the
last closed one; never a month that has not ended; ``ledger periods`` shows them."""

from __future__ import annotations

from tests import builders as b
from tests.builders import close


def test_after_the_first_close_only_the_next_month_closes(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", at="2025-03-15T00:00:00Z"))
    ledger.ok(close("2025-02", "2025-03-01T01:00:00Z"))  # the first close may be any ended month
    skipped = ledger.refused(close("2025-04", "2025-05-02T00:00:00Z"))
    assert (skipped["code"], skipped["field"]) == ("out_of_order", "period")
    assert "2025-03" in skipped["message"]
    again = ledger.refused(close("2025-02", "2025-05-02T00:00:00Z"))
    assert (again["code"], again["field"]) == ("out_of_order", "period") and "already closed" in again["message"]
    ledger.ok(close("2025-03", "2025-05-02T00:00:00Z"))
    # March's commission is in March's statement, not April's
    assert ledger.cli_json("statement", "p1", "--period", "2025-03")["closing"] == "20.00"
    ledger.ok(close("2025-04", "2025-05-02T00:00:00Z"))


def test_a_month_that_has_not_ended_is_too_early(ledger):
    ledger.ok(b.program(terms=b.terms()))
    early = ledger.refused(close("2025-03", "2025-03-31T23:00:00Z"))
    assert (early["code"], early["field"]) == ("too_early", "period")
    assert "2025-03-31" in early["message"]


def test_periods_shows_closed_months_and_the_next_one(ledger):
    ledger.ok(b.program(terms=b.terms(), at="2025-01-10T00:00:00Z"))
    fresh = ledger.cli_json("periods", "prog")
    assert (fresh["closed"], fresh["last_closed"], fresh["next"]) == ([], None, "2025-01")
    ledger.ok(close("2025-01", "2025-02-01T01:00:00Z"), close("2025-02", "2025-03-01T01:00:00Z"))
    periods = ledger.cli_json("periods", "prog")
    assert [(c["period"], c["statements"]) for c in periods["closed"]] == [("2025-01", 0), ("2025-02", 0)]
    assert (periods["last_closed"], periods["next"]) == ("2025-02", "2025-03")
    assert periods["next_can_close_after"].startswith("2025-03-31T23:59:59")
    code, out = ledger.cli("periods", "prog")
    assert code == 0 and out.split()[:3] == ["Closed", "months", "of"]
    assert "next to close: 2025-03" in out
    assert ledger.cli("periods", "nope")[0] == 2
