"""The admin console's webhooks: the endpoints (register one: its signing secret is shown
once, on a page never cached), each endpoint's delivery log with "send again", and
removing an endpoint. Admins only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from entrypoints.http.access import WEBHOOKS
from entrypoints.http.auth import CurrentPrincipal, require
from entrypoints.http.deps import OutboxDep, WebhooksDep
from entrypoints.http.pages.common import back_to, form_text
from entrypoints.http.params import PathId
from entrypoints.http.problems import ApiError
from entrypoints.http.templating import render
from entrypoints.http.urls import Url, url
from entrypoints.webhooks import EVENT_TYPES, add_endpoint, send_again
from ledger.errors import CommandRejected

if TYPE_CHECKING:
    from adapters.webhooks import WebhookEndpoints

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)
Admin = [Depends(require(WEBHOOKS))]
EndpointId = PathId
SUGGESTED = ("payment.recorded", "statement.issued", "payout.recorded", "payment.reversed")
LIST_PAGE = url("/admin/webhooks")


def endpoint_url(endpoint_id: str) -> Url:
    return url("/admin/webhooks/{}", endpoint_id)


@router.get("/admin/webhooks", response_class=HTMLResponse, dependencies=Admin)
def endpoints(request: Request, principal: CurrentPrincipal, webhooks: WebhooksDep) -> Response:
    return _list_page(request, principal, webhooks, {})


def _list_page(request: Request, principal: Any, webhooks: WebhookEndpoints, extra: dict[str, Any], status: int = 200,
               headers: dict[str, str] | None = None) -> Response:
    rows = [{**e.as_dict(), "url_path": endpoint_url(e.endpoint_id)} for e in webhooks.all()]
    return render(request, "admin/webhooks.html", {
        "endpoints": rows, "event_types": sorted(EVENT_TYPES), "suggested": SUGGESTED, "created": None,
        "problems": [], "form": {}, **extra,
    }, principal=principal, status=status, headers=headers)


@router.post("/admin/webhooks", response_class=HTMLResponse, dependencies=Admin)
async def register(request: Request, principal: CurrentPrincipal, webhooks: WebhooksDep, outbox: OutboxDep) -> Response:
    form = await request.form()
    chosen = [str(value) for value in form.getlist("event_types")]
    url, description = form_text(form, "url") or "", form_text(form, "description")
    try:
        endpoint, secret = add_endpoint(webhooks, outbox, url, chosen, description)
    except CommandRejected as refused:
        return _list_page(request, principal, webhooks, {
            "problems": refused.problems, "form": {"url": url, "description": description, "event_types": chosen}}, status=422)
    # The secret is on this answer only: never in a URL, a cookie, a log line or a cache.
    return _list_page(request, principal, webhooks, {"created": {**endpoint.as_dict(), "secret": secret}},
                      headers={"Cache-Control": "no-store"})


@router.get("/admin/webhooks/{endpoint_id}", response_class=HTMLResponse, dependencies=Admin)
def endpoint(request: Request, principal: CurrentPrincipal, webhooks: WebhooksDep, endpoint_id: EndpointId) -> Response:
    found = webhooks.get(endpoint_id)
    if found is None:
        raise ApiError("not_found", f"webhook endpoint {endpoint_id!r} does not exist", "endpoint_id")
    deliveries = webhooks.deliveries(endpoint_id)
    return render(request, "admin/webhook.html", {
        "endpoint": found.as_dict(), "deliveries": deliveries,
        "remove_url": url("/admin/webhooks/{}/remove", endpoint_id), "again_url": url("/admin/webhooks/{}/send-again", endpoint_id),
        "states": {state: sum(1 for d in deliveries if d["state"] == state) for state in ("pending", "sent", "failed", "skipped")},
    }, principal=principal)


@router.post("/admin/webhooks/{endpoint_id}/send-again", dependencies=Admin)
async def again(request: Request, webhooks: WebhooksDep, outbox: OutboxDep, endpoint_id: EndpointId) -> Response:
    key = form_text(await request.form(), "key") or ""
    if not send_again(webhooks, outbox, endpoint_id, key):
        return back_to(endpoint_url(endpoint_id), f"No delivery {key!r} to send again.", "error")
    return back_to(endpoint_url(endpoint_id), "Queued to be sent again, with the same webhook-id.")


@router.post("/admin/webhooks/{endpoint_id}/remove", dependencies=Admin)
async def remove(webhooks: WebhooksDep, endpoint_id: EndpointId) -> Response:
    if not webhooks.disable(endpoint_id):
        return back_to(LIST_PAGE, f"No active endpoint {endpoint_id!r}.", "error")
    log.info("webhook_endpoint_removed", endpoint_id=endpoint_id)
    return back_to(LIST_PAGE, f"Endpoint {endpoint_id} removed: nothing more is delivered to it.")
