"""Authentication: a bearer token (API clients) or a session cookie (browsers), both
resolved to a ``Principal``; sessions opened from a token or a one-time invite; a CSRF
token on every state-changing request a browser makes.

Routes depend on ``current_principal`` (401 without valid credentials) or
``optional_principal`` (pages that redirect to the sign-in page instead), and check
permissions with ``require`` and ``partner_visible`` (another partner's anything is 404).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from entrypoints.bootstrap import Credentials
from entrypoints.http.access import READ_ALL, Principal, Role
from entrypoints.http.deps import CredentialsDep, credentials_of
from entrypoints.http.problems import ApiError
from projections.queries import NotFound

SESSION_COOKIE = "ledger_session"
CSRF_FIELD = "csrf_token"  # form field
CSRF_HEADER = "X-CSRF-Token"  # the same token, for scripts
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Before a session exists, the forms that open one (sign-in, invite) bind their CSRF token
# to this random browser id instead: another site can neither read it nor send it.
SIGNIN_COOKIE = "ledger_signin"


async def optional_principal(request: Request, credentials: CredentialsDep) -> Principal | None:
    """The caller, or None when it sent no valid credentials. A browser's
    state-changing request must carry the session's CSRF token (403 otherwise). Kept on
    ``request.state.principal`` for ``signed_in`` (an error page's top bar).

    Dependencies are coroutines: a sync one costs a hop to the thread pool per request.
    The credential lookup is one indexed read that never waits for a writer (see
    ``Database.reading``), so it runs on the event loop."""
    principal = request.state.principal = _credentials(request, credentials)
    if principal is not None and principal.via == "session" and request.method not in SAFE_METHODS:
        await _check_csrf(request, credentials, principal)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


async def current_principal(principal: OptionalPrincipal) -> Principal:
    if principal is None:
        raise ApiError("unauthorized", "sign in: send 'Authorization: Bearer <token>' (see `ledger token create`)",
                       headers={"WWW-Authenticate": "Bearer"})
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(permission: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller, if its role has ``permission`` (403 otherwise)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(permission):
            raise ApiError("forbidden", f"the {principal.role.value} role may not do this ({permission})")
        return principal

    return check


# Staff that read everything (admin, finance, auditor): a route's ``dependencies=[Reader]``,
# or ``principal: Staff`` when it needs the caller.
Reader = Depends(require(READ_ALL))
Staff = Annotated[Principal, Reader]


def partner_visible(principal: Principal, partner_id: str) -> None:
    """A partner asking about any other partner learns nothing, not even that it
    exists: 404, exactly as for a partner that does not exist. Other roles without
    the right to read partners get 403."""
    if principal.may_read_partner(partner_id):
        return
    if principal.role is Role.PARTNER:
        raise NotFound(f"partner {partner_id!r} does not exist")
    raise ApiError("forbidden", f"the {principal.role.value} role may not read partners")


def signed_in(request: Request) -> Principal | None:
    """Who the request's credentials name, if they are valid; never refuses (an error
    page uses it to show the caller's top bar). The one ``optional_principal`` found, when
    it ran; otherwise the credentials are read here."""
    if hasattr(request.state, "principal"):
        found: Principal | None = request.state.principal
        return found
    try:
        return _credentials(request, credentials_of(request))
    except ApiError:
        return None


def _credentials(request: Request, credentials: Credentials) -> Principal | None:
    """Who a bearer token, else a session cookie, names (401 for an unknown token)."""
    return _from_bearer(request, credentials) or _from_session(request, credentials)


def _from_bearer(request: Request, credentials: Credentials) -> Principal | None:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret:
        return None
    credential = credentials.access.authenticate(secret.strip(), "token")
    if credential is None:
        raise ApiError("unauthorized", "the bearer token is unknown, expired or revoked", headers={"WWW-Authenticate": "Bearer"})
    return Principal(Role(credential.role), credential.credential_id, credential.partner_id, via="bearer")


def _from_session(request: Request, credentials: Credentials) -> Principal | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    credential = credentials.access.authenticate(secret, "session")
    if credential is None:
        return None
    return Principal(Role(credential.role), credential.credential_id, credential.partner_id, via="session")


def csrf_token(credentials: Credentials, principal: Principal | None) -> str:
    """The CSRF token of a browser session (forms carry it in ``csrf_token``): a keyed
    hash of the session's id, so every worker computes the same one and none is stored."""
    if principal is None or principal.via != "session":
        return ""
    return credentials.keyed_hash(f"csrf:{principal.credential_id}")


async def _check_csrf(request: Request, credentials: Credentials, principal: Principal) -> None:
    if not hmac.compare_digest(await _sent_csrf(request), csrf_token(credentials, principal)):
        raise _stale_form()


async def _sent_csrf(request: Request) -> str:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = str((await request.form()).get(CSRF_FIELD, ""))
    return sent


def _stale_form() -> ApiError:
    return ApiError("csrf", "this form is stale or did not come from the ledger's own pages: reload and try again")


def signin_form(credentials: Credentials, request: Request, render: Callable[[str], Response]) -> Response:
    """A page whose form opens a session (sign-in, invite), rendered by ``render`` with
    its CSRF token: bound to the browser's ``SIGNIN_COOKIE``, set here if it has none."""
    browser = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(_signin_token(credentials, browser))
    response.set_cookie(SIGNIN_COOKIE, browser, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


def _signin_token(credentials: Credentials, browser: str) -> str:
    return credentials.keyed_hash(f"signin:{browser}")


async def check_signin_csrf(request: Request, credentials: CredentialsDep) -> None:
    """Against login CSRF (another site signing a visitor into the attacker's account):
    a request that opens a session carries the token of the ledger's own sign-in form,
    or an ``Origin`` header naming the ledger itself (403 otherwise)."""
    browser = request.cookies.get(SIGNIN_COOKIE)
    if browser and hmac.compare_digest(await _sent_csrf(request), _signin_token(credentials, browser)):
        return
    if request.headers.get("origin") in _own_origins(request, credentials):
        return
    raise _stale_form()


def _own_origins(request: Request, credentials: Credentials) -> set[str]:
    """The ledger's origins: the request's own, and the public URL's when one is set."""
    own = {f"{request.url.scheme}://{request.url.netloc}"}
    public = urlsplit(credentials.public_url)
    if public.scheme and public.netloc:
        own.add(f"{public.scheme}://{public.netloc}")
    return own


def open_session(
    credentials: Credentials, response: Response, request: Request, role: str, partner_id: str | None, parent_id: str,
    *, not_after: datetime | None,
) -> None:
    """A browser session for whoever presented a token or an invite: an HttpOnly,
    SameSite=Strict cookie (Secure over HTTPS) holding a fresh session secret. It lasts
    ``LEDGER_HTTP_SESSION_HOURS``, and never beyond the expiry of the token it was opened
    with, ``not_after`` (``AccessStore.authenticate`` checks that too, and the token's
    revocation)."""
    session, secret = credentials.access.issue(
        "session", role, partner_id=partner_id, parent_id=parent_id,
        lifetime=timedelta(hours=credentials.session_hours), not_after=not_after,
    )
    assert session.expires_at is not None
    max_age = max(int((session.expires_at - datetime.now(UTC)).total_seconds()), 0)
    response.set_cookie(
        SESSION_COOKIE, secret, max_age=max_age, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )


def close_session(credentials: Credentials, response: Response, principal: Principal | None) -> None:
    if principal is not None and principal.via == "session":
        credentials.access.revoke(principal.credential_id)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def invite_link(
    credentials: Credentials, base_url: str, role: Role, partner_id: str | None = None, label: str | None = None,
) -> dict[str, str]:
    """A one-time sign-in link (expires after ``LEDGER_HTTP_INVITE_HOURS``): how a newly
    approved partner, or the first admin, gets in. Only its hash is kept."""
    credential, secret = credentials.access.issue(
        "invite", role.value, partner_id=partner_id, label=label,
        lifetime=timedelta(hours=credentials.invite_hours),
    )
    base = (credentials.public_url or base_url).rstrip("/")
    assert credential.expires_at is not None
    return {"url": f"{base}/invite/{secret}", "expires_at": credential.expires_at.isoformat(), "invite_id": credential.credential_id}
