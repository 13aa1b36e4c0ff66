"""``create_app(ledger)``: the FastAPI application over one bootstrapped ``Ledger``.

Routes change the ledger only through ``ledger.bus`` and read it only through
``ledger.queries`` (and the read models' positions)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.staticfiles import StaticFiles

from entrypoints.bootstrap import Ledger
from entrypoints.http import pages, problems
from entrypoints.http.middleware import Guard
from entrypoints.http.pages.common import as_page_for_browsers
from entrypoints.http.params import known_query_parameters
from entrypoints.http.routes import audit, commands, docs, health, lists, partners, programs, referrals
from entrypoints.http.templating import STATIC_DIR
from entrypoints.http.urls import EncodedSlashes

DESCRIPTION = """An event-sourced commission ledger for SaaS partner programs.

Send `Authorization: Bearer <token>` (`ledger token create --role R`). Errors are
`application/problem+json` (RFC 9457) with the ledger's `code`, `field` and `errors`."""


# Answered without credentials (everything else needs a token or a session).
PUBLIC_PATHS = ("/healthz",)


def create_app(ledger: Ledger) -> FastAPI:
    app = FastAPI(
        title="Commission ledger", version="1", description=DESCRIPTION,
        docs_url=None, redoc_url=None, openapi_url="/openapi.json", dependencies=[Depends(known_query_parameters)],
        responses={"default": {"model": problems.ProblemDetail, "description": "a problem (RFC 9457)",
                               "content": {problems.PROBLEM_JSON: {}}}},
    )
    app.state.ledger = ledger
    for error, handler in problems.HANDLERS.items():
        app.add_exception_handler(error, as_page_for_browsers(handler))
    app.add_middleware(Guard, max_body_bytes=ledger.settings.http_max_body_bytes)
    app.add_middleware(EncodedSlashes)  # an encoded id stays one path segment (urls.py)
    app.include_router(health.router)
    app.include_router(docs.router)
    for api in (commands.router, lists.router, partners.router, programs.router, audit.router, referrals.router):
        app.include_router(api)
    for router in pages.ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.mount("/static/swagger", docs.SWAGGER_ASSETS, name="swagger")
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus every command's schema (``POST /v1/commands`` reads its
    body itself, to accept JSON Lines and to validate a batch whole) and bearer auth."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {})
        components.setdefault("schemas", {}).update(commands.command_schemas())
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "description": "`ledger token create`"}}
        schema["security"] = [{"bearer": []}]
        for path in PUBLIC_PATHS:
            for operation in schema["paths"].get(path, {}).values():
                operation["security"] = []
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                operation["operationId"] = operation_id(method, path)
        app.openapi_schema = schema
    return app.openapi_schema


def operation_id(method: str, path: str) -> str:
    """A readable operation id made from the route, the one rule for every route (client
    generators name their functions after it): ``GET /v1/partners/{partner_id}/balance``
    is ``getPartnerBalance``; a collection followed by its item's id reads singular
    (``partners/{partner_id}`` -> ``Partner``), a file suffix is a word (``.csv`` -> ``Csv``)."""
    words = [method.lower()]
    parts = [part for part in path.split("/") if part and part != "v1"]
    for index, part in enumerate(parts):
        if part.startswith("{"):
            suffix = part.partition("}")[2]  # "{period}.csv" -> ".csv"
            words += [suffix.lstrip(".")] if suffix else []
            continue
        name, _, extension = part.partition(".")
        singular = index + 1 < len(parts) and parts[index + 1].startswith("{") and name.endswith("s")
        words += [*(name[:-1] if singular else name).split("-"), *([extension] if extension else [])]
    return words[0] + "".join(word[:1].upper() + word[1:] for word in words[1:])
