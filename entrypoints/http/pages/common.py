"""What every console's pages share: errors shown as pages, a one-time notice after a
form (the "flash"), and sending a form's commands through the message bus.

Pages depend on the API's own guards (``CurrentPrincipal``, ``require(...)``,
``partner_visible``). The error handlers the app registers answer a browser's page
request (one that accepts HTML) with an HTML page instead of problem JSON, and an
anonymous visitor with a redirect to the sign-in page, so a page never needs its own
copy of those checks."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from commands.bus import MessageBus
from commands.parsing import parse
from entrypoints.http.access import Principal
from entrypoints.http.auth import require, signed_in
from entrypoints.http.formatting import money as money  # re-exported: pages format with these
from entrypoints.http.formatting import percent as percent
from entrypoints.http.problems import result_problems
from entrypoints.http.routes.commands import authorize
from entrypoints.http.templating import flash, render
from entrypoints.http.urls import Url, url
from ledger.errors import CommandRejected

# Paths that always answer JSON (the API, its documents and the health check).
API_PREFIXES = ("/v1", "/healthz", "/openapi.json", "/static/", "/docs")

# What a bare HTTP error (no detail of its own) tells a person.
_PLAIN = {404: "There is no such page.", 405: "This page does not take that kind of request."}

# A problem's title as a page heading, in words (the API keeps HTTP's reason phrases).
_TITLES = {400: "This request cannot be read", 403: "Not allowed", 404: "Not found",
           405: "Not allowed here", 413: "Too large", 422: "Something asked for is not valid"}

Handler = Callable[[Request, Exception], Awaitable[Response]]


def is_page_request(request: Request) -> bool:
    """A browser opening a page (it asks for HTML); API clients keep getting problem JSON."""
    return "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(API_PREFIXES)


def as_page_for_browsers(handler: Handler) -> Handler:
    """Wraps an error handler of the API: on a page, 401 becomes a redirect to the
    sign-in page and any other problem an HTML page with the same status."""

    async def handle(request: Request, exc: Exception) -> Response:
        response = await handler(request, exc)
        if not is_page_request(request):
            return response
        if response.status_code == 401:
            return RedirectResponse("/signin", status_code=303)
        problem = json.loads(bytes(response.body))
        message = problem["detail"] if problem["detail"] != problem["title"] else _PLAIN.get(response.status_code, "")
        # A page asked with a bad parameter links to itself without them (the same path).
        retry = _path_as_sent(request) if request.method == "GET" and response.status_code == 422 and request.url.query else None
        return render(request, "message.html", {
            "title": _TITLES.get(response.status_code, problem["title"]), "message": message,
            "errors": problem.get("errors", []), "retry": retry,
        }, principal=signed_in(request), status=response.status_code)

    return handle


def _path_as_sent(request: Request) -> Url:
    """The request's path as the client sent it (its ids still encoded), never ``//host``."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    return Url("/" + raw.decode("latin-1").lstrip("/"))


def back_to(page: Url, message: str, kind: str = "ok") -> Response:
    """The answer to a form: back to a page (303), with a notice. ``page`` is a ``Url``
    (``urls.url``): an id in a redirect is encoded like any other (mypy checks)."""
    return flash(RedirectResponse(page, status_code=303), message, kind)


async def send(bus: MessageBus, principal: Principal, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A form's commands, exactly as ``POST /v1/commands`` takes them: validated whole,
    checked against the caller's role (403/404 as for the API), then through the bus
    with the caller as the actor. Returns the bus's results, in order."""
    commands = [parse(message) for message in messages]
    authorize(commands, principal)
    return await run_in_threadpool(lambda: list(bus.handle_many(
        commands, source="api", actor=principal.actor, caller=principal.caller)))


def sends(command_type: str) -> list[Any]:
    """A form route's guard (``dependencies=sends("close_period")``): only a role that may
    send its command gets past, 403 before the form is even read."""
    return [Depends(require(f"command:{command_type}"))]


async def submit(bus: MessageBus, principal: Principal, command: dict[str, Any], back: Url,
                 done: str | Callable[[dict[str, Any]], str], refused: str | None = None) -> Response:
    """One form, one command: back to ``back`` with ``done`` (or ``done(result)``, called
    only when the command was accepted) or the refusal's reasons (each naming its field),
    after ``refused`` (by default: nothing changed, and for which record)."""
    prefix = refused if refused is not None else f"Nothing changed for {record_of(command)}: "
    try:
        [result] = await send(bus, principal, [command])
    except CommandRejected as refusal:
        return back_to(back, prefix + refusal_text(refusal), "error")
    if not result["ok"]:
        return back_to(back, prefix + result_text(result), "error")
    return back_to(back, done(result) if callable(done) else done)


# The field that names what a command changes, in the order a refusal names them.
RECORD_FIELDS = (("partner_id", "partner"), ("program_id", "program"), ("payment_id", "payment"), ("customer_id", "customer"))


def record_of(command: dict[str, Any]) -> str:
    """What a form's command is about, for a refusal: ``partner p1`` (a long page's notice
    then says whose record was not changed, not only which field was wrong)."""
    for field, noun in RECORD_FIELDS:
        if command.get(field):
            return f"{noun} {command[field]}"
    return str(command.get("type", "the ledger")).replace("_", " ")


def outcome(results: list[dict[str, Any]], done: str) -> tuple[str, str]:
    """A notice for a form's results: ``done`` when every command was accepted,
    otherwise every refusal's message (``(message, kind)``)."""
    refused = [r for r in results if not r["ok"]]
    if not refused:
        return done, "ok"
    return "; ".join(result_text(r) for r in refused), "error"


def result_text(result: dict[str, Any]) -> str:
    """A refused command's reasons (every problem's message), for a notice."""
    return "; ".join(p.message for p in result_problems(result))


def refusal_text(refusal: CommandRejected) -> str:
    return "; ".join(p.message for p in refusal.problems)


def pager(path: Url, next_after: object | None, after: object | None, **filters: str | None) -> dict[str, Url | None]:
    """Links to the first and the next page of a keyset-paged list at ``path``, keeping its
    filters (empty ones are left out; the ``pages_nav`` macro of ``_macros.html`` shows them)."""
    return {
        "first": url(path, **filters) if after is not None else None,
        "next": url(path, **filters, after=next_after) if next_after is not None else None,
    }


def form_text(form: FormData, name: str) -> str | None:
    """A form field's text, trimmed; None when absent or blank."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    return value.strip() or None
