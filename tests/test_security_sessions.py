"""Attacks on signing in (issue 17): each test replays one and fails if it works again.

Login CSRF: another site's page posts a token of the attacker's to ``/signin`` (or an
invite of the attacker's to ``/invite/...``) from a visitor's browser, which would sign
the visitor into the attacker's account. Only the ledger's own forms may open a session.
"""

from __future__ import annotations

import pytest

from entrypoints.http.access import Role
from entrypoints.http.auth import SESSION_COOKIE, SIGNIN_COOKIE, invite_link

# What a cross-site form post can carry: no Origin, another site's, or "null" (a
# sandboxed frame, a data: URL, or a page under Referrer-Policy: no-referrer).
CROSS_SITE = [{}, {"Origin": "https://attacker.example"}, {"Origin": "null"}, {"Origin": "http://testserver.attacker.example"}]


def _refused_without_a_session(http, answer) -> None:
    assert answer.status_code == 403 and answer.json()["code"] == "csrf", answer.text
    assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert SESSION_COOKIE not in http.client.cookies
    assert http.get("/v1/me").status_code == 401, "the visitor is signed in as nobody"


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_cross_site_post_to_signin_opens_no_session(http, headers):
    attackers_token = http.token("partner", "p-attacker")
    answer = http.post("/signin", data={"token": attackers_token}, headers=headers)
    _refused_without_a_session(http, answer)


def test_a_forged_or_another_browsers_signin_token_opens_no_session(http):
    attackers_token = http.token("partner", "p-attacker")
    attackers_csrf = http.signin_csrf("/signin")  # the attacker loads the sign-in page in their own browser
    http.client.cookies.clear()  # the visitor's browser: its own sign-in cookie, or none
    _refused_without_a_session(http, http.post("/signin", data={"token": attackers_token, "csrf_token": attackers_csrf}))
    http.signin_csrf("/signin")
    _refused_without_a_session(http, http.post("/signin", data={"token": attackers_token, "csrf_token": attackers_csrf}))
    _refused_without_a_session(http, http.post("/signin", data={"token": attackers_token, "csrf_token": "forged"}))


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_cross_site_post_of_an_invite_opens_no_session_and_leaves_the_invite_unused(http, headers):
    path = invite_link(http.driver.app.credentials, "http://testserver", Role.ADMIN)["url"].removeprefix("http://testserver")
    _refused_without_a_session(http, http.post(path, headers=headers))
    assert http.post(path, data={"csrf_token": http.signin_csrf(path)}).status_code == 303, "the invite still works"


def test_the_sign_in_page_sets_a_strict_browser_id_and_its_form_signs_in(http):
    page = http.get("/signin")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{SIGNIN_COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    csrf = http.signin_csrf("/signin")
    assert http.client.cookies[SIGNIN_COOKIE] in cookie, "reloading the page keeps the browser id"
    answer = http.post("/signin", data={"token": http.token("finance"), "csrf_token": csrf})
    assert answer.status_code == 303 and SESSION_COOKIE in http.client.cookies
    assert http.get("/v1/me").json()["role"] == "finance"


def test_a_same_origin_script_may_sign_in_with_the_origin_header(http):
    answer = http.post("/signin", data={"token": http.token("auditor")}, headers={"Origin": "http://testserver"})
    assert answer.status_code == 303 and http.get("/v1/me").json()["role"] == "auditor"
