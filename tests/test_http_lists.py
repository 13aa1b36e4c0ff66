"""The lists over HTTP: filters, cursor pages, CSV files whose totals equal the
statements', and the payout request queue from a partner's request to finance's payout."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests import builders as b
from tests.builders import TERMS, close, payout


def history(http, partners=("p1", "p2", "p3")):
    commands = [b.program(terms=TERMS)]
    for n, partner_id in enumerate(partners):
        customer = f"c-{partner_id}"
        commands += [*b.partner(partner_id), *b.customer(customer, partner_id, channel="resell" if n == 2 else "link"),
                     {"type": "submit_tax_form", "partner_id": partner_id, "form": "W-9", "at": "2025-01-05T00:00:00Z"},
                     b.payment(f"pay-{partner_id}", customer, {"subscription": f"{300 + 100 * n}.00"}, at="2025-01-15T00:00:00Z")]
    http.driver.ok(*commands, b.application("late"), close("2025-01", "2025-02-01T01:00:00Z"))


def test_partners_page_by_cursor_and_filter(http):
    history(http)
    first = http.get("/v1/partners?limit=2", as_="admin").json()
    assert [p["partner_id"] for p in first["items"]] == ["late", "p1"]
    second = http.get(f"/v1/partners?limit=2&after={first['next']}", as_="admin").json()
    assert [p["partner_id"] for p in second["items"]] == ["p2", "p3"] and second["next"] is None
    assert [p["partner_id"] for p in http.get("/v1/partners?q=P2", as_="admin").json()["items"]] == ["p2"]
    assert [p["partner_id"] for p in http.get("/v1/partners?state=applied", as_="admin").json()["items"]] == ["late"]
    bad = http.get("/v1/partners?after=garbage", as_="admin")
    assert bad.status_code == 422 and bad.json()["field"] == "after"
    assert http.get("/v1/partners?status=sleepy", as_="admin").status_code == 422


def test_applications_queue_and_customers(http):
    history(http)
    queue = http.get("/v1/applications", as_="admin").json()["items"]
    assert [(a["partner_id"], a["state"]) for a in queue] == [("late", "pending")]
    customers = http.get("/v1/partners/p3/customers", as_="partner", partner_id="p3").json()["items"]
    assert [(c["customer_id"], c["kind"], c["qualified"]) for c in customers] == [("c-p3", "resold", True)]
    assert http.get("/v1/partners/p3/customers", as_="partner", partner_id="p1").status_code == 404


def test_the_months_csv_totals_equal_its_statements(http):
    history(http)
    listed = http.get("/v1/statements?period=2025-01", as_="finance").json()["items"]
    response = http.get("/v1/statements.csv?period=2025-01", as_="finance")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == len(listed) == 2  # p3 resells: its discount is no statement line
    for column in ("closing", "due"):
        assert sum(Decimal(r[column]) for r in rows) == sum(Decimal(s[column]) for s in listed)
    for row in rows:
        [statement] = http.get(f"/v1/partners/{row['partner_id']}/statements/2025-01", as_="finance").json()
        assert (row["closing"], row["due"]) == (statement["closing"], statement["due"])
    due = list(csv.DictReader(io.StringIO(http.get("/v1/payouts/due.csv", as_="finance").text)))
    assert {(r["partner_id"], r["due"]) for r in due} == {(s["partner_id"], s["due"]) for s in listed if Decimal(s["due"]) > 0}


def test_a_partners_payout_request_waits_in_finances_queue_until_paid(http):
    history(http)
    assert http.get("/v1/payouts/requests", as_="finance").json()["items"] == []
    asked = http.post("/v1/commands", as_="partner", partner_id="p1", json={"type": "request_payout", "partner_id": "p1", "currency": "USD"})
    assert asked.status_code == 200, asked.text
    other = http.post("/v1/commands", as_="partner", partner_id="p1", json={"type": "request_payout", "partner_id": "p2", "currency": "USD"})
    assert other.status_code == 404
    [request] = http.get("/v1/payouts/requests", as_="finance").json()["items"]
    assert (request["partner_id"], request["amount"], request["statement_id"]) == ("p1", "60.00", "prog/p1/USD/2025-01")
    paid = http.post("/v1/commands", as_="finance", json=payout("po1", "60.00", [request["statement_id"]]))
    assert paid.status_code == 200, paid.text
    assert http.get("/v1/payouts/requests", as_="finance").json()["items"] == []
    assert http.get("/v1/payouts/requests", as_="partner", partner_id="p1").status_code == 403
