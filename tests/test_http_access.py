"""Tokens, invites and browser sessions: only hashes stored, revocation, expiry,
single-use invites, cookie flags, CSRF on browser forms."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from entrypoints.http.access import PERMISSIONS, Role
from entrypoints.http.auth import SESSION_COOKIE, invite_link
from tests import builders as b


def test_token_create_prints_the_secret_once_and_stores_only_its_hash(ledger):
    created = ledger.cli_json("token", "create", "--role", "finance", "--label", "books", "--expires", "30")
    secret = created["token"]
    assert created["role"] == "finance" and created["label"] == "books" and created["expires_at"]
    assert ledger.app.access.authenticate(secret, "token").credential_id == created["token_id"]
    with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
        cursor.execute("SELECT * FROM ledger_access")
        stored = json.dumps(cursor.fetchall(), default=str)
    assert secret not in stored and secret[3:] not in stored
    listed = ledger.cli_json("token", "list")
    assert [t["token_id"] for t in listed] == [created["token_id"]]
    assert secret not in json.dumps(listed)


def test_partner_tokens_are_bound_to_an_existing_partner(ledger):
    ledger.ok(b.program(), *b.partner("p1"))
    code, _ = ledger.cli("token", "create", "--role", "partner")
    assert code == 2
    code, _ = ledger.cli("token", "create", "--role", "admin", "--partner", "p1")
    assert code == 2
    code, _ = ledger.cli("token", "create", "--role", "partner", "--partner", "nobody")
    assert code == 2
    created = ledger.cli_json("token", "create", "--role", "partner", "--partner", "p1")
    assert created["partner_id"] == "p1"


def test_a_revoked_or_expired_token_is_refused(http):
    token = http.token("auditor")
    assert http.get("/v1/snapshots", as_="auditor").status_code == 200
    [credential] = [c for c in http.driver.app.access.credentials() if c.role == "auditor"]
    later = datetime.now(UTC) + timedelta(days=1)
    _, expiring = http.driver.app.access.issue("token", "auditor", lifetime=timedelta(hours=1))
    assert http.driver.app.access.authenticate(expiring, "token") is not None
    assert http.driver.app.access.authenticate(expiring, "token", now=later) is None
    assert http.driver.cli("token", "revoke", credential.credential_id)[0] == 0
    response = http.client.get("/v1/snapshots", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    assert http.driver.cli("token", "revoke", credential.credential_id)[0] == 2  # already revoked


def test_no_credentials_or_a_made_up_token_is_401(http):
    assert http.get("/v1/snapshots").status_code == 401
    response = http.client.get("/v1/snapshots", headers={"Authorization": "Bearer lt_made-up"})
    assert response.status_code == 401


def _invite(http, role=Role.PARTNER, partner_id="p1"):
    link = invite_link(http.driver.app.credentials, "http://testserver", role, partner_id)
    return link["url"].removeprefix("http://testserver")


def test_an_invite_signs_in_once_with_a_strict_httponly_cookie(http):
    http.driver.ok(b.program(), *b.partner("p1"))
    path = _invite(http)
    page = http.get(path)
    assert page.status_code == 200 and "p1" in page.text and "<form" in page.text
    csrf = http.signin_csrf(path)
    used = http.post(path, data={"csrf_token": csrf})
    assert used.status_code == 303 and used.headers["location"] == "/"
    cookie = used.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=ls_")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert http.get("/").headers["location"] == "/partners/p1"  # the client keeps the cookie: its dashboard
    http.client.cookies.clear()
    assert http.post(path, headers={"Origin": "http://testserver"}).status_code == 404, "an invite works once"
    assert http.get(path).status_code == 404


def test_an_expired_invite_does_not_sign_in(http):
    _, secret = http.driver.app.access.issue("invite", "admin", lifetime=timedelta(seconds=-1))
    assert http.post(f"/invite/{secret}", headers={"Origin": "http://testserver"}).status_code == 404
    assert SESSION_COOKIE not in http.client.cookies


def test_signing_in_with_a_token_opens_a_session_and_revoking_the_token_closes_it(http):
    token = http.token("finance")
    assert http.get("/").status_code == 303
    csrf = http.signin_csrf("/signin")
    wrong = http.post("/signin", data={"token": "lt_wrong", "csrf_token": csrf})
    assert wrong.status_code == 401 and SESSION_COOKIE not in http.client.cookies
    signed_in = http.post("/signin", data={"token": token, "csrf_token": csrf})
    assert signed_in.status_code == 303
    assert http.get("/").status_code == 200
    assert http.get("/v1/snapshots").status_code == 200, "the session authenticates API reads too"
    [credential] = [c for c in http.driver.app.access.credentials() if c.role == "finance"]
    http.driver.app.access.revoke(credential.credential_id)
    assert http.get("/").status_code == 303
    assert http.get("/v1/snapshots").status_code == 401


def test_browser_forms_need_the_csrf_token(http):
    http.sign_in("admin")
    page = http.get("/")
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text).group(1)
    refused = http.post("/signout", data={"csrf_token": "forged"})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf"
    assert http.post("/signout", data={}).status_code == 403
    assert http.get("/").status_code == 200, "still signed in"
    signed_out = http.post("/signout", data={"csrf_token": csrf})
    assert signed_out.status_code == 303
    assert http.get("/").status_code == 303


def test_bearer_requests_need_no_csrf_token(http):
    response = http.post("/signout", as_="admin")
    assert response.status_code == 303


@pytest.mark.parametrize("role", list(Role))
def test_every_role_has_permissions(role):
    assert PERMISSIONS[role]


def test_request_logs_name_routes_never_secrets(http, capfd, monkeypatch):
    import structlog

    from entrypoints.http import middleware
    from entrypoints.logging import configure_logging

    configure_logging("INFO")
    # A fresh logger: the module's own was cached at the suite's level on first use.
    monkeypatch.setattr(middleware, "log", structlog.get_logger("http"))
    try:
        token = http.token("admin")
        path = _invite(http, Role.ADMIN, None)
        http.post(path, data={"csrf_token": http.signin_csrf(path)})
        http.get("/v1/me", as_="admin")
    finally:
        configure_logging("WARNING")
    output = capfd.readouterr().err
    assert '"route": "/invite/{code}"' in output and '"route": "/v1/me"' in output
    assert token not in output and path.rsplit("/", 1)[1] not in output
    session = http.client.cookies.get(SESSION_COOKIE)
    assert session and session not in output
