"""The public apply page: no sign-in, one command (``submit_application`` to the page's
program) as the actor ``public:apply``; a refused form names every bad field and keeps
what was typed; the application lands in the admins' queue."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from entrypoints.http.pages import apply
from entrypoints.http.problems import ApiError
from tests import builders as b

FORM = {
    "company": "Northwind Consulting GmbH", "contact_email": "owner@northwind.example",
    "website": "https://northwind.example", "city": "Berlin", "country": "DE", "business_type": "agency",
    "team_size": "12", "client_count": "40", "focus_market": "SMB retail", "expected_pipeline": "20 tenants",
}


def queue(http: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = http.get("/v1/applications", as_="admin").json()["items"]
    return items


def test_the_form_asks_for_every_profile_field_and_the_programs_offer(http):
    http.driver.ok(b.program())  # sales-partner: 20 %, a promo for the first 3
    page = http.client.get("/apply/prog")
    assert page.status_code == 200
    assert set(re.findall(r'<input id="([a-z_]+)" name="\1"', page.text)) == set(apply.FIELD_NAMES)
    assert "20 % commission" in page.text and "next 3 partners approved earn 50 %" in page.text
    assert 'name="partner_id"' not in page.text and 'name="csrf_token"' not in page.text


def test_an_unknown_program_has_no_apply_page(http):
    http.driver.ok(b.program())
    assert http.client.get("/apply/nope").status_code == 404
    assert http.client.post("/apply/nope", data=FORM).status_code == 404
    assert queue(http) == []


def test_a_submitted_application_lands_in_the_queue_as_the_public_page(http):
    http.driver.ok(b.program())
    answer = http.client.post("/apply/prog", data=FORM, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/apply/prog/received"
    thanks = http.client.get("/apply/prog/received").text
    [item] = queue(http)
    assert item["company"] == "Northwind Consulting GmbH" and item["team_size"] == 12
    assert re.fullmatch(r"northwind-consulting-gmbh-[0-9a-f]{6}", item["partner_id"])
    assert f"Your reference is {item['partner_id']}" in thanks
    record = http.get(f"/v1/partners/{item['partner_id']}", as_="admin").json()
    assert record["profile"]["expected_pipeline"] == "20 tenants" and record["state"] == "applied"
    [entry] = http.driver.app.queries.audit(partner_id=item["partner_id"])
    assert entry["actor"] == "public:apply"


def test_a_refused_form_names_every_bad_field_and_keeps_what_was_typed(http):
    http.driver.ok(b.program())
    typed = {**FORM, "contact_email": "not an address", "team_size": "a dozen", "city": " "}
    answer = http.client.post("/apply/prog", data=typed)
    assert answer.status_code == 422
    page = answer.text
    errors = dict(re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]+)</p>', page))
    assert set(errors) == {"contact_email", "team_size", "city"}
    assert errors["city"] == "Please fill this in." and errors["team_size"] == "Enter a whole number, 0 or more."
    assert "these 3 fields" in page
    for name in ("company", "contact_email", "team_size", "expected_pipeline"):
        assert f'name="{name}" type=' in page and f'value="{html.escape(typed[name])}"' in page
    assert queue(http) == []


def test_the_form_cannot_choose_the_partner_the_program_the_actor_or_the_time(http):
    http.driver.ok(b.program(), b.program("other"), *b.partner("p1"))
    smuggled = {**FORM, "partner_id": "p1", "program_id": "other", "actor": "admin:root", "at": "2020-01-01T00:00:00Z",
                "type": "approve_application"}
    assert http.client.post("/apply/prog", data=smuggled, follow_redirects=False).status_code == 303
    [item] = queue(http)
    assert item["partner_id"] != "p1" and item["program_id"] == "prog" and item["applied_at"] > "2025"
    [entry] = http.driver.app.queries.audit(partner_id=item["partner_id"])
    assert entry["actor"] == "public:apply" and entry["type"] == "partner.application_submitted"


@pytest.mark.parametrize("message", [
    {"type": "approve_application", "partner_id": "p9"},
    {**b.application("p9", program_id="other")},
    {"type": "record_meeting", "partner_id": "p1"},
])
def test_the_public_page_may_send_nothing_but_an_application_to_its_program(http, message):
    http.driver.ok(b.program(), b.program("other"), *b.partner("p1"))
    before = http.driver.event_count()
    with pytest.raises(ApiError) as refused:
        apply.send_as_public(http.driver.app.bus, "prog", message)
    assert refused.value.rejection.code == "forbidden" and http.driver.event_count() == before


def test_a_clash_of_drawn_ids_asks_to_send_the_form_again(http, monkeypatch):
    http.driver.ok(b.program(), b.application("acme-000000"))
    monkeypatch.setattr(apply, "new_partner_id", lambda company: "acme-000000")
    answer = http.client.post("/apply/prog", data={**FORM, "company": "Acme"})
    assert answer.status_code == 422 and "please send the form again" in answer.text
    assert 'value="Acme"' in answer.text and "Please check" not in answer.text


def test_partner_ids_are_readable_and_unguessable():
    assert re.fullmatch(r"acme-co-[0-9a-f]{6}", apply.new_partner_id("  ACME & Co. "))
    assert re.fullmatch(r"partner-[0-9a-f]{6}", apply.new_partner_id("株式会社"))
    assert apply.new_partner_id("Acme") != apply.new_partner_id("Acme")
    assert len(apply.new_partner_id("x" * 500)) <= 47
