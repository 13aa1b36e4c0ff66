"""``/docs``: Swagger UI served from the app itself (assets from the fastapi-offline
package, no CDN), started by a script file so no inline script is needed."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from entrypoints.http.middleware import CONTENT_SECURITY_POLICY
from entrypoints.http.templating import TEMPLATES

SWAGGER_ASSETS = StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static")
# Swagger UI sets inline styles on its elements; it needs nothing else beyond the app.
DOCS_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")

router = APIRouter(include_in_schema=False)


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "docs.html", {"openapi_url": request.app.openapi_url}, headers={"Content-Security-Policy": DOCS_POLICY},
    )
