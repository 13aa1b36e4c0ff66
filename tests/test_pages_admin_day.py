"""The admin's day, in-process: the home page's to-do with this month's commission
against the last, a new sign-in link from a partner's page (shown once, the older
unused link dead, the audit trail saying who made it), the terms editor's preview
(the patch, the resulting terms, what changes; nothing recorded until applied), a
manual adjustment with its required reason, and a meeting recorded on its own day."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.calendar import add_months
from tests import builders as b
from tests.builders import TERMS, close


def post(http: Any, path: str, csrf: str, **fields: str) -> Any:
    return http.client.post(path, data={"csrf_token": csrf, **fields}, follow_redirects=False)


def notice(http: Any, answer: Any) -> str:
    assert answer.status_code == 303, answer.text
    page = http.client.get(answer.headers["location"]).text
    [message] = re.findall(r'<p class="flash[^"]*"[^>]*>([^<]*)</p>', page)
    return html.unescape(message)


def trail(http: Any, partner_id: str) -> list[dict[str, Any]]:
    return http.driver.app.queries.audit(partner_id=partner_id)


def world(http: Any) -> None:
    """prog (a promo of 3 slots at 40 %): p1 approved (takes a slot) and p2 waiting; p1
    earns 100.00 USD last month and 250.00 this month (20 %)."""
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    last_month = add_months(today.replace(day=1), -1)
    terms = {**TERMS, "promo": {"rate": "0.20", "slots": 3}}
    http.driver.ok(
        b.program(terms=terms), *b.partner("p1"), b.application("p2"), *b.customer("c1", "p1"),
        b.payment("last", "c1", {"subscription": "500.00"}, at=last_month.isoformat().replace("+00:00", "Z")),
        b.payment("this", "c1", {"subscription": "1250.00"}, at=today.isoformat().replace("+00:00", "Z")),
    )


# -- the home page -----------------------------------------------------------------------


def test_the_home_page_says_what_needs_doing_and_this_months_commission_against_the_last(http):
    world(http)
    page = http.get("/", as_="admin").text
    cards = dict(re.findall(r'data-to-do="([^"]+)">\s*<div class="label">[^<]*</div>\s*<div class="figure">([^<]*)</div>', page))
    assert cards == {"Applications waiting": "1", "Commission on hold": "0", "Payout requests": "0",
                     "Months to close": str(len(http.driver.app.queries.periods("prog")["ready_to_close"]))}
    assert 'href="/admin/applications" data-to-do="Applications waiting"' in page
    promo = page.split('data-promo="prog"')[1].split("</a>")[0]
    assert '<div class="figure">2</div>' in promo and "of 3 (1 taken)" in promo
    row = page.split('<tr data-currency="USD">')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', row) == ["100.00 USD", "250.00 USD", "+150.00 USD"]


def test_finance_sees_its_own_queues_auditors_and_billing_none_and_a_partner_its_dashboard(http):
    world(http)
    assert "What needs doing" not in http.get("/", as_="billing").text and "What needs doing" not in http.get("/", as_="auditor").text
    finance = http.get("/", as_="finance").text
    assert "data-to-do=\"Months to close\"" in finance and "data-to-do=\"Applications waiting\"" not in finance
    assert http.get("/", as_="partner", partner_id="p1").status_code == 303


# -- a new sign-in link ------------------------------------------------------------------


def test_an_admin_makes_a_new_sign_in_link_the_older_unused_one_dies_and_the_trail_says_who(http):
    world(http)
    csrf = http.sign_in("admin")
    first = http.client.post("/admin/partners/p1/invite", data={"csrf_token": csrf})
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    old_link = re.search(r'id="invite-link"[^>]*value="[^"]*(/invite/[^"]+)"', first.text).group(1)
    second = http.client.post("/admin/partners/p1/invite", data={"csrf_token": csrf}).text
    new_link = re.search(r'id="invite-link"[^>]*value="[^"]*(/invite/[^"]+)"', second).group(1)
    assert "The 1 unused link made before it no longer works." in second
    assert "mailto:owner%40p1.example" in second
    http.client.cookies.clear()
    assert http.client.get(old_link).status_code == 404 and http.client.get(new_link).status_code == 200
    issued = [e for e in trail(http, "p1") if e["type"] == "partner.sign_in_link_issued"]
    assert len(issued) == 2 and issued[-1]["what"].startswith("partner sign in link issued p1 (invite ")
    assert new_link.rsplit("/", 1)[1] not in str(issued), "the secret is never recorded"
    page = http.get("/audit?partner=p1", as_="auditor").text
    assert "partner sign in link issued p1" in page and "admin · " in page


def test_only_an_approved_partner_gets_a_link_and_only_from_an_admin(http):
    world(http)
    assert http.post("/admin/partners/p1/invite", as_="finance", data={}).status_code == 403
    csrf = http.sign_in("admin")
    refused = post(http, "/admin/partners/p2/invite", csrf)
    assert "No link made for partner p2" in notice(http, refused) and "not approved" in notice(http, post(http, "/admin/partners/p2/invite", csrf))
    assert not any(c.partner_id == "p2" and not c.revoked_at for c in http.driver.app.access.credentials() if c.kind == "invite")


# -- the terms editor --------------------------------------------------------------------


def test_the_terms_editor_previews_the_patch_and_the_resulting_terms_and_records_nothing_until_applied(http):
    world(http)
    csrf = http.sign_in("admin")
    assert 'href="/admin/programs/prog/terms"' in http.client.get("/admin/programs/prog").text
    before = len(http.driver.app.queries.audit(partner_id="p1"))
    terms_before = http.driver.app.queries.terms("prog")
    patch = '{"payout": {"minimum": "75.00"}, "levels": {"Std": {"rate": "0.25"}}}'
    preview = http.client.post("/admin/programs/prog/terms/preview", data={"csrf_token": csrf, "patch": patch})
    assert preview.status_code == 200
    changes = re.findall(r"<tr><td><code>([^<]*)</code></td><td><code>([^<]*)</code></td><td><code>([^<]*)</code></td></tr>",
                         html.unescape(preview.text))
    assert ("payout.minimum", '"50.00"', '"75.00"') in changes and ("levels.Std.rate", '"0.20"', '"0.25"') in changes
    assert '&#34;minimum&#34;: &#34;75.00&#34;' in preview.text.split('class="json result"')[1]
    assert http.driver.app.queries.terms("prog") == terms_before, "a preview records nothing"
    assert len(http.driver.app.queries.audit(partner_id="p1")) == before
    applied = post(http, "/admin/programs/prog/terms", csrf, patch=patch, effective="")
    assert notice(http, applied) == "New terms of prog recorded."
    assert http.driver.app.queries.terms("prog")["payout"]["minimum"] == "75.00"


def test_a_patch_the_ledger_would_refuse_says_why_and_bad_json_says_where(http):
    world(http)
    csrf = http.sign_in("admin")
    bad = http.client.post("/admin/programs/prog/terms/preview", data={"csrf_token": csrf, "patch": '{"payout": '})
    assert bad.status_code == 422 and "terms_patch: not JSON" in bad.text and "Apply these terms" not in bad.text
    refused = http.client.post("/admin/programs/prog/terms/preview", data={"csrf_token": csrf, "patch": '{"payout": {"minimum": "lots"}}'})
    assert refused.status_code == 422 and "terms_patch.payout.minimum" in html.unescape(refused.text)
    assert http.post("/admin/programs/prog/terms/preview", as_="finance", data={"patch": "{}"}).status_code == 403
    assert http.get("/admin/programs/prog/terms", as_="auditor").status_code == 403


# -- an adjustment, a meeting ------------------------------------------------------------


def test_finance_adjusts_a_partners_commission_with_a_reason_once(http):
    world(http)
    csrf = http.sign_in("finance")
    page = http.client.get("/admin/partners/p1").text
    adjustment_id = re.search(r'name="adjustment_id" value="([^"]+)"', page).group(1)
    refused = post(http, "/admin/partners/p1/adjustment", csrf, adjustment_id=adjustment_id, amount="12.50", currency="USD", reason="")
    assert notice(http, refused).startswith("Nothing changed for partner p1: ") and "reason" in notice(
        http, post(http, "/admin/partners/p1/adjustment", csrf, adjustment_id=adjustment_id, amount="12.50", currency="USD", reason=" "))
    fields = {"adjustment_id": adjustment_id, "amount": "12.50", "currency": "USD", "reason": "missed invoice in March"}
    assert notice(http, post(http, "/admin/partners/p1/adjustment", csrf, **fields)) == "Adjusted p1's commission by 12.50 USD."
    post(http, "/admin/partners/p1/adjustment", csrf, **fields)  # sent twice: adjusts once
    assert http.driver.balance("p1")["adjusted"] == "12.50"
    [line] = [e for e in trail(http, "p1") if e["type"] == "adjustment.recorded"]
    assert line["reason"] == "missed invoice in March"
    assert 'action="/admin/partners/p1/adjustment"' not in http.get("/admin/partners/p1", as_="admin").text


def test_a_meeting_is_recorded_on_the_day_it_was_held_never_ahead(http):
    world(http)
    csrf = http.sign_in("admin")
    assert notice(http, post(http, "/admin/partners/p1/meeting", csrf, held_on="2025-03-10")) == "Meeting with p1 on 2025-03-10 recorded."
    [meeting] = [e for e in trail(http, "p1") if e["type"] == "partner.meeting_recorded"]
    assert meeting["effective_at"].startswith("2025-03-10")
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert "a meeting is recorded once held" in notice(http, post(http, "/admin/partners/p1/meeting", csrf, held_on=tomorrow))
    assert "is not a date" in notice(http, post(http, "/admin/partners/p1/meeting", csrf, held_on="10/03/2025"))
    assert len([e for e in trail(http, "p1") if e["type"] == "partner.meeting_recorded"]) == 1
    page = http.client.get("/admin/partners/p1").text
    assert re.search(r'<input id="held-on" name="held_on" type="date" value="\d{4}-\d{2}-\d{2}"', page)


def test_closing_the_last_month_leaves_the_home_page_with_no_months_to_close(http):
    world(http)
    ready = http.driver.app.queries.periods("prog")["ready_to_close"]
    http.driver.ok(*(close(month, datetime.now(UTC).isoformat().replace("+00:00", "Z")) for month in ready))
    page = http.get("/", as_="finance").text
    assert re.search(r'data-to-do="Months to close">\s*<div class="label">[^<]*</div>\s*<div class="figure">0</div>', page)


def test_an_admin_e_mails_a_partner_a_new_sign_in_link_through_the_outbox(http):
    from entrypoints.mail import mail_worker
    from tests.smtp import link_in, smtp_server
    from tests.test_mail import mail_to

    world(http)
    with smtp_server() as (inbox, smtp_url):
        mail_to(http.driver, smtp_url)
        csrf = http.sign_in("admin")
        sent = post(http, "/admin/partners/p1/invite", csrf, deliver="email")
        assert notice(http, sent) == "A new sign-in link for p1 is on its way to the application's contact address."
        mail_worker(http.driver.app.mailroom).run_once()
        link = link_in(inbox.one("owner@p1.example", "sign-in link"))
    secret = link.rsplit("/", 1)[1]
    credential = http.driver.app.access.authenticate(secret, "invite")
    assert credential is not None and credential.partner_id == "p1" and credential.label == "e-mailed from the partner's page"
    [issued] = [e for e in trail(http, "p1") if e["type"] == "partner.sign_in_link_issued"]
    assert issued["details"]["invite_id"] == credential.credential_id and secret not in str(issued)
