"""Signing in and out in a browser: with a token (pasted once) or a one-time invite
link (from an admin, the approval mail, or "e-mail me a sign-in link"). Both open a
session cookie (HttpOnly, SameSite=Strict), and only from the ledger's own forms
(``check_signin_csrf``), so no other site can sign a visitor in."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from entrypoints.bootstrap import Credentials
from entrypoints.http.access import Principal
from entrypoints.http.auth import OptionalPrincipal, check_signin_csrf, close_session, open_session, signin_form
from entrypoints.http.deps import CredentialsDep, MailroomDep
from entrypoints.http.templating import render
from entrypoints.mail import request_signin_link

router = APIRouter(include_in_schema=False)
FromOwnForm = Depends(check_signin_csrf)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, credentials: CredentialsDep, principal: OptionalPrincipal) -> Response:
    return _signin_form(request, credentials, "signin.html", {}, principal=principal)


@router.post("/signin", response_class=HTMLResponse, dependencies=[FromOwnForm])
def signin(request: Request, credentials: CredentialsDep, token: Annotated[str, Form(max_length=200)]) -> Response:
    credential = credentials.access.authenticate(token.strip(), "token")
    if credential is None:
        return _signin_form(request, credentials, "signin.html", {"error": "That token is unknown, expired or revoked."}, status=401)
    response = RedirectResponse("/", status_code=303)
    open_session(credentials, response, request, credential.role, credential.partner_id, credential.credential_id,
                 not_after=credential.expires_at)
    return response


@router.post("/signin/email", response_class=HTMLResponse, dependencies=[FromOwnForm])
def email_signin_link(request: Request, mailroom: MailroomDep, credentials: CredentialsDep,
                      email: Annotated[str, Form(max_length=320)]) -> Response:
    """"E-mail me a sign-in link": the same answer whether or not the address is a
    partner's (nobody learns who is one); the mail goes out from the outbox."""
    request_signin_link(mailroom, email.strip())
    minutes = f"{mailroom.settings.signin_link_minutes:g}"
    return _signin_form(request, credentials, "signin.html", {"sent": True, "minutes": minutes})


@router.get("/invite/{code}", response_class=HTMLResponse)
def invite_page(request: Request, credentials: CredentialsDep, code: str) -> Response:
    """Shows who the link signs in as; a button (a POST) uses it, so a mail scanner
    that fetches links cannot spend it."""
    invite = credentials.access.authenticate(code, "invite")
    if invite is None or invite.used_at is not None:
        return _spent(request)
    expires = invite.expires_at.strftime("%Y-%m-%d %H:%M UTC") if invite.expires_at else "never"
    return _signin_form(request, credentials, "invite.html",
                        {"role": invite.role, "partner_id": invite.partner_id, "expires_at": expires})


@router.post("/invite/{code}", response_class=HTMLResponse, dependencies=[FromOwnForm])
def use_invite(request: Request, credentials: CredentialsDep, code: str) -> Response:
    invite = credentials.access.redeem_invite(code)
    if invite is None:
        return _spent(request)
    response = RedirectResponse("/", status_code=303)
    open_session(credentials, response, request, invite.role, invite.partner_id, invite.credential_id,
                 not_after=None)  # an invite's expiry bounds its use only
    return response


@router.post("/signout")
def signout(credentials: CredentialsDep, principal: OptionalPrincipal) -> Response:
    response = RedirectResponse("/signin", status_code=303)
    close_session(credentials, response, principal)
    return response


def _signin_form(request: Request, credentials: Credentials, template: str, context: dict[str, Any], *,
                 principal: Principal | None = None, status: int = 200) -> Response:
    return signin_form(credentials, request, lambda csrf: render(
        request, template, {**context, "signin_csrf": csrf}, principal=principal, status=status))


def _spent(request: Request) -> Response:
    return render(request, "message.html", {
        "title": "This link no longer works",
        "message": "Invite links work once and expire. Ask your program admin for a new one.",
    }, status=404)
