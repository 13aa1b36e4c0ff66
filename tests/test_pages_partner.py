"""The partner dashboard and Reseller tab (in-process): the figures equal the API's,
status with the figure behind it, the time range, customers paged, payouts asked for
through the bus; another partner's pages are 404."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests import builders as b
from tests.builders import TERMS, close
from tests.pages import BROWSER

JANUARY = "from=2025-01&to=2025-03"


def scene(http: Any) -> None:
    """p1 (tax form on file) earned 100.00 in January from c1; c2 is its own company's
    (a self-referral: 25.00 on hold); January closed (100.00 due); 40.00 paid out."""
    http.driver.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.partner("p2"),
        b.cmd("submit_tax_form", partner_id="p1", form="W-9", at="2025-01-05T00:00:00Z"),
        *b.customer("c1", "p1"), *b.customer("c2", "p1", email="cfo@p1.example"),
        b.claim("c3", "p1", at="2025-01-11T00:00:00Z"),  # claimed, never signed up: not qualified
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.payment("pay2", "c2", {"subscription": "125.00"}, at="2025-01-16T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
        b.cmd("record_payout", payout_id="po-1", partner_id="p1", amount="40.00", currency="USD",
              statement_ids=["prog/p1/USD/2025-01"], at="2025-02-03T00:00:00Z"),
    )


def figures(page: str, currency: str = "USD") -> dict[str, str]:
    """The money figures of one currency's block: ``{"balance": "60.00 USD", ...}``."""
    block = page.split(f'data-currency="{currency}"')[1].split('class="account"')[0]
    return {name: value.strip() for name, value in re.findall(r'data-figure="(\w+)">(?:<strong>)?([^<]+)', block)}


def shown(amount: str, currency: str = "USD") -> str:
    return f"{Decimal(amount):,} {currency}"


def test_the_dashboard_shows_the_balance_and_split_the_api_reports(http):
    scene(http)
    api = http.get("/v1/partners/p1/balance", as_="partner", partner_id="p1").json()["currencies"]["USD"]
    [hold] = http.get("/v1/holds?partner=p1", as_="admin").json()["items"]
    http.sign_in("partner", "p1")
    page = http.client.get(f"/partners/p1?{JANUARY}")
    assert page.status_code == 200
    usd = figures(page.text)
    assert usd["balance"] == shown(api["balance"]) and usd["lifetime_commission"] == shown(api["lifetime_commission"])
    assert (usd["due"], usd["paid"], usd["on_hold"]) == (shown(api["due"]), shown(api["paid"]), shown(hold["amount"]))
    assert (api["due"], api["paid"], hold["amount"]) == ("60.00", "40.00", "25.00")
    # What is neither due nor held nor paid: the balance less due less on hold.
    assert usd["not_yet_payable"] == shown(str(Decimal(api["balance"]) - Decimal(api["due"]) - Decimal(hold["amount"])))
    assert "possible self-referral" in page.text and "pay2" in page.text  # on hold, and why
    assert "po-1" in page.text and "40.00 USD" in page.text  # payouts made
    assert 'href="/v1/partners/p1/statements/2025-01.csv"' in page.text
    csv = http.client.get("/v1/partners/p1/statements/2025-01.csv")  # the session cookie authenticates the download
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")


def test_the_dashboard_shows_level_rate_promo_duties_and_customers(http):
    scene(http)
    page = http.get("/partners/p1", as_="partner", partner_id="p1").text
    record = http.get("/v1/partners/p1", as_="admin").json()
    assert record["level"] == "Std" and record["rate"] == "0.20"
    assert "<dd>Std</dd>" in page and "20 %" in page and 'class="badge promo"' not in page
    assert "W-9 on file" in page and "not completed" in page
    customers = http.get("/v1/partners/p1/customers", as_="admin").json()["items"]
    assert [c["customer_id"] for c in customers] == ["c1", "c2", "c3"]
    for customer in customers:
        assert f"<code>{customer['customer_id']}</code>" in page
    assert page.count("badge active\">qualified") == 2 and "referred" in page


def test_a_promo_partner_wears_the_promo_badge_with_the_promo_rate(http):
    http.driver.ok(b.program(), *b.partner("p1"))  # sales-partner: the first three approved get the launch rate
    page = http.get("/partners/p1", as_="admin").text
    assert re.search(r'class="badge promo"[^>]*>50 % Promo<', page)
    assert http.get("/v1/partners/p1", as_="admin").json()["promo_rate"] == "0.50"


def test_a_slot_holder_an_admin_set_to_its_own_rate_wears_no_promo_badge(http):
    http.driver.ok(b.program(), *b.partner("p1"), b.cmd("set_commission_rate", partner_id="p1", rate="0.25"))
    page = http.get("/partners/p1", as_="admin").text
    record = http.get("/v1/partners/p1", as_="admin").json()
    assert (record["promo"], record["promo_rate"], record["rate"]) == (True, None, "0.25")  # holds the slot, earns 25 %
    assert 'class="badge promo"' not in page and "25 %" in page


@pytest.mark.parametrize("preset", ["refer-resell", "referral-tiers"])
def test_a_program_without_a_target_shows_no_at_risk_badge(http, preset):
    http.driver.ok(b.program(preset=preset), *b.partner("p1"))
    status = http.get("/v1/partners/p1/status", as_="partner", partner_id="p1").json()
    page = http.get("/partners/p1", as_="partner", partner_id="p1").text
    assert (status["status"], status["target_per_year"], status["lock_threshold"]) == ("active", None, None)
    assert "badge at_risk\">At risk" not in page and "against a target" not in page
    assert "The program sets no activity target" in page and "lock the status" not in page


def test_status_shows_the_figure_behind_it(http):
    scene(http)
    status = http.get("/v1/partners/p1/status", as_="admin").json()
    page = http.get("/partners/p1", as_="admin").text
    assert status["status"] == "at_risk"
    assert 'class="badge at_risk"' in page
    assert f"<strong class=\"num\">{status['onboarded_in_window']}</strong> new customer" in page
    assert f"<strong class=\"num\">{status['average_per_year']}</strong> a year" in page
    assert "target of <strong class=\"num\">10</strong> a year" in page  # TERMS keep the default target
    http.driver.ok(b.cmd("set_active_until", partner_id="p1", until="2099-06-30"))
    locked = http.get("/partners/p1", as_="admin").text
    assert 'class="badge locked">Locked until 2099-06-30' in locked and "an admin set the partner active until" in locked


def test_on_hold_counts_every_hold_where_the_list_shows_the_oldest(http, monkeypatch):
    from entrypoints.http.pages import partner as pages

    scene(http)
    http.driver.ok(*b.customer("c9", "p1", email="ops@p1.example"),
                   b.payment("pay9", "c9", {"subscription": "50.00"}, at="2025-02-16T00:00:00Z"))
    monkeypatch.setattr(pages, "HOLDS_SHOWN", 1)
    holds = http.get("/v1/holds?partner=p1", as_="admin").json()["items"]
    assert [h["payment_id"] for h in holds] == ["pay2", "pay9"]
    page = http.get("/partners/p1", as_="admin").text
    assert figures(page)["on_hold"] == shown(str(sum(Decimal(h["amount"]) for h in holds)))
    assert "<code>pay2</code>" in page and "<code>pay9</code>" not in page
    assert "The 1 oldest of 2 are shown" in page


def test_a_partner_without_a_status_says_why(http):
    http.driver.ok(b.program(terms=TERMS), b.application("p3"), *b.partner("p5"),
                   b.cmd("terminate_partner", partner_id="p5", reason="fraud", at="2025-01-20T00:00:00Z"))
    pending = http.get("/partners/p3", as_="admin")
    assert pending.status_code == 200 and "No status: the partner is <strong>applied</strong>" in pending.text
    terminated = http.get("/partners/p5", as_="admin").text
    assert "the partner is <strong>terminated</strong> since 2025-01-20 (fraud)" in terminated


def test_what_is_not_yet_payable_says_why(http):
    http.driver.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"),
                   b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"))
    before_close = http.get("/partners/p1", as_="admin").text
    assert figures(before_close)["not_yet_payable"] == "100.00 USD"
    assert "not on a statement yet: it becomes payable when finance closes the month" in before_close
    http.driver.ok(close("2025-01", "2025-02-01T01:00:00Z"))  # no tax form on file: carried forward
    after_close = http.get("/partners/p1", as_="partner", partner_id="p1").text
    assert figures(after_close)["due"] == "0.00 USD" and "Request payout" not in after_close  # nothing to ask for
    assert "carried forward by the 2025-01 statement: no tax form on file" in after_close
    assert '<span class="badge at_risk">missing</span>' in after_close


def test_meetings_this_year_against_the_two_the_referral_agreement_asks(http):
    now = datetime.now(UTC).isoformat()
    http.driver.ok(b.program(preset="referral-tiers"), *b.partner("p1"),
                   b.cmd("record_meeting", partner_id="p1", at=now), b.cmd("complete_training", partner_id="p1", at=now))
    meetings = http.get("/v1/partners/p1", as_="admin").json()["meetings"]
    assert (meetings["held"], meetings["required"]) == (1, 2)
    page = http.get("/partners/p1", as_="admin").text
    assert f"Meetings in {meetings['year']}" in page and "1 held</span> of the 2 a year" in page and "1 to go" in page
    assert "<dd>completed" in page
    assert "required before payouts" in page  # referral-tiers pays only with a tax form on file


def test_the_time_range_applies_to_the_chart_and_the_statements(http):
    scene(http)
    http.driver.ok(b.payment("pay3", "c1", {"subscription": "100.00"}, at="2025-02-10T00:00:00Z"),
                   close("2025-02", "2025-03-01T01:00:00Z"))
    january = http.get("/partners/p1?from=2025-01&to=2025-01", as_="admin").text
    assert "2025-01.csv" in january and "2025-02.csv" not in january
    assert 'src="/partners/p1/chart.svg?from=2025-01&amp;to=2025-01"' in january
    both = http.get("/partners/p1?from=2025-01&to=2025-02", as_="admin").text
    assert "2025-01.csv" in both and "2025-02.csv" in both
    revenue = http.get("/v1/partners/p1/revenue?months=2&as_of=2025-02-28", as_="admin").json()["currencies"]["USD"]
    total = sum(Decimal(m["commission"]) for m in revenue)
    assert f"<strong class=\"num\">{shown(str(total))}</strong>" in both  # the range's commission, as the API sums it
    default = http.get("/partners/p1", as_="admin").text  # the last 12 months: long after these
    assert "No statement issued between" in default and 'src="/partners/p1/chart.svg"' in default


@pytest.mark.parametrize(("query", "says"), [
    ("from=2025-13", "2025-13 is not a month"),
    ("to=March", "March is not a month"),
    ("from=2025-05&to=2025-01", "starts (2025-05) after it ends (2025-01)"),
    ("from=2000-01&to=2025-01", "at most 120 months"),
])
def test_a_bad_time_range_is_refused_clearly(http, query, says):
    scene(http)
    page = http.get(f"/partners/p1?{query}", as_="admin", headers={"Accept": BROWSER})
    assert page.status_code == 422 and "Time range not applied" in page.text and says in page.text
    assert 'aria-invalid="true"' in page.text
    chart = http.get(f"/partners/p1/chart.svg?{query}", as_="admin")
    assert chart.status_code == 422 and says in chart.json()["detail"]


def test_a_misspelt_filter_is_refused_not_ignored(http):
    scene(http)
    misspelt = http.get("/partners/p1?form=2025-01", as_="admin")
    assert misspelt.status_code == 422 and misspelt.json()["field"] == "form"


def test_the_chart_is_an_svg_of_the_months_asked(http):
    scene(http)
    chart = http.get("/partners/p1/chart.svg?from=2025-01&to=2025-03", as_="partner", partner_id="p1")
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert "script-src" not in chart.headers["content-security-policy"]
    svg = chart.text
    assert all(label in svg for label in ("Jan 25", "Feb 25", "Mar 25")) and "Apr 25" not in svg
    assert "100.00" in svg  # January's commission, as the bar's value
    default = http.get("/partners/p1/chart.svg", as_="admin").text
    assert datetime.now(UTC).strftime("%b %y") in default


def test_customers_are_paged(http):
    http.driver.ok(b.program(terms=TERMS), *b.partner("p1"),
                   *[c for n in range(25) for c in b.customer(f"c{n:02d}", "p1", at=f"2025-01-10T00:{n:02d}:00Z")])
    first = http.get("/partners/p1", as_="admin").text
    assert "<code>c00</code>" in first and "<code>c19</code>" in first and "<code>c20</code>" not in first
    cursor = re.search(r'after=([^"#]+)#customers', first).group(1)
    second = http.get(f"/partners/p1?after={cursor}", as_="admin").text
    assert "<code>c20</code>" in second and "<code>c24</code>" in second and "<code>c00</code>" not in second
    assert "First page" in second and "Next 20" not in second
    assert http.get("/partners/p1?after=nonsense", as_="admin").status_code == 422


def test_a_partner_asks_for_its_payout_and_finance_sees_the_request(http):
    scene(http)
    csrf = http.sign_in("partner", "p1")
    page = http.client.get("/partners/p1").text
    assert "Request payout of 60.00 USD" in page
    answer = http.client.post("/partners/p1/payout-request", data={"currency": "USD", "csrf_token": csrf},
                              follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/partners/p1"
    after = http.client.get("/partners/p1").text
    assert "Payout of 60.00 USD requested" in after  # the notice
    assert "Request payout of" not in after and "waiting for finance" in after
    [request] = http.get("/v1/payouts/requests", as_="finance").json()["items"]
    assert (request["partner_id"], request["amount"], request["currency"]) == ("p1", "60.00", "USD")
    [entry] = [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "payout.requested"]
    assert entry["actor"] == "partner:p1"
    again = http.client.post("/partners/p1/payout-request", data={"currency": "USD", "csrf_token": csrf},
                             follow_redirects=False)
    assert again.status_code == 303
    assert "already waiting for finance" in http.client.get("/partners/p1").text


def test_a_refused_payout_request_says_why(http):
    http.driver.ok(b.program(terms=TERMS), *b.partner("p1"))
    csrf = http.sign_in("partner", "p1")
    page = http.client.get("/partners/p1").text
    assert "Request payout" not in page and "No commission yet" in page
    http.client.post("/partners/p1/payout-request", data={"currency": "USD", "csrf_token": csrf}, follow_redirects=False)
    assert "nothing is due to p1 in USD" in http.client.get("/partners/p1").text
    http.client.post("/partners/p1/payout-request", data={"csrf_token": csrf}, follow_redirects=False)
    assert "currency" in http.client.get("/partners/p1").text.lower()
    without_token = http.client.post("/partners/p1/payout-request", data={"currency": "USD"}, follow_redirects=False)
    assert without_token.status_code == 403


def test_finance_may_ask_on_a_partners_behalf_and_admin_may_not(http):
    scene(http)
    assert http.post("/partners/p1/payout-request", as_="admin", data={"currency": "USD"}).status_code == 403
    assert http.post("/partners/p1/payout-request", as_="finance", data={"currency": "USD"}).status_code == 303
    [entry] = [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "payout.requested"]
    assert entry["actor"].startswith("finance:")
    staff_view = http.get("/partners/p1", as_="admin").text
    assert "waiting for finance" in staff_view and "Request payout" not in staff_view


@pytest.mark.parametrize("path", ["/partners/p1", "/partners/p1/chart.svg", "/partners/p1/resale"])
def test_another_partners_pages_do_not_exist(http, path):
    scene(http)
    assert http.get(path, as_="partner", partner_id="p2").status_code == 404
    assert http.get(path, as_="partner", partner_id="p1").status_code == 200
    assert http.get(path, as_="billing").status_code == 403
    assert http.get(path.replace("p1", "nobody"), as_="auditor").status_code == 404
    http.sign_in("partner", "p2")
    page = http.client.get(path, headers={"Accept": BROWSER})
    assert page.status_code == 404 and "does not exist" in page.text and "60.00" not in page.text


def test_another_partner_cannot_ask_for_a_payout(http):
    scene(http)
    answer = http.post("/partners/p1/payout-request", as_="partner", partner_id="p2", data={"currency": "USD"})
    assert answer.status_code == 404
    assert http.get("/v1/payouts/requests", as_="finance").json()["items"] == []


def test_the_resale_tab_shows_margin_and_wholesale_per_month_and_months_not_reported(http):
    http.driver.ok(b.program(preset="refer-resell"), *b.partner("p1"),
                   *b.customer("r1", "p1", channel="resell", at="2025-01-10T00:00:00Z"),
                   b.payment("pay1", "r1", {"subscription": "100.00"}, at="2025-01-20T00:00:00Z"),
                   b.payment("pay2", "r1", {"subscription": "100.00"}, at="2025-03-05T00:00:00Z"))
    resale = http.driver.app.queries.resale("p1")
    page = http.get("/partners/p1/resale", as_="partner", partner_id="p1").text
    assert 'aria-current="page">Resale' in page and 'href="/partners/p1">Dashboard' in page
    january = next(m for m in resale["months"] if m["period"] == "2025-01")["currencies"]["USD"]
    assert re.search(r"<td>2025-01</td><td>USD</td><td class=\"num\">1</td><td class=\"num\">100.00 USD</td>\s*"
                     rf"<td class=\"num\">{january['margin']} USD</td><td class=\"num\">{january['wholesale']} USD</td>", page)
    assert re.search(r"<td>2025-02</td><td colspan=\"5\"><span class=\"badge at_risk\">not reported", page)
    not_reported = sum(1 for m in resale["months"] if m["state"] == "not_reported")
    assert f'<div class="figure">{not_reported}</div>' in page
    assert 'data-figure="margin">40.00 USD' in page and 'data-figure="wholesale">160.00 USD' in page


def test_the_resale_tab_of_a_partner_who_resells_nothing_says_so(http):
    http.driver.ok(b.program(preset="refer-resell"), *b.partner("p1"), *b.customer("c1", "p1"))
    page = http.get("/partners/p1/resale", as_="admin").text
    assert "No resold customers yet" in page


# -- the queries the dashboard added ------------------------------------------------------


def test_payouts_newest_first_and_one_partners_payout_requests(http):
    scene(http)
    queries, listings = http.driver.app.queries, http.driver.app.listings
    http.driver.ok(b.cmd("record_payout", payout_id="po-2", partner_id="p1", amount="10.00", currency="USD",
                         statement_ids=["prog/p1/USD/2025-01"], at="2025-02-04T00:00:00Z"))
    assert [(p["payout_id"], p["amount"]) for p in queries.payouts("p1")] == [("po-2", "10.00"), ("po-1", "40.00")]
    assert queries.payouts("p1", limit=1)[0]["paid_at"] == "2025-02-04T00:00:00+00:00"
    assert queries.payouts("p2") == []
    http.driver.ok(b.cmd("request_payout", partner_id="p1", currency="USD"))
    assert [r["partner_id"] for r in listings.payout_requests(partner="p1").items] == ["p1"]
    assert listings.payout_requests(partner="p2").items == []
    assert queries.terms("prog")["payout"]["minimum"] == "50.00"
