"""The consoles' care items (issue 20): one number format, refusals naming the record and
the field, bad parameters answered by the styled error page, snapshot compare with money
first and counts grouped, tabs only where they apply, and the CLI's shorthands."""

from __future__ import annotations

import re
from decimal import Decimal

from entrypoints.http.formatting import money
from entrypoints.http.pages.audit import counted_alike
from ledger.calendar import months_ended
from tests import builders as b
from tests.builders import TERMS, close
from tests.pages import notice

HTML = {"accept": "text/html"}


def test_money_is_grouped_with_the_currencys_decimals():
    assert money("536457.03", "EUR") == "536,457.03 EUR"
    assert money("5", "USD") == "5.00 USD" and money(Decimal("1000"), "JPY") == "1,000 JPY"
    assert money("-1234.5", "USD") == "-1,234.50 USD" and money("3.5", "USD", signed=True) == "+3.50 USD"
    assert money("0.0001", "USD") == "0.0001 USD", "more decimals than the currency's are shown, never rounded away"
    assert money(None, "USD") == "—"


def paid_scene() -> list[dict]:
    """p1 (tax form on file) earns 10,000.00 USD in January, closed."""
    return [b.program(terms=TERMS), *b.partner("p1"), b.cmd("submit_tax_form", partner_id="p1", form="W-9", at="2025-01-05T00:00:00Z"),
            *b.customer("c1", "p1"), b.payment("pay1", "c1", {"subscription": "50000.00"}, at="2025-01-15T00:00:00Z"),
            close("2025-01", "2025-02-01T01:00:00Z")]


def test_finance_pages_print_money_as_the_dashboard_does(http):
    http.driver.ok(*paid_scene())
    due = http.get("/v1/payouts/due", as_="finance").json()["items"][0]["due"]
    grouped = money(due, "USD")
    assert "," in grouped
    assert grouped in http.get("/finance/payouts", as_="finance").text
    assert grouped in http.get("/finance/statements?period=2025-01", as_="finance").text


def test_a_refused_form_names_the_record_and_the_field(http):
    http.driver.ok(b.program(terms=TERMS), *b.partner("p1"))
    csrf = http.sign_in("admin")
    answer = http.client.post("/admin/partners/p1/rate", data={"csrf_token": csrf, "rate": "1.5"}, follow_redirects=False)
    message = notice(http.client.get(answer.headers["location"]).text)
    assert message.startswith("error: Nothing changed for partner p1: rate: "), message


def test_a_bad_parameter_on_a_page_is_the_styled_error_page_with_a_way_back(http):
    http.driver.ok(b.program(terms=TERMS), *b.partner("p1"))
    http.sign_in("auditor")
    page = http.client.get("/audit?partner=p1&as_of=nonsense", headers=HTML)
    assert page.status_code == 422
    assert "<h1>Something asked for is not valid</h1>" in page.text and "Unprocessable" not in page.text
    assert "as_of: not an ISO-8601 date or time" in page.text
    assert '<a href="/audit">Open the page without these parameters</a>' in page.text
    api = http.get("/v1/partners/p1/audit?as_of=nonsense", as_="auditor")
    assert api.headers["content-type"].startswith("application/problem+json"), "API clients keep problem JSON"


def test_the_resale_tab_shows_only_for_programs_that_resell(http):
    http.driver.ok(b.program(terms=TERMS), *b.partner("p1"),
                   b.program(program_id="rr", preset="refer-resell"), *b.partner("r1", program_id="rr"))
    referral = http.get("/partners/p1", as_="partner", partner_id="p1").text
    assert "/partners/p1/resale" not in referral
    resale = http.get("/partners/r1", as_="partner", partner_id="r1").text
    assert 'href="/partners/r1/resale"' in resale


def test_the_program_page_names_the_program_once(http):
    http.driver.ok(b.program(program_id="referral-tiers", preset="referral-tiers"))
    page = http.get("/admin/programs/referral-tiers", as_="admin").text
    assert re.search(r"<h1>Program referral-tiers</h1>", page)


def test_snapshot_compare_shows_money_first_and_groups_counts():
    changes = [
        {"partner_id": "p1", "what": "balance", "currency": "USD", "a": "1", "b": "2", "change": "+1"},
        *({"partner_id": f"p{i}", "what": "statements issued", "currency": None, "a": "0", "b": "1", "change": "+1"}
          for i in range(1, 4)),
        {"partner_id": "p4", "what": "statements issued", "currency": None, "a": "0", "b": "2", "change": "+2"},
    ]
    assert counted_alike(changes) == [
        {"what": "statements issued", "change": "+1", "partners": ["p1", "p2", "p3"]},
        {"what": "statements issued", "change": "+2", "partners": ["p4"]},
    ]


def test_months_ended_lists_every_month_waiting(http):
    from datetime import UTC, datetime
    assert months_ended("2025-10", datetime(2025, 10, 31, tzinfo=UTC)) == []
    assert months_ended("2025-10", datetime(2026, 1, 5, tzinfo=UTC)) == ["2025-10", "2025-11", "2025-12"]


def test_ledger_periods_words_months_long_past(ledger):
    ledger.ok(b.program(terms=b.terms(), at="2025-01-10T00:00:00Z"), close("2025-01", "2025-02-01T01:00:00Z"))
    code, out = ledger.cli("periods", "prog")
    assert code == 0 and "once it has ended" not in out
    assert re.search(r"next to close: 2025-02; \d+ ended months can be closed now, in order \(2025-02 to \d{4}-\d\d\)", out), out
    assert ledger.cli_json("periods", "prog")["ready_to_close"][0] == "2025-02"


def test_ledger_list_programs(ledger):
    ledger.ok(b.program(terms=b.terms(), at="2025-01-10T00:00:00Z"), *b.partner("p1"))
    [item] = ledger.cli_json("list", "programs")["items"]
    assert (item["program_id"], item["partners"], item["next_to_close"]) == ("prog", {"approved": 1}, "2025-01")
    code, out = ledger.cli("list", "programs")
    assert code == 0 and "prog" in out and "next to close" in out


def test_ledger_payout_records_a_payout_against_the_statement_due(ledger):
    ledger.ok(*paid_scene())
    due = ledger.cli_json("balance", "p1")["currencies"]["USD"]["due"]
    code, out = ledger.cli("payout", "p1", "--amount", due, "--currency", "USD")
    assert code == 0 and '"ok": true' in out, out
    assert ledger.cli("payout", "p1", "--amount", due, "--currency", "USD")[0] == 2, "nothing is due any more"
    assert ledger.cli_json("balance", "p1")["currencies"]["USD"]["paid"] == due


def test_the_audit_trail_says_each_line_in_words_with_the_actors_label_and_a_link(http):
    http.driver.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1", channel="code"))
    assert http.post("/v1/commands", as_="admin", json=b.cmd("change_level", partner_id="p1", level="Gold")).status_code == 200
    page = http.get("/audit?partner=p1", as_="auditor").text
    assert "partner level changed p1 to Gold" in page
    assert "customer claimed c1 by p1 via code" in page
    assert "admin · test admin" in page, "the actor by its token's label, not its id"
    assert '<a href="/admin/partners/p1" title="partner p1">partner level changed p1 to Gold</a>' in page
    assert '<a href="/audit?customer=c1" title="customer c1">customer claimed c1 by p1 via code</a>' in page
