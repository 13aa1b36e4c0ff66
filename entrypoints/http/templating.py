"""Server-rendered pages: one Jinja2 environment (autoescaping on) over ``templates/``;
assets are served by the app itself from ``static/`` (no CDN)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from entrypoints.http.access import Principal
from entrypoints.http.auth import csrf_token
from entrypoints.http.deps import credentials_of
from entrypoints.http.formatting import money, percent
from entrypoints.http.navigation import links_for
from entrypoints.http.urls import checked_url, url_id

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
# The templates ship with the code: compiled once per process, not checked against their
# files' times on every page (Jinja's default, for editing a running server).
TEMPLATES.env.auto_reload = False
TEMPLATES.env.globals.update(money=money, percent=percent)  # every page shows money and rates alike
# Every value in a link goes through one of these (urls.py; tests/test_url_ids.py checks).
TEMPLATES.env.filters.update(url_id=url_id, url=checked_url)
STATIC_DIR = HERE / "static"
FLASH_COOKIE = "ledger_flash"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *,
    principal: Principal | None = None, status: int = 200, headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A page. Every template sees ``principal`` (or None), ``nav`` (the caller's
    consoles), ``flash`` (a form's notice, shown once) and ``csrf_token``, which each
    form must carry as a hidden ``csrf_token`` field; and ``money`` and ``percent``."""
    notice = read_flash(request)
    values = {
        "principal": principal, "nav": links_for(principal) if principal else [], "flash": notice,
        "csrf_token": csrf_token(credentials_of(request), principal), **(context or {}),
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status, headers=headers)
    if notice is not None:
        response.delete_cookie(FLASH_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def flash(response: Response, message: str, kind: str = "ok") -> Response:
    """A notice shown once, on the next page the browser opens (after a form's redirect).
    Kept in a short-lived cookie so no URL can be made to show a made-up message."""
    response.set_cookie(FLASH_COOKIE, quote(json.dumps({"kind": kind, "message": message[:500]})),
                        max_age=60, httponly=True, samesite="strict", path="/")
    return response


def read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("message"), str):
        return None
    return {"kind": "error" if value.get("kind") == "error" else "ok", "message": value["message"]}
