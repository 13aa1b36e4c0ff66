"""The auditor console in-process: a partner's or customer's trail with each line's
reason (the API's lines), snapshots taken from the page and compared partner by
partner, and the hash chain verified (with an expected head); who may do what."""

from __future__ import annotations

import re

import pytest

from entrypoints.http.pages.audit import differences, net_change
from tests import builders as b
from tests.builders import TERMS, close
from tests.pages import BROWSER, notice


def scene(http) -> None:
    """p1 with customer c1: a payment, a refund, a correction with its reason, January
    closed (nothing due: no tax form); p2 has no customer."""
    http.driver.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.partner("p2"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.refund("r1", "pay1", "100.00", at="2025-01-20T00:00:00Z"),
        b.cmd("adjust_commission", adjustment_id="adj1", partner_id="p1", amount="-5.00", currency="USD",
              reason="double-counted setup fee", at="2025-01-25T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def trail_positions(page: str) -> list[int]:
    table = page.split('class="audit-trail"')[1].split("</table>")[0]
    return [int(p) for p in re.findall(r'<tr>\s*<td class="num">(\d+)</td>', table)]


# -- the trail ---------------------------------------------------------------------------


def test_a_partners_trail_shows_the_apis_lines_with_their_reasons(http):
    scene(http)
    page = http.get("/audit?partner=p1", as_="auditor")
    assert page.status_code == 200
    api = http.get("/v1/partners/p1/audit", as_="auditor").json()
    assert trail_positions(page.text) == [entry["position"] for entry in api]
    assert f"{len(api)} events." in page.text
    assert "adjustment recorded adj1" in page.text
    assert "double-counted setup fee" in page.text, "an admin's reason"
    assert "no tax form on file" in page.text, "why the statement carried its balance forward"
    assert re.search(r"20.00 USD <span class=\"muted\">clawed back</span>", page.text), "the refund's effect on money"
    assert 'href="/audit?customer=c1"' in page.text


@pytest.mark.parametrize(("query", "status"), [
    ("as_of=2025-01-16", 200),
    ("known_at=2020-01-01", 404),  # before anything was recorded the partner did not exist yet
])
def test_as_of_and_known_at_narrow_the_trail_like_the_api(http, query, status):
    scene(http)
    page = http.get(f"/audit?partner=p1&{query}", as_="admin")
    api = http.get(f"/v1/partners/p1/audit?{query}", as_="admin")
    assert page.status_code == api.status_code == status
    if status == 200:
        assert trail_positions(page.text) == [entry["position"] for entry in api.json()]
        assert "double-counted" not in page.text


def test_an_as_of_that_is_not_a_date_is_422(http):
    scene(http)
    assert http.get("/audit?partner=p1&as_of=soon", as_="admin").status_code == 422


def test_a_long_trail_pages_by_log_position(http, monkeypatch):
    scene(http)
    monkeypatch.setattr("entrypoints.http.pages.audit.TRAIL_PAGE", 3)
    every = [entry["position"] for entry in http.get("/v1/partners/p1/audit?as_of=2025-01-31", as_="auditor").json()]
    seen, url = [], "/audit?partner=p1&as_of=2025-01-31"
    for _ in range(50):
        page = http.get(url, as_="auditor").text
        assert f"{len(every)} events" in page and "as_of=2025-01-31" in url, "the next page keeps the filters"
        seen += trail_positions(page)
        found = re.search(r'<a href="([^"]+)" rel="next">', page)
        if not found:
            break
        url = found.group(1).replace("&amp;", "&")
    else:
        pytest.fail("the trail's pages never ended")
    assert seen == every and len(every) > 3
    assert "First page" in page


def test_a_customers_trail_and_the_lookups_that_find_nothing(http):
    scene(http)
    page = http.get("/audit?customer=c1", as_="auditor")
    api = http.get("/v1/customers/c1/audit", as_="auditor").json()
    assert trail_positions(page.text) == [entry["position"] for entry in api]
    assert 'href="/audit?partner=p1"' in page.text
    start = http.get("/audit", as_="auditor")
    assert start.status_code == 200 and "Enter a partner id or a customer id" in start.text
    unknown = http.get("/audit?partner=nobody", as_="auditor")
    assert unknown.status_code == 404 and "partner &#39;nobody&#39; does not exist" in unknown.text
    assert http.get("/audit?customer=nobody", as_="auditor").status_code == 404
    both = http.get("/audit?partner=p1&customer=c1", as_="auditor")
    assert both.status_code == 422 and "not both" in both.text


# -- snapshots ---------------------------------------------------------------------------


def test_an_auditor_takes_snapshots_and_compares_them_partner_by_partner(http):
    scene(http)
    csrf = http.sign_in("auditor")
    assert "No snapshot has been taken yet." in http.client.get("/audit/snapshots").text
    taken = http.client.post("/audit/snapshots", data={"csrf_token": csrf, "label": "before the correction"})
    assert re.fullmatch(r"ok: Snapshot \w+ taken at log position \d+\.", notice(taken.text))
    http.driver.ok(b.cmd("adjust_commission", adjustment_id="adj2", partner_id="p2", amount="12.50", currency="USD",
                         reason="goodwill", at="2025-02-03T00:00:00Z"))
    http.client.post("/audit/snapshots", data={"csrf_token": csrf, "label": ""})
    first, second = http.get("/v1/snapshots", as_="auditor").json()
    assert (first["label"], second["label"]) == ("before the correction", None)
    listing = http.client.get("/audit/snapshots").text
    assert first["snapshot_id"] in listing and second["snapshot_id"] in listing
    compare_link = f'/audit/snapshots/compare?a={first["snapshot_id"]}&amp;b={second["snapshot_id"]}'
    assert compare_link in listing, "each snapshot links to its changes since the one before"

    page = http.client.get(compare_link.replace("&amp;", "&")).text
    assert "1 partner changed" in page and "Balances over all partners: <strong>+12.50 USD</strong>." in page
    rows = re.findall(r"<td>([\w ]+)</td>\s*<td class=\"num\">([^<]+)</td>\s*<td class=\"num\">([^<]+)</td>\s*<td class=\"num \w+\">([^<]+)</td>",
                      page.split('class="audit-compare"')[1])
    assert rows == [("adjusted", "—", "12.50 USD", "+12.50 USD"), ("lifetime commission", "—", "12.50 USD", "+12.50 USD"),
                    ("balance", "—", "12.50 USD", "+12.50 USD")], "p2 had no money in USD before"
    same = http.client.get(f"/audit/snapshots/compare?a={first['snapshot_id']}&b={first['snapshot_id']}").text
    assert "No partner's figures differ" in same and "content hashes are equal" in same
    assert http.get(f"/audit/snapshots/compare?a={first['snapshot_id']}&b=nope", as_="auditor").status_code == 404
    assert "Choose two snapshots" in http.get("/audit/snapshots/compare", as_="auditor").text


def test_differences_count_a_missing_partner_or_currency_as_zero():
    before = [{"partner_id": "p1", "currencies": {"USD": {"earned": "10.00", "balance": "10.00"}}, "onboarded_total": 1,
               "statements": []}]
    after = [
        {"partner_id": "p1", "currencies": {"USD": {"earned": "10.00", "balance": "4.00"}, "EUR": {"earned": "3.00"}},
         "onboarded_total": 1, "statements": [{"statement_id": "s1"}]},
        {"partner_id": "p2", "currencies": {}, "onboarded_total": 2, "statements": []},
    ]
    assert [(d["partner_id"], d["what"], d["currency"], d["a"], d["b"], d["change"]) for d in differences(before, after)] == [
        ("p1", "earned", "EUR", "—", "3.00", "+3.00"),
        ("p1", "balance", "USD", "10.00", "4.00", "-6.00"),
        ("p1", "statements issued", None, "0", "1", "+1"),
        ("p2", "customers onboarded", None, "0", "2", "+2"),
    ]
    assert list(differences(before, before)) == []
    assert net_change(list(differences(before, after)), "balance") == {"USD": "-6.00"}
    assert net_change([], "balance") == {}


def test_staff_read_snapshots_but_only_auditors_and_finance_take_them(http):
    scene(http)
    page = http.get("/audit/snapshots", as_="admin")
    assert page.status_code == 200 and 'action="/audit/snapshots"' not in page.text
    assert http.post("/audit/snapshots", as_="admin", data={"label": "x"}).status_code == 403
    assert http.post("/audit/snapshots", as_="finance", data={"label": "month end"}).status_code == 303
    assert [s["label"] for s in http.get("/v1/snapshots", as_="admin").json()] == ["month end"]
    assert http.get("/audit/snapshots", as_="billing").status_code == 403
    assert http.get("/audit?partner=p1", as_="partner", partner_id="p1").status_code == 403
    browser = http.get("/audit/snapshots", headers={"Accept": BROWSER})
    assert browser.status_code == 303 and browser.headers["location"] == "/signin"


# -- the hash chain ----------------------------------------------------------------------


def test_verify_recomputes_the_chain_and_checks_an_expected_head(http):
    scene(http)
    csrf = http.sign_in("auditor")
    assert "Verify now" in http.client.get("/audit/verify").text
    api = http.post("/v1/verify", as_="auditor").json()
    page = http.client.post("/audit/verify", data={"csrf_token": csrf}).text
    assert "The chain holds" in page and f"{api['events']} events checked" in page
    kept = f"{api['head_position']}:{api['head']}"
    assert f'<code class="hash" id="expect-next">{kept}</code>' in page
    assert "passes through the expected head" in http.client.post("/audit/verify", data={"csrf_token": csrf, "expect": kept}).text
    other = f"{api['head_position']}:{'0' * 64}"
    bad = http.client.post("/audit/verify", data={"csrf_token": csrf, "expect": other}).text
    assert f"Verification failed at position {api['head_position']}" in bad
    assert "history differs from the head recorded at an earlier audit" in bad
    malformed = http.client.post("/audit/verify", data={"csrf_token": csrf, "expect": "last tuesday"})
    assert malformed.status_code == 422 and "POSITION:HEAD" in malformed.text


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_only_auditors_and_finance_verify(http, method):
    scene(http)
    assert http.request(method, "/audit/verify", as_="finance").status_code == 200
    for role in ("admin", "billing"):
        assert http.request(method, "/audit/verify", as_=role).status_code == 403
    assert http.request(method, "/audit/verify", as_="partner", partner_id="p1").status_code == 403
