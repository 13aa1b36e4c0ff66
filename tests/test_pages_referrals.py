"""Referral links, codes, the funnel, leads and resellers' customers over HTTP
(in-process): ``/r/{link}`` counts a click and sends the visitor on; the dashboard and
the API show the link, the code only to the partner itself and admins, and the funnel."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from ledger.partner import Partner
from tests import builders as b
from tests.builders import TERMS

LANDING = "https://vendor.example/signup?plan=pro"


def linked(http: Any, landing: str | None = LANDING) -> str:
    """p1 and p2 approved in a program whose links land on ``landing``; p1's link."""
    http.driver.ok(b.program(terms={**TERMS, "landing_url": landing}), *b.partner("p1"), *b.partner("p2"))
    return str(http.driver.app.queries.partner("p1")["referral_link"])


def test_a_link_counts_a_click_per_day_and_lands_with_the_link_as_ref(http):
    link = linked(http)
    answer = http.get(f"/r/{link}?utm_source=newsletter&ref=forged")
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "vendor.example", "/signup")
    assert parse_qs(target.query) == {"plan": ["pro"], "utm_source": ["newsletter"], "ref": [link]}
    assert http.get(f"/r/{link.upper()}").status_code == 302  # links are read case-insensitively
    [month] = http.driver.app.referrals.funnel(http.driver.app.store.load(Partner, "p1"), 1)["months"]
    assert month["clicks"] == 2


def test_an_unknown_link_a_gone_partner_or_no_landing_page_is_the_same_404_and_counts_nothing(http):
    link = linked(http)
    for path in ("/r/nosuchlink", "/r/" + "x" * 65):
        missing = http.get(path, headers={"Accept": "text/html"})
        assert missing.status_code in (404, 422) and "text/html" in missing.headers["content-type"]
    assert http.get("/r/nosuchlink").json()["detail"] == "there is no such referral link"
    http.driver.ok(b.cmd("terminate_partner", partner_id="p1", reason="fraud"))
    assert http.get(f"/r/{link}").status_code == 404
    http.driver.ok(b.program("bare", terms=TERMS), b.application("p3", "bare"), b.approve("p3"))
    bare = http.driver.app.queries.partner("p3")["referral_link"]
    assert http.get(f"/r/{bare}").status_code == 404
    assert http.driver.app.clicks.per_month(link, *_all_time()) == {}


def _all_time() -> tuple[Any, Any]:
    from datetime import date

    return date(2000, 1, 1), date(2100, 1, 1)


def test_the_code_shows_to_the_partner_itself_and_admins_only(http):
    linked(http)
    for caller, partner_id, sees in (("admin", None, True), ("partner", "p1", True), ("finance", None, False),
                                     ("auditor", None, False)):
        record = http.get("/v1/partners/p1", as_=caller, partner_id=partner_id).json()
        assert record["referral_link"] and bool(record.get("partner_code")) is sees, caller
