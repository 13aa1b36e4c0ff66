"""Referral links, codes, the funnel, leads and resellers' customers over HTTP
(in-process): ``/r/{link}`` counts a click and sends the visitor on; the dashboard and
the API show the link, the code only to the partner itself and admins, and the funnel."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ledger.calendar import period_of
from ledger.referral import LEAD_CURRENT_CUSTOMER, LEAD_TRAINING
from tests import builders as b
from tests.builders import TERMS
from tests.pages import notice

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
    [month] = http.driver.app.referrals.funnel("p1", 1)["months"]
    assert month["clicks"] == 2
    code = http.get("/v1/partners/p1", as_="admin").json()["partner_code"]
    assert code.replace("-", "") not in answer.headers["location"].upper().replace("-", "")  # never on a public page


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


def test_the_dashboard_shows_the_link_to_copy_and_the_code_only_to_its_partner_and_admins(http):
    link = linked(http)
    code = http.get("/v1/partners/p1", as_="admin").json()["partner_code"]
    http.sign_in("partner", "p1")
    own = http.client.get("/partners/p1").text
    assert f'value="http://testserver/r/{link}"' in own and 'data-copy="referral-link"' in own
    assert f'value="{code}"' in own and "share it only one to one" in own and "Make a new code" in own
    assert f'value="{code}"' in http.get("/partners/p1", as_="admin").text
    for role in ("finance", "auditor"):
        staff = http.get("/partners/p1", as_=role).text
        assert link in staff and code not in staff and code.replace("-", "") not in staff, role


def test_a_partner_rotates_its_code_from_the_dashboard_and_the_old_one_stops_working(http):
    linked(http)
    old = http.get("/v1/partners/p1", as_="partner", partner_id="p1").json()["partner_code"]
    csrf = http.sign_in("partner", "p1")
    answer = http.client.post("/partners/p1/code", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/partners/p1#share"
    assert notice(http.client.get("/partners/p1").text).startswith("ok: New partner code made")
    new = http.get("/v1/partners/p1", as_="partner", partner_id="p1").json()["partner_code"]
    assert new != old
    error = http.driver.refused(b.cmd("sign_up_customer", customer_id="c1", referral_code=old))
    assert error["code"] == "code_rotated"


def test_the_funnel_counts_clicks_sign_ups_paying_customers_and_commission_alike_on_page_and_api(http):
    link = linked(http)
    now = datetime.now(UTC)
    for _ in range(3):
        assert http.get(f"/r/{link}").status_code == 302
    today = now.isoformat()
    http.driver.ok(
        b.cmd("sign_up_customer", customer_id="c1", referral_link=link, at=today),
        b.cmd("sign_up_customer", customer_id="c2", referral_link=link, at=today),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at=today),
    )
    api = http.get("/v1/partners/p1/funnel?months=1", as_="partner", partner_id="p1").json()
    [month] = api["months"]
    assert month == {"period": period_of(now), "clicks": 3, "sign_ups": 2, "paying_customers": 1,
                     "commission": {"USD": "100.00"}}
    assert api["referral_link"] == link and api["from"] == api["to"] == period_of(now)
    assert http.driver.cli_json("funnel", "p1", "--months", "1") == api
    page = http.get("/partners/p1", as_="partner", partner_id="p1").text
    row = page.split(f'data-period="{period_of(now)}"')[1].split("</tr>")[0]
    assert re.findall(r'data-figure="(\w+)">([^<]+)<', row) == [
        ("clicks", "3"), ("sign_ups", "2"), ("paying_customers", "1"), ("commission", "100.00 USD")]
    assert http.get("/v1/partners/p2/funnel", as_="partner", partner_id="p2").json()["months"][-1]["clicks"] == 0


def test_a_partner_submits_leads_from_its_dashboard_and_sees_each_ones_state(http):
    linked(http)
    http.driver.ok(*b.customer("c1", "p2", email="ceo@current.example"))
    csrf = http.sign_in("partner", "p1")
    lead = {"csrf_token": csrf, "company": "Hooli", "email": "cto@hooli.example", "note": "met at the fair", "form_key": "k1"}
    answer = http.client.post("/partners/p1/leads", data=lead, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/partners/p1#leads"
    assert http.client.post("/partners/p1/leads", data=lead).status_code == 200  # a double submit records once
    current = {**lead, "company": "Current Inc", "email": "sales@current.example", "form_key": "k2"}
    http.client.post("/partners/p1/leads", data=current, follow_redirects=False)
    page = http.client.get("/partners/p1").text
    assert notice(page) == f"error: Lead not accepted: {LEAD_CURRENT_CUSTOMER}"
    leads = http.get("/v1/partners/p1/leads", as_="partner", partner_id="p1").json()
    assert [(x["company"], x["state"], x["reason"]) for x in leads] == [
        ("Current Inc", "refused", LEAD_CURRENT_CUSTOMER), ("Hooli", "open", None)]
    for x in leads:
        assert f'data-lead="{x["lead_id"]}"' in page and x["state"] in page
    assert http.driver.cli_json("leads", "--partner", "p1") == leads
    # Its contact signs up: the lead converts and the customer is p1's.
    http.driver.ok(b.signup("c9", email="cto@hooli.example"))
    [converted] = http.get("/v1/partners/p1/leads?state=converted", as_="admin").json()
    assert converted["customer_id"] == "c9"
    queue = http.get("/admin/leads?state=refused", as_="admin").text
    assert "Current Inc" in queue and LEAD_CURRENT_CUSTOMER in queue and 'href="/admin/partners/p1"' in queue
    assert [x["lead_id"] for x in http.get("/v1/leads?state=open", as_="admin").json()] == []


def test_a_reseller_creates_a_do_not_contact_customer_from_its_dashboard(http):
    http.driver.ok(b.program(preset="refer-resell"), *b.partner("p1"))
    csrf = http.sign_in("partner", "p1")
    form = {"csrf_token": csrf, "company": "Umbrella", "email": "it@umbrella.example", "do_not_contact": "yes",
            "form_key": "f1"}
    answer = http.client.post("/partners/p1/customers", data=form, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/partners/p1#resold"
    page = http.client.get("/partners/p1").text
    assert notice(page) == ("ok: Customer account customer-f1 created and attributed to you."
                            " You asked that we do not contact them directly.")
    [customer] = http.get("/v1/partners/p1/customers", as_="partner", partner_id="p1").json()["items"]
    assert (customer["customer_id"], customer["channel"], customer["do_not_contact"]) == ("customer-f1", "resell", True)
    assert "<code>customer-f1</code> <span class=\"badge\">do not contact</span>" in page
    again = http.client.post("/partners/p1/customers", data=form, follow_redirects=False)  # a double submit
    assert again.status_code == 303
    assert len(http.get("/v1/partners/p1/customers", as_="admin").json()["items"]) == 1
    # A referral-only program's partner has no such form.
    http.driver.ok(b.program("refer", terms=TERMS), b.application("p5", "refer"), b.approve("p5"))
    assert 'aria-label="Create a customer"' not in http.get("/partners/p5", as_="partner", partner_id="p5").text


def test_the_program_page_says_where_links_land(http):
    linked(http)
    assert f"<code>{LANDING}</code>" in http.get("/admin/programs/prog", as_="admin").text.replace("&amp;", "&")
    http.driver.ok(b.program("bare", terms=TERMS))
    assert "no landing page" in http.get("/admin/programs/bare", as_="admin").text


def test_a_lead_refused_until_training_offers_the_admin_the_training_action(http):
    http.driver.ok(b.program(terms={**TERMS, "training_required_for_leads": True}), *b.partner("p1"))
    error = http.driver.refused(b.cmd("submit_lead", partner_id="p1", lead_id="l1", company="Hooli", email="cto@hooli.example"))
    assert (error["code"], error["message"]) == ("lead_refused", LEAD_TRAINING)
    page = http.get("/partners/p1", as_="partner", partner_id="p1").text
    assert "this program asks you to complete its training before any lead" in page
    csrf = http.sign_in("admin")
    queue = http.client.get("/admin/leads?state=refused").text
    assert 'action="/admin/partners/p1/training"' in queue and "Record p1's training" in queue
    http.client.post("/admin/partners/p1/training", data={"csrf_token": csrf})
    assert http.get("/v1/partners/p1", as_="admin").json()["training_completed"] is True
    http.driver.ok(b.cmd("submit_lead", partner_id="p1", lead_id="l2", company="Hooli", email="cto@hooli.example"))


def test_a_bad_form_names_every_bad_field_and_records_nothing(http):
    http.driver.ok(b.program(preset="refer-resell"), *b.partner("p1"))
    csrf = http.sign_in("partner", "p1")
    before = http.driver.event_count()
    http.client.post("/partners/p1/leads", data={"csrf_token": csrf, "email": "not-an-address"}, follow_redirects=False)
    message = notice(http.client.get("/partners/p1").text)
    assert message.startswith("error: Lead not accepted: ") and "company" in message and "email" in message
    http.client.post("/partners/p1/customers", data={"csrf_token": csrf, "company": "", "email": "x@"}, follow_redirects=False)
    message = notice(http.client.get("/partners/p1").text)
    assert message.startswith("error: Nothing changed for partner p1: ") and "company" in message and "email" in message
    assert http.driver.event_count() == before
