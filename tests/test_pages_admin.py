"""The admin console, in-process: the application queue (approve with a level, a rate and
the promo slots in view; reject with a reason), the partner list and record with the
admin's actions, the programs, the hold queue. Figures equal the API's; only an admin
sends the forms."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from entrypoints.http.pages import admin
from tests import builders as b
from tests.builders import LEVEL_TERMS, listings_world

PROMO_TERMS = {**LEVEL_TERMS, "promo": {"rate": "0.50", "slots": 2}}


def post(http: Any, path: str, csrf: str, **fields: str) -> Any:
    return http.client.post(path, data={"csrf_token": csrf, **fields}, follow_redirects=False)


def notice(http: Any, answer: Any) -> str:
    """The one-time notice a form's redirect leaves on the page it points to."""
    assert answer.status_code == 303, answer.text
    page = http.client.get(answer.headers["location"]).text
    [message] = re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', page)
    return html.unescape(message)


def events(http: Any, partner_id: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in http.driver.app.queries.audit(partner_id=partner_id) if e["type"] == event_type]


def promo_left(http: Any) -> int:
    left: int = http.get("/v1/programs/prog", as_="admin").json()["promo"]["left"]
    return left


# -- the program list read ----------------------------------------------------------------


def test_program_ids_lists_every_program_once(ledger):
    assert ledger.app.reports.program_ids() == []
    ledger.ok(b.program("zeta"), b.program("alpha"),
              b.cmd("change_program_terms", program_id="alpha", terms=LEVEL_TERMS, at="2025-02-01T00:00:00Z"))
    assert ledger.app.reports.program_ids() == ["alpha", "zeta"]


# -- applications ---------------------------------------------------------------------------


def test_the_queue_shows_each_application_with_its_profile_levels_and_the_promo_slots_left(http):
    http.driver.ok(b.program(terms=PROMO_TERMS), *b.partner("p1"), b.application("p2"))
    http.sign_in("admin")
    page = http.client.get("/admin/applications").text
    assert 'id="application-p2"' in page and 'id="application-p1"' not in page  # pending only
    for shown in ("p2 GmbH", "o***@p2.example", "https://p2.example", "Berlin", "agency", "SMB", "10 tenants"):
        assert shown in page
    assert '<option value="Gold">Gold (25 %)</option>' in page and '<option value="Silver" selected>' in page
    assert promo_left(http) == 1 and "1 of 2 promo slots left" in page
    assert 'action="/admin/applications/p2/approve"' in page and 'action="/admin/applications/p2/reject"' in page
    approved = http.client.get("/admin/applications?state=approved").text
    assert 'id="application-p1"' in approved and "/approve" not in approved


def test_approving_shows_the_one_time_invite_once_and_takes_a_promo_slot(http, caplog):
    http.driver.ok(b.program(terms=PROMO_TERMS), b.application("p2"))
    csrf = http.sign_in("admin")
    assert promo_left(http) == 2
    answer = post(http, "/admin/applications/p2/approve", csrf, level="Gold", rate="")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    [link] = re.findall(r'value="(http://testserver/invite/[^"]+)"', answer.text)
    assert "Approved p2 at level Gold (50 %, promo rate)" in answer.text
    assert "1 of 2 promo slots left" in answer.text and promo_left(http) == 1
    assert 'href="mailto:owner%40p2.example"' in answer.text, "where to send the link, unmasked on this page only"
    assert "owner@p2.example" not in http.client.get("/admin/partners/p2").text
    assert link not in caplog.text and "ledger_flash" not in answer.headers.get("set-cookie", "")
    [approval] = events(http, "p2", "partner.application_approved")
    assert approval["actor"].startswith("admin:")
    # The link signs the new partner in, once.
    http.client.cookies.clear()
    code = link.rsplit("/", 1)[1]
    form = {"csrf_token": http.signin_csrf(f"/invite/{code}")}
    assert http.client.post(f"/invite/{code}", data=form, follow_redirects=False).status_code == 303
    assert http.client.get("/v1/me").json()["partner_id"] == "p2"
    assert http.client.post(f"/invite/{code}", data=form, follow_redirects=False).status_code == 404


def test_approving_with_an_own_rate_takes_no_promo_slot(http):
    http.driver.ok(b.program(terms=PROMO_TERMS), b.application("p2"))
    csrf = http.sign_in("admin")
    assert "Approved p2 at level Silver (30 %)" in post(http, "/admin/applications/p2/approve", csrf, level="Silver",
                                                         rate="30 %").text
    assert promo_left(http) == 2
    assert http.get("/v1/partners/p2", as_="admin").json()["rate"] == "0.3"


def test_a_refused_approval_says_why_and_records_nothing(http):
    http.driver.ok(b.program(terms=PROMO_TERMS), b.application("p2"))
    csrf = http.sign_in("admin")
    assert "rate" in notice(http, post(http, "/admin/applications/p2/approve", csrf, level="Gold", rate="1.5"))
    assert "Platinum" in notice(http, post(http, "/admin/applications/p2/approve", csrf, level="Platinum"))
    assert events(http, "p2", "partner.application_approved") == [] and promo_left(http) == 2


def test_rejecting_needs_a_reason_and_keeps_it_in_the_audit_trail(http):
    http.driver.ok(b.program(), b.application("p2"))
    csrf = http.sign_in("admin")
    assert "reason" in notice(http, post(http, "/admin/applications/p2/reject", csrf, reason="  "))
    assert events(http, "p2", "partner.application_rejected") == []
    assert notice(http, post(http, "/admin/applications/p2/reject", csrf, reason="no clients yet")) == \
        "Rejected the application of p2."
    [rejection] = events(http, "p2", "partner.application_rejected")
    assert rejection["reason"] == "no clients yet"
    assert "No application is waiting for a decision" in http.client.get("/admin/applications").text


def test_finance_reads_the_queue_without_forms_and_may_not_send_them(http):
    http.driver.ok(b.program(terms=PROMO_TERMS), b.application("p2"), *b.partner("p1"))
    csrf = http.sign_in("finance")
    page = http.client.get("/admin/applications").text
    assert 'id="application-p2"' in page and "/approve" not in page and "/reject" not in page
    assert post(http, "/admin/applications/p2/approve", csrf, level="Gold").status_code == 403
    assert 'action="/admin/partners/p1/level"' not in http.client.get("/admin/partners/p1").text
    assert post(http, "/admin/partners/p1/meeting", csrf).status_code == 403
    assert events(http, "p2", "partner.application_approved") == [] and events(http, "p1", "partner.meeting_recorded") == []
    for role, partner_id in (("billing", None), ("partner", "p1")):
        http.sign_in(role, partner_id)
        assert http.client.get("/admin/applications").status_code == 403


def test_an_admin_form_without_the_sessions_csrf_token_is_refused(http):
    http.driver.ok(b.program(), b.application("p2"))
    http.sign_in("admin")
    assert http.client.post("/admin/applications/p2/approve", data={"level": "Standard"}).status_code == 403
    assert events(http, "p2", "partner.application_approved") == []


# -- partners -------------------------------------------------------------------------------


def test_the_partner_list_filters_like_the_api_and_pages(http, monkeypatch):
    listings_world(http.driver)
    http.sign_in("admin")

    def listed(query: str) -> list[str]:
        page = http.client.get(f"/admin/partners{query}")
        assert page.status_code == 200, page.text
        return re.findall(r'<td><a href="/admin/partners/([^"]+)">', page.text)

    def api(query: str) -> list[str]:
        return [item["partner_id"] for item in http.get(f"/v1/partners{query}", as_="admin").json()["items"]]

    for query in ("", "?q=p", "?status=active", "?status=at_risk", "?level=Gold", "?state=applied", "?q=p1&level=Gold"):
        assert listed(query) == api(query), query
    assert listed("?q=&status=&level=&state=&program=") == api("")  # "any" in every filter
    assert "No partner matches these filters." in http.client.get("/admin/partners?q=nobody").text
    assert 'href="/partners/p1"' in http.client.get("/admin/partners").text
    monkeypatch.setattr(admin, "PAGE_SIZE", 2)
    first = http.client.get("/admin/partners?q=p").text
    [next_page] = re.findall(r'<a href="([^"]+)" rel="next">Next page', first)
    next_page = html.unescape(next_page)
    assert "q=p" in next_page and "after=" in next_page and "First page" not in first
    second = http.client.get(next_page).text
    assert listed("?q=p")[:2] == ["p1", "p2"] and "First page" in second
    assert re.findall(r'<td><a href="/admin/partners/([^"]+)">', second) == ["p3", "p4"]


def test_the_partner_record_shows_the_apis_figures_and_its_forms_change_them(http):
    http.driver.ok(b.program(preset="refer-resell"), *b.partner("p1"))
    csrf = http.sign_in("admin")
    url = "/admin/partners/p1"
    page = http.client.get(url).text
    record = http.get("/v1/partners/p1", as_="admin").json()
    assert record["level"] == "Registered" and ">Registered<" in page and ">15 %<" in page
    assert notice(http, post(http, f"{url}/level", csrf, level="Gold")) == "p1 is now at level Gold."
    assert "rate" in notice(http, post(http, f"{url}/rate", csrf, rate="forty %"))
    assert notice(http, post(http, f"{url}/rate", csrf, rate="0.4")) == "p1's own rate is now 40 %."
    assert notice(http, post(http, f"{url}/meeting", csrf)) == "Meeting with p1 recorded."
    assert notice(http, post(http, f"{url}/training", csrf)) == "p1 completed the training."
    assert notice(http, post(http, f"{url}/tax-form", csrf, form="W-8BEN-E")) == "p1's W-8BEN-E is on file."
    record = http.get("/v1/partners/p1", as_="admin").json()
    assert (record["level"], record["rate"], record["tax_form"], record["training_completed"]) == ("Gold", "0.4", "W-8BEN-E", True)
    assert record["meetings"]["held"] == 1
    page = http.client.get(url).text
    assert ">40 %<" in page and ">W-8BEN-E<" in page and ">completed<" in page and "/training" not in page
    assert notice(http, post(http, f"{url}/rate", csrf, rate="")) == "p1 earns its level's rate again."
    assert http.get("/v1/partners/p1", as_="admin").json()["rate"] == "0.25"
    assert "form" in notice(http, post(http, f"{url}/tax-form", csrf, form="W-2"))


def test_a_pending_partners_record_takes_its_paperwork_but_no_level_and_an_unknown_one_is_404(http):
    http.driver.ok(b.program(), b.application("p2"))
    csrf = http.sign_in("admin")
    page = http.client.get("/admin/partners/p2").text
    assert "Decide in the application queue" in page
    assert "/level" not in page and "/rate" not in page and "/terminate" not in page and "/active-until" not in page
    assert notice(http, post(http, "/admin/partners/p2/tax-form", csrf, form="W-9")) == "p2's W-9 is on file."
    assert http.get("/v1/partners/p2", as_="admin").json()["tax_form"] == "W-9"
    assert http.client.get("/admin/partners/nobody").status_code == 404


def test_an_admin_locks_the_status_and_ends_a_partnership_from_the_record(http):
    http.driver.ok(b.program(), *b.partner("p1"))
    csrf = http.sign_in("admin")
    url = "/admin/partners/p1"
    assert notice(http, post(http, f"{url}/active-until", csrf, until="2030-12-31")) == \
        "p1's status stays active until 2030-12-31."
    status = http.get("/v1/partners/p1/status", as_="admin").json()
    assert status["status"] == "locked" and status["locked_until"].startswith("2030-12-31")
    assert "locked until 2030-12-31" in http.client.get(url).text
    assert notice(http, post(http, f"{url}/active-until", csrf, until="")) == "p1's status follows its figures again."
    assert http.get("/v1/partners/p1/status", as_="admin").json()["status"] != "locked"
    assert "reason" in notice(http, post(http, f"{url}/terminate", csrf, reason=""))
    assert notice(http, post(http, f"{url}/terminate", csrf, reason="contract ended")) == "The partnership with p1 ended."
    record = http.get("/v1/partners/p1", as_="admin").json()
    assert record["state"] == "terminated" and record["termination_reason"] == "contract ended"
    page = http.client.get(url).text
    assert "contract ended" in page and "/terminate" not in page


# -- programs -------------------------------------------------------------------------------


def test_programs_show_their_terms_promo_slots_and_partners_as_the_api_does(http):
    http.driver.ok(b.program(terms=PROMO_TERMS), b.program("other", preset="referral-tiers"),
                   *b.partner("p1"), b.application("p2"))
    http.sign_in("auditor")
    api = http.get("/v1/programs/prog", as_="admin").json()
    listing = http.client.get("/admin/programs").text
    assert listing.index('href="/admin/programs/other"') < listing.index('href="/admin/programs/prog"')
    assert f"{api['promo']['left']} of 2 promo slots left" in listing and 'href="/apply/prog"' in listing
    page = http.client.get("/admin/programs/prog").text
    assert f"{api['promo']['left']} of {api['promo']['slots']}" in page and f"{api['promo']['taken']} taken at 50 %" in page
    assert re.search(r"Partners approved</div><div class=\"figure\">1<", page)
    assert re.search(r"Partners applied</div><div class=\"figure\">1<", page)
    assert ">Gold" in page and ">25 %<" in page
    assert "/close-promo" not in page  # an auditor reads, never acts
    other = http.client.get("/admin/programs/other").text
    assert "24 months after attribution" in other and "a tax form" in other
    assert http.client.get("/admin/programs/nope").status_code == 404


def test_an_admin_closes_a_programs_promo(http):
    http.driver.ok(b.program(terms=PROMO_TERMS), *b.partner("p1"))
    csrf = http.sign_in("admin")
    assert 'action="/admin/programs/prog/close-promo"' in http.client.get("/admin/programs/prog").text
    assert notice(http, post(http, "/admin/programs/prog/close-promo", csrf)).startswith("The promo of prog is closed")
    assert http.get("/v1/programs/prog", as_="admin").json()["promo"] == \
        {"rate": "0.50", "slots": 2, "taken": 1, "left": 0, "closed": True}
    page = http.client.get("/admin/programs/prog").text
    assert "/close-promo" not in page and "1 of 2 taken" in page
    assert "already" in notice(http, post(http, "/admin/programs/prog/close-promo", csrf))


# -- holds ----------------------------------------------------------------------------------


def test_the_hold_queue_lists_the_apis_holds_and_releases_or_voids_each(http):
    listings_world(http.driver)
    http.driver.ok(*b.customer("c3", "p1", email="ceo@p1.example"), b.payment("pay3", "c3", at="2025-01-17T00:00:00Z"))
    csrf = http.sign_in("admin")
    api = http.get("/v1/holds", as_="admin").json()["items"]
    page = http.client.get("/admin/holds").text
    assert [h["payment_id"] for h in api] == re.findall(r'<tr id="hold-([^"]+)">', page) == ["pay2", "pay3"]
    assert f"{api[0]['amount']} USD" in page and "self referral" in page
    assert "reason" in notice(http, post(http, "/admin/holds/pay2/review", csrf, decision="release", reason=""))
    answer = post(http, "/admin/holds/pay2/review", csrf, decision="release", reason="separate company", partner="p1")
    assert answer.headers["location"] == "/admin/holds?partner=p1"
    assert notice(http, answer) == "Commission on pay2 released."
    assert notice(http, post(http, "/admin/holds/pay3/review", csrf, decision="void", reason="same owner")) == \
        "Commission on pay3 voided."
    assert http.get("/v1/holds", as_="admin").json()["items"] == []
    assert "No commission is on hold." in http.client.get("/admin/holds").text
    [review] = [e for e in events(http, "p1", "payment.commission_reviewed") if e.get("reason") == "same owner"]
    assert review["actor"].startswith("admin:")


@pytest.mark.parametrize("query", ["?status=sleepy", "?state=nope", "?after=not-a-cursor!", "?colour=red"])
def test_a_bad_filter_is_refused_not_ignored(http, query):
    http.driver.ok(b.program())
    assert http.get(f"/admin/partners{query}", as_="admin").status_code in (400, 422)


def test_the_full_contact_email_is_gone_once_the_partner_is_forgotten(http):
    http.driver.ok(b.program(), *b.partner("p1"))
    assert http.driver.app.queries.contact_email("p1") == "owner@p1.example"
    http.driver.ok(b.cmd("forget_partner", partner_id="p1", reason="erasure request"))
    assert http.driver.app.queries.contact_email("p1") is None
