"""``/``: where a signed-in browser lands. A partner goes straight to its dashboard;
staff see their consoles; anonymous visitors go to the sign-in page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from entrypoints.http.access import Role
from entrypoints.http.auth import OptionalPrincipal
from entrypoints.http.templating import render
from entrypoints.http.urls import url

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/signin", status_code=303)
    if principal.role is Role.PARTNER:
        return RedirectResponse(url("/partners/{}", principal.partner_id), status_code=303)
    return render(request, "home.html", principal=principal)
