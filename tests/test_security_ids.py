"""Issue 17, attack 1: an id that steers an admin's click. Billing chose a payment id
``../partners/p2/terminate#`` for a self-referred customer; the hold queue put it raw in
its form's ``action``, so Release posted the admin's CSRF token to another partner's
termination. Now the id grammar refuses such an id at the edge, and an id that got into
a log before the grammar is shown as text and acted on through its encoded URL only.
(The same click in a real browser: ``test_browser_security.py``.)"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from tests import builders as b
from tests.builders import before_the_grammar, listings_world
from tests.pages import notice

# Payment ids aimed at partner p2's termination (the # cuts off the rest of the action):
# placed raw in /admin/holds/{id}/review, a browser posts to /admin/partners/p2/terminate.
RELEASED = "../partners/p2/terminate#"
VOIDED = "./../partners/p2/terminate#void"


def held_payment(driver: Any, payment_id: str, customer_id: str) -> None:
    """A self-referred payment of p1 (its customer's e-mail is at p1's domain), recorded
    with ``payment_id`` as a log made before the id grammar may hold it."""
    driver.ok(*b.customer(customer_id, "p1", email=f"{customer_id}@p1.example"))
    driver.ok(before_the_grammar(b.payment("placeholder", customer_id, at="2025-01-20T00:00:00Z"), payment_id=payment_id))


def hold_ids(http: Any) -> list[str]:
    return [h["payment_id"] for h in http.get("/v1/holds", as_="admin").json()["items"]]


def partner_state(http: Any, partner_id: str) -> str:
    state: str = http.driver.app.queries.partner(partner_id)["state"]
    return state


def test_billing_cannot_record_an_id_that_would_steer_a_url(http):
    listings_world(http.driver)
    before = http.driver.event_count()
    answer = http.post("/v1/commands", as_="billing", json=b.payment(RELEASED, "c2"))
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert [error["field"] for error in problem["errors"]] == ["payment_id"]
    assert "letters, digits" in problem["errors"][0]["message"]
    assert http.driver.event_count() == before


def test_no_entry_point_records_such_an_id(ledger, tmp_path):
    listings_world(ledger)
    before = ledger.event_count()
    path = tmp_path / "payments.jsonl"
    path.write_text(json.dumps(b.payment(RELEASED, "c2")) + "\n")
    code, out = ledger.cli("apply", str(path))
    [result] = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and result["error"]["field"] == "payment_id"
    assert ledger.refused(b.application("../partners/p2/terminate#"))["field"] == "partner_id"
    assert ledger.event_count() == before


@pytest.mark.parametrize(("payment_id", "decision", "done"), [(RELEASED, "release", "released"), (VOIDED, "void", "voided")])
def test_a_hold_recorded_before_the_grammar_is_reviewed_through_its_encoded_url_only(http, payment_id, decision, done):
    listings_world(http.driver)
    held_payment(http.driver, payment_id, "c9")
    assert payment_id in hold_ids(http)
    csrf = http.sign_in("admin")
    page = http.client.get("/admin/holds").text
    assert f"<td>{html.escape(payment_id)}</td>" in page  # shown as text
    [action] = [a for a in re.findall(r'<form method="post" action="([^"]+)" class="review">', page) if "p2" in a]
    assert action == "/admin/holds/" + payment_id.replace("/", "%2F").replace("#", "%23").replace("?", "%3F") + "/review"

    answer = http.client.post(action, data={"csrf_token": csrf, "decision": decision, "reason": "checked"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/holds"
    assert notice(http.client.get("/admin/holds").text) == f"ok: Commission on {html.escape(payment_id)} {done}."
    assert payment_id not in hold_ids(http) and "pay2" in hold_ids(http)  # that hold only
    assert partner_state(http, "p2") == "approved"  # the partner the id aimed at is untouched
    [review] = [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "payment.commission_reviewed"]
    assert review["details"]["payment_id"] == payment_id and review["details"]["decision"] == decision


@pytest.mark.parametrize("partner_id", ["p/1#x", "a%2Fb", "q?x=1&y", "100%"])
def test_a_partner_recorded_before_the_grammar_is_shown_and_managed_through_its_encoded_url(http, partner_id):
    http.driver.ok(b.program(), *b.partner("a"))  # "a": a partner a decoded "a%2Fb" could be mistaken for
    http.driver.ok(before_the_grammar(b.application("placeholder"), partner_id=partner_id), b.approve(partner_id))
    encoded = partner_id.replace("%", "%25").replace("/", "%2F").replace("#", "%23").replace("?", "%3F").replace("&", "%26").replace("=", "%3D")
    csrf = http.sign_in("admin")
    listed = http.client.get("/admin/partners").text
    assert f'<a href="/admin/partners/{encoded}">{html.escape(partner_id)}</a>' in listed
    record = http.client.get(f"/admin/partners/{encoded}")
    assert record.status_code == 200 and f'action="/admin/partners/{encoded}/meeting"' in record.text

    answer = http.client.post(f"/admin/partners/{encoded}/meeting", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/admin/partners/{encoded}"
    assert notice(http.client.get(answer.headers["location"]).text) == f"ok: Meeting with {html.escape(partner_id)} recorded."
    meetings = [e for e in http.driver.app.queries.audit(partner_id=partner_id) if e["type"] == "partner.meeting_recorded"]
    assert len(meetings) == 1
    assert [e for e in http.driver.app.queries.audit(partner_id="a") if e["type"] == "partner.meeting_recorded"] == []
    assert http.client.get(f"/partners/{encoded}").status_code == 200  # its dashboard
    assert http.client.get(f"/admin/partners/{encoded.replace('%2F', '%2f')}").status_code == 200  # either case
    assert http.get(f"/v1/partners/{encoded}/balance", as_="admin").json()["partner_id"] == partner_id
