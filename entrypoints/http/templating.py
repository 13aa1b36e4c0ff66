"""Server-rendered pages: one Jinja2 environment (autoescaping on) over ``templates/``;
assets are served by the app itself from ``static/`` (no CDN)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from entrypoints.http.access import Principal
from entrypoints.http.auth import csrf_token, ledger_of

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *,
    principal: Principal | None = None, status: int = 200, headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page. Every template sees ``principal`` (or None) and ``csrf_token``, which each
    form must carry as a hidden ``csrf_token`` field."""
    values = {"principal": principal, "csrf_token": csrf_token(ledger_of(request), principal), **(context or {})}
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status, headers=headers)
