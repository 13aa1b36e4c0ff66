"""The finance console in-process: months closed and closing the next one (with the
ledger's refusals shown), a month's statements with totals equal to the API's, payouts
due and requests, several payouts recorded at once; who may read and who may act."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests import builders as b
from tests.builders import TERMS, close
from tests.pages import BROWSER, notice


def scene(http) -> None:
    """Program ``prog``: p1 and p2 (tax forms on file) and p3 (none) earn in January and
    February; January is closed. Program ``later`` starts this month (nothing has ended)."""
    this_month = datetime.now(UTC).strftime("%Y-%m-01T00:00:00Z")
    commands = [b.program(terms=TERMS), b.program("later", terms=TERMS, at=this_month)]
    for n, partner in enumerate(("p1", "p2", "p3"), start=1):
        commands += [*b.partner(partner), *b.customer(f"c{n}", partner)]
        if partner != "p3":
            commands.append(b.cmd("submit_tax_form", partner_id=partner, form="W-9", at="2025-01-05T00:00:00Z"))
        commands += [
            b.payment(f"jan{n}", f"c{n}", {"subscription": f"{3 * n}00.00"}, at="2025-01-15T00:00:00Z"),
            b.payment(f"feb{n}", f"c{n}", {"subscription": f"{n}00.00"}, at="2025-02-15T00:00:00Z"),
        ]
    http.driver.ok(*commands, close("2025-01", "2025-02-01T01:00:00Z"))


def submit(http, path: str, form: dict) -> str:
    """Sends a form as the signed-in browser and follows it back: the notice it shows."""
    return notice(http.client.post(path, data=form).text)


# -- months ------------------------------------------------------------------------------


def test_months_page_shows_each_programs_closed_months_and_the_next(http):
    scene(http)
    page = http.get("/finance", as_="finance")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    prog = page.text.split("Program prog")[1].split("</section>")[0]
    closed_at = datetime.fromisoformat(ledger_periods(http, "prog")["closed"][0]["closed_at"])
    assert "<td>2025-01</td>" in prog and f"<td>{closed_at:%Y-%m-%d %H:%M} UTC</td>" in prog
    assert re.search(r'<td class="num">3</td>', prog), "January issued three statements"
    assert re.search(r"<button type=\"submit\">Close 2025-02…</button>", prog)
    later = page.text.split("Program later")[1].split("</section>")[0]
    assert "No month of later is closed yet." in later
    assert re.search(r"<button type=\"submit\" disabled>Close \d{4}-\d{2}…</button>", later), "a month not ended cannot be closed"
    assert "has not ended yet" in later
    assert ledger_periods(http, "prog")["next"] == "2025-02"


def ledger_periods(http, program_id: str) -> dict:
    return http.driver.app.queries.periods(program_id)


def test_finance_closes_the_next_month_from_the_page(http):
    scene(http)
    csrf = http.sign_in("finance")
    answer = http.client.post("/finance/close", data={"csrf_token": csrf, "program_id": "prog", "period": "2025-02"},
                              follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/finance"
    assert notice(http.client.get("/finance").text) == "ok: Closed 2025-02 for prog: 3 statements issued."
    assert ledger_periods(http, "prog")["last_closed"] == "2025-02"
    [closing] = [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "statement.issued" and "2025-02" in e["what"]]
    assert closing["actor"].startswith("finance:")


def test_out_of_order_and_too_early_closes_are_refused_with_the_ledgers_reason(http):
    scene(http)
    csrf = http.sign_in("finance")
    assert submit(http, "/finance/close", {"csrf_token": csrf, "program_id": "prog", "period": "2025-01"}) == (
        "error: prog 2025-01 was not closed: 2025-01 is already closed: months close in order and the first open month is 2025-02")
    this_month = datetime.now(UTC).strftime("%Y-%m")
    too_early = submit(http, "/finance/close", {"csrf_token": csrf, "program_id": "later", "period": this_month})
    assert too_early.startswith(f"error: later {this_month} was not closed: {this_month} has not ended yet")
    assert submit(http, "/finance/close", {"csrf_token": csrf, "program_id": "prog"}) == "error: Choose the program and the month to close."
    assert submit(http, "/finance/close", {"csrf_token": csrf, "program_id": "prog", "period": "January"}).startswith("error: ")
    assert ledger_periods(http, "prog")["last_closed"] == "2025-01"
    assert ledger_periods(http, "later")["closed"] == []


# -- statements --------------------------------------------------------------------------


def money(text: str) -> list[Decimal]:
    return [Decimal(amount) for amount in re.findall(r"(-?\d+\.\d{2}) USD", text)]


def test_a_months_statements_with_totals_equal_to_the_apis(http):
    scene(http)
    page = http.get("/finance/statements?period=2025-01", as_="auditor")
    assert page.status_code == 200
    api = http.get("/v1/statements?period=2025-01", as_="auditor").json()["items"]
    totals = page.text.split('data-currency="USD"')[1].split("</tr>")[0]
    closing = re.search(r'data-total="closing">([\d.]+) USD', totals).group(1)
    due = re.search(r'data-total="due">([\d.]+) USD', totals).group(1)
    assert Decimal(closing) == sum(Decimal(s["closing"]) for s in api) == Decimal("360.00")
    assert Decimal(due) == sum(Decimal(s["due"]) for s in api) == Decimal("180.00"), "p3 has no tax form: nothing due"
    rows = page.text.split('class="finance-statements"')[1]
    for statement in api:
        assert statement["partner_id"] in rows
    assert "no tax form on file" in rows
    assert 'href="/v1/statements.csv?period=2025-01"' in page.text


def test_statements_default_to_the_latest_closed_month_and_say_when_there_are_none(http):
    assert "No month is closed yet" in http.get("/finance/statements", as_="finance").text
    scene(http)
    assert "Statements for 2025-01" in http.get("/finance/statements", as_="finance").text
    empty = http.get("/finance/statements?period=2025-02", as_="finance").text
    assert "No statements for 2025-02" in empty and "finance-statements" not in empty
    assert "No statements for 2025-01 in later" in http.get("/finance/statements?period=2025-01&program=later", as_="finance").text
    assert http.get("/finance/statements?period=2025-13", as_="finance").status_code == 422


def test_statements_page_through_a_long_month(http, monkeypatch):
    scene(http)
    monkeypatch.setattr("entrypoints.http.pages.finance.DEFAULT_LIMIT", 2)
    first = http.get("/finance/statements?period=2025-01", as_="finance").text
    next_url = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    second = http.get(next_url, as_="finance").text
    assert 'rel="next"' not in second and "First page" in second
    partners = re.findall(r"<td><a href=\"/partners/p\d\">(p\d)</a></td>", first.split("finance-statements")[1] + second.split("finance-statements")[1])
    assert partners == ["p1", "p2", "p3"]


# -- payouts (more in test_pages_paying) ------------------------------------------------


def test_nothing_due_says_so(http):
    http.driver.ok(b.program(terms=TERMS))
    page = http.get("/finance/payouts", as_="finance").text
    assert "Nothing is due" in page
    assert "No partner is waiting on a payout request." in http.get("/finance/payouts/requests", as_="finance").text
    assert 'href="/v1/payouts/due.csv"' in page


# -- who may read, who may act -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/finance", "/finance/statements?period=2025-01", "/finance/payouts"])
def test_staff_read_the_pages_and_only_finance_gets_the_buttons(http, path):
    scene(http)
    for role in ("admin", "auditor"):
        page = http.get(path, as_=role)
        assert page.status_code == 200
        assert 'action="/finance/close' not in page.text and 'method="post" action="/finance/payouts"' not in page.text
    assert http.get(path, as_="billing").status_code == 403
    assert http.get(path, as_="partner", partner_id="p1").status_code == 403
    assert http.get(path).status_code == 401
    browser = http.get(path, headers={"Accept": BROWSER})
    assert browser.status_code == 303 and browser.headers["location"] == "/signin"


def test_only_finance_may_close_or_record_payouts(http):
    scene(http)
    for role in ("admin", "auditor", "billing"):
        assert http.post("/finance/close", as_=role, data={"program_id": "prog", "period": "2025-02"}).status_code == 403
        assert http.post("/finance/payouts", as_=role, data={}).status_code == 403
    assert http.post("/finance/payouts", as_="partner", partner_id="p1", data={}).status_code == 403
    assert ledger_periods(http, "prog")["last_closed"] == "2025-01"
    refused = http.post("/finance/close", as_="auditor", headers={"Accept": BROWSER}, data={"program_id": "prog", "period": "2025-02"})
    assert refused.status_code == 403 and "may not do this (command:close_period)" in refused.text


# -- closing safely ----------------------------------------------------------------------


def test_the_confirmation_previews_what_the_close_issues_and_records_nothing(http):
    scene(http)
    before = http.driver.app.store.max_position()
    page = http.get("/finance/close?program_id=prog&period=2025-02", as_="finance")
    assert page.status_code == 200 and "Close 2025-02 for prog?" in page.text
    assert http.driver.app.store.max_position() == before, "a preview records nothing"
    usd = page.text.split('<tr data-currency="USD">')[1].split("</tr>")[0]
    statements, due_partners, _, due = re.findall(r'<td class="num"[^>]*>([^<]+)</td>', usd)
    assert (statements, due_partners) == ("3", "2"), "p3 has no tax form: its statement carries forward"
    http.driver.ok(close("2025-02", "2025-03-01T01:00:00Z"))
    issued = http.get("/v1/statements?period=2025-02", as_="finance").json()["items"]
    assert due == f"{sum(Decimal(s['due']) for s in issued):,.2f} USD", "the preview is what the close issued"
    refused = http.get("/finance/close?program_id=prog&period=2025-02", as_="finance")
    assert refused.status_code == 422 and "cannot be closed" in refused.text and 'action="/finance/close"' not in refused.text
    assert http.get("/finance/close?program_id=prog&period=2025-03", as_="admin").status_code == 403


def test_close_every_program_up_to_a_month_in_order(http):
    scene(http)
    csrf = http.sign_in("finance")
    months = http.client.get("/finance").text
    assert 'action="/finance/close-through"' in months
    answer = http.client.post("/finance/close-through", data={"csrf_token": csrf, "period": "2025-04"})
    assert answer.status_code == 200
    steps = re.findall(r"<strong>(\w+) (\d{4}-\d\d)</strong>: ([^<]+)</li>", answer.text)
    assert [(p, m) for p, m, _ in steps] == [("prog", "2025-02"), ("prog", "2025-03"), ("prog", "2025-04")]
    assert ledger_periods(http, "prog")["last_closed"] == "2025-04"
    again = http.client.post("/finance/close-through", data={"csrf_token": csrf, "period": "2025-04"})
    assert "No program had an ended month up to 2025-04 left to close." in again.text
    assert http.post("/finance/close-through", as_="admin", data={"period": "2025-05"}).status_code == 403
