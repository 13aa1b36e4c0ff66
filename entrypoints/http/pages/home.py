"""``/``: where a signed-in browser lands; anonymous visitors go to the sign-in page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from entrypoints.http.access import Role
from entrypoints.http.auth import OptionalPrincipal
from entrypoints.http.templating import render

router = APIRouter(include_in_schema=False)

# The consoles each role can open (the console routers add these pages).
CONSOLES: dict[Role, list[dict[str, str]]] = {
    Role.ADMIN: [{"href": "/docs", "label": "API reference"}],
    Role.FINANCE: [{"href": "/docs", "label": "API reference"}],
    Role.AUDITOR: [{"href": "/docs", "label": "API reference"}],
    Role.BILLING: [{"href": "/docs", "label": "API reference"}],
    Role.PARTNER: [{"href": "/docs", "label": "API reference"}],
}


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: OptionalPrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/signin", status_code=303)
    return render(request, "home.html", {"links": CONSOLES[principal.role]}, principal=principal)
