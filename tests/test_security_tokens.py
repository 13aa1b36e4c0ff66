"""Attacks on tokens and sessions (issue 17): each test replays one and fails if it
works again.

Item 3: a browser session outlived the token it was opened with (a token made with
``--expires 1`` signed in a session lasting 7 days; after the token expired the cookie
still got 200). Item 4: ``ledger token create --expires 0`` made a token that never
expires, and ``--expires -1`` one already expired."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.access import ACCESS_TABLE, AccessStore
from entrypoints.http.auth import SESSION_COOKIE
from tests.conftest import Driver, Http


def _sign_in_with(http: Http, token: str) -> None:
    http.client.cookies.clear()
    answer = http.post("/signin", data={"token": token, "csrf_token": http.signin_csrf("/signin")})
    assert answer.status_code == 303 and SESSION_COOKIE in http.client.cookies, answer.text


def _expire_now(driver: Driver, credential_id: str) -> None:
    """The token's expiry passes (set in the store, as time would)."""
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    with driver.app.db.connect() as conn, driver.app.db.transaction(conn) as cursor:
        cursor.execute(f"UPDATE {ACCESS_TABLE} SET expires_at = %s WHERE credential_id = %s", (past, credential_id))


def _session_of(driver: Driver, parent_id: str) -> datetime | None:
    [session] = [c for c in driver.app.access.credentials(include_sessions=True) if c.parent_id == parent_id]
    return session.expires_at


# -- item 3: a session dies with its token -------------------------------------------------


def test_a_session_dies_when_its_token_expires(http: Http) -> None:
    created = http.driver.cli_json("token", "create", "--role", "finance", "--expires", "1")
    _sign_in_with(http, created["token"])
    assert http.get("/v1/me").status_code == 200
    assert http.get("/").status_code == 200
    _expire_now(http.driver, created["token_id"])
    assert http.get("/v1/me", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 401
    assert http.get("/v1/me").status_code == 401, "the session outlived its token"
    assert http.get("/").status_code == 303, "the dashboard sends the browser to sign in again"


def test_a_session_is_made_to_end_with_its_token(http: Http) -> None:
    created = http.driver.cli_json("token", "create", "--role", "auditor", "--expires", "0.5")
    token_expires = datetime.fromisoformat(created["expires_at"])
    http.client.cookies.clear()
    answer = http.post("/signin", data={"token": created["token"], "csrf_token": http.signin_csrf("/signin")})
    session_expires = _session_of(http.driver, created["token_id"])
    assert session_expires is not None and session_expires <= token_expires
    max_age = int(answer.headers["set-cookie"].split("Max-Age=")[1].split(";")[0])
    assert 0 < max_age <= 12 * 3600, "the cookie's own life ends with the token's"


def test_a_session_dies_when_its_token_is_revoked(http: Http) -> None:
    created = http.driver.cli_json("token", "create", "--role", "admin")
    _sign_in_with(http, created["token"])
    assert http.get("/v1/me").status_code == 200
    assert http.driver.cli("token", "revoke", created["token_id"])[0] == 0
    assert http.get("/v1/me").status_code == 401


def test_the_store_refuses_a_session_past_its_tokens_expiry(ledger: Driver) -> None:
    """On both databases: a session whose own expiry is far off (made before sessions were
    capped) dies with its token all the same."""
    access: AccessStore = ledger.app.access
    token, _ = access.issue("token", "finance", lifetime=timedelta(hours=1))
    _, session = access.issue("session", "finance", lifetime=timedelta(days=7), parent_id=token.credential_id)
    assert access.authenticate(session, "session") is not None
    later = datetime.now(UTC) + timedelta(hours=2)
    assert access.authenticate(session, "session", now=later) is None
    assert token.expires_at is not None
    assert access.authenticate(session, "session", now=token.expires_at) is None, "expiry is exclusive"


def test_a_session_from_an_invite_keeps_its_own_life(ledger: Driver) -> None:
    """An invite's expiry bounds when the link may be used, not the session it opened."""
    access: AccessStore = ledger.app.access
    invite, _ = access.issue("invite", "admin", lifetime=timedelta(hours=1))
    _, session = access.issue("session", "admin", lifetime=timedelta(days=7), parent_id=invite.credential_id)
    assert access.authenticate(session, "session", now=datetime.now(UTC) + timedelta(days=2)) is not None
    access.revoke(invite.credential_id)
    assert access.authenticate(session, "session") is None


# -- item 4: --expires is a positive number of days ----------------------------------------


@pytest.mark.parametrize("days", ["0", "-1", "-0.5", "0.0", "nan", "inf", "1e9", "ten", ""])
def test_token_create_refuses_an_expiry_that_is_not_a_positive_number_of_days(
    sqlite_ledger: Driver, days: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sqlite_ledger.app.access.credentials()
    with pytest.raises(SystemExit) as refused:
        sqlite_ledger.cli("token", "create", "--role", "admin", f"--expires={days}")
    assert refused.value.code == 2
    assert "--expires: must be a positive number of days" in capsys.readouterr().err
    assert sqlite_ledger.app.access.credentials() == before, "no token was made"


def test_token_create_with_a_positive_expiry_expires_then(sqlite_ledger: Driver) -> None:
    created = sqlite_ledger.cli_json("token", "create", "--role", "admin", "--expires", "1.5")
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(hours=35) < expires - datetime.now(UTC) <= timedelta(hours=36)
    never = sqlite_ledger.cli_json("token", "create", "--role", "admin")
    assert never["expires_at"] is None, "without --expires a token never expires"
    assert json.loads(json.dumps(created))["token"].startswith("lt_")
