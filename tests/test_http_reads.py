"""The reads answer the CLI's figures; a partner sees only its own; CSV totals equal
the statements'; the monthly series; a program's promo slots."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests import builders as b
from tests.builders import TERMS, close


def history(http):
    http.driver.ok(
        b.program(terms={**TERMS, "promo": {"rate": "0.50", "slots": 2}}), *b.partner("p1"), *b.partner("p2"),
        *b.customer("c1", "p1"), *b.customer("c2", "p2"),
        {"type": "submit_tax_form", "partner_id": "p1", "form": "W-9", "at": "2025-01-05T00:00:00Z"},
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.payment("pay2", "c1", {"subscription": "100.00"}, at="2025-02-15T00:00:00Z"),
        b.payment("pay3", "c2", {"subscription": "80.00"}, at="2025-01-20T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def test_reads_answer_what_the_cli_prints(http):
    history(http)
    cli = http.driver.cli_json
    assert http.get("/v1/partners/p1/balance", as_="finance").json() == cli("balance", "p1")
    assert http.get("/v1/partners/p1/balance?as_of=2025-01-31&known_at=2100-01-01", as_="finance").json() == \
        cli("balance", "p1", "--as-of", "2025-01-31", "--known-at", "2100-01-01")
    # The shell's operator acts as an admin: it and an admin see the private code, an auditor does not.
    printed = cli("partner", "p1")
    assert printed["partner_code"] and http.get("/v1/partners/p1", as_="admin").json() == printed
    assert http.get("/v1/partners/p1", as_="auditor").json() == {**printed, "partner_code": None}
    status = http.get("/v1/partners/p1/status?on=2025-06-30", as_="admin").json()
    assert status == cli("status", "p1", "--on", "2025-06-30")
    assert http.get("/v1/partners/p1/statements/2025-01", as_="finance").json() == [cli("statement", "p1", "--period", "2025-01")]
    assert http.get("/v1/partners/p1/audit", as_="auditor").json() == cli("audit", "p1")
    assert http.get("/v1/customers/c1/audit", as_="auditor").json() == cli("audit", "--customer", "c1")


def test_bad_time_parameters_are_named(http):
    history(http)
    refused = http.get("/v1/partners/p1/balance?as_of=yesterday", as_="finance")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "as_of"
    refused = http.get("/v1/partners/p1/balance?known_at=2025-13-45", as_="finance")
    assert refused.status_code == 422 and refused.json()["field"] == "known_at"


def test_a_partner_sees_its_own_and_nothing_of_another(http):
    history(http)
    own = http.get("/v1/partners/p1/balance", as_="partner", partner_id="p1")
    assert own.status_code == 200
    for path in ("", "/balance", "/status", "/statements", "/statements/2025-01", "/statements/2025-01.csv", "/audit", "/revenue"):
        other = http.get(f"/v1/partners/p2{path}", as_="partner", partner_id="p1")
        missing = http.get(f"/v1/partners/nobody{path}", as_="admin")
        assert other.status_code == 404 == missing.status_code, path
        assert other.json()["detail"] == "partner 'p2' does not exist"
    assert http.get("/v1/customers/c1/audit", as_="partner", partner_id="p1").status_code == 403
    assert http.get("/v1/programs/prog", as_="partner", partner_id="p1").status_code == 200
    assert http.get("/v1/programs/other", as_="partner", partner_id="p1").status_code == 404


def test_the_statement_csv_adds_up_to_the_statement(http):
    history(http)
    [statement] = http.get("/v1/partners/p1/statements/2025-01", as_="finance").json()
    response = http.get("/v1/partners/p1/statements/2025-01.csv", as_="finance")
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    by_row = {}
    for row in rows:
        by_row.setdefault(row["row"], []).append(Decimal(row["amount"]))
    assert by_row["opening"][0] + sum(by_row["line"]) == by_row["closing"][0] == Decimal(statement["closing"])
    assert by_row["due"] == [Decimal(statement["due"])]


def test_statements_list_and_monthly_revenue(http):
    history(http)
    listed = http.get("/v1/partners/p1/statements", as_="partner", partner_id="p1").json()
    assert [(s["period"], s["closing"], s["lines"]) for s in listed] == [("2025-01", "250.00", 1)]
    series = http.get("/v1/partners/p1/revenue?months=3&as_of=2025-03-31", as_="partner", partner_id="p1").json()
    assert (series["from"], series["to"]) == ("2025-01", "2025-03")
    months = series["currencies"]["USD"]
    assert [(m["period"], m["earned"], m["commission"]) for m in months] == [
        ("2025-01", "250.00", "250.00"), ("2025-02", "50.00", "50.00"), ("2025-03", "0.00", "0.00")]
    total = sum(Decimal(m["commission"]) for m in months)
    assert str(total) == http.get("/v1/partners/p1/balance", as_="finance").json()["currencies"]["USD"]["lifetime_commission"]


def test_a_program_shows_its_promo_slots(http):
    history(http)
    page = http.get("/v1/programs/prog", as_="admin").json()
    assert page["promo"] == {"rate": "0.50", "slots": 2, "taken": 2, "left": 0, "closed": False}
    assert page["partners"] == {"approved": 2}
    assert page["last_closed_period"] == "2025-01"
    assert http.get("/v1/programs/nope", as_="admin").status_code == 404


def test_a_misspelt_query_parameter_is_refused_not_ignored(http):
    history(http)
    refused = http.get("/v1/partners?stauts=active&limit=5", as_="admin")
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["stauts"]
    assert http.get("/v1/partners/p1/balance?as_of=2025-01-31&min_position=1", as_="admin").status_code == 200
    assert http.get("/healthz?verbose=1").status_code == 422
