"""Referrals on the pages: the public link, the partner's own dashboard sections, and
the admins' queue of leads.

``GET /r/{link}`` counts a click on a partner's public link and sends the visitor on to
the program's landing page with the link as ``ref``. It never names the partner nor its
private code: it answers a redirect, or the same 404 for a link that does not exist,
whose partner is no longer approved, or whose program has no landing URL (nothing to
learn by trying links).

The dashboard's sections (``partner/_referrals.html``, ``partner/_leads.html``): the
link to copy, the private code (the partner itself and admins only) and a new-code
form, the funnel per month, the partner's leads and their form, and a reseller's form
for its customers. Every form sends one command through the bus as the caller, exactly
as ``POST /v1/commands`` would (a partner only about itself)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from entrypoints.http.access import Principal, Role
from entrypoints.http.auth import CurrentPrincipal, partner_visible
from entrypoints.http.deps import BusDep, ClicksDep, ReferralsDep
from entrypoints.http.pages.common import form_text, sends, submit
from entrypoints.http.params import PartnerId, takes_any_query
from entrypoints.http.problems import ApiError
from entrypoints.http.routes.referrals import LEADS_LIMIT, LeadState
from entrypoints.http.templating import render
from entrypoints.http.urls import Url, url
from ledger.calendar import month_end
from ledger.referral import LEAD_TRAINING
from projections.queries import NotFound, Queries
from projections.referrals import LEAD_STATES, FunnelMonth, Referrals

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)

LEADS_SHOWN = 50

Link = Annotated[str, Path(min_length=1, max_length=64, description="a partner's referral link")]


@router.get("/r/{link}")
@takes_any_query
async def follow_link(request: Request, link: Link, referrals: ReferralsDep, clicks: ClicksDep) -> Response:
    """Public: a click counted for the link and the day, then a redirect (302) to the landing page."""
    now = datetime.now(UTC)
    landing = await run_in_threadpool(referrals.landing, link, now, list(request.query_params.multi_items()))
    if landing is None:
        raise NotFound("there is no such referral link")
    await run_in_threadpool(clicks.count, link.lower(), now.date())
    log.info("referral_link_followed")  # never the link: it would tie a visitor's address to a partner
    return RedirectResponse(landing, status_code=302)


# -- the partner's own sections of its dashboard ---------------------------------------


def dashboard_sections(request: Request, queries: Queries, referrals: Referrals, public_url: str, record: dict[str, Any],
                       principal: Principal, months: int, last_month: str) -> dict[str, Any]:
    """What the dashboard's referral, lead and resale sections show: the public link (with
    its full URL to copy), the private code to the partner itself and admins only, the
    funnel over the dashboard's months, the partner's leads, and which forms the caller may send.
    ``public_url``: ``LEDGER_HTTP_PUBLIC_URL`` (the request's own base when unset)."""
    partner_id = record["partner_id"]
    private = principal.may_see_code(partner_id)
    base = (public_url or str(request.base_url)).rstrip("/")
    link = record.get("referral_link")
    terms = queries.terms(record["program_id"])
    funnel = referrals.funnel(partner_id, months, month_end(last_month))
    return {"referral": {
        "link": link, "link_url": base + url("/r/{}", link) if link else None,
        "lands": terms.get("landing_url") is not None,
        "code": queries.partner(partner_id, with_code=True)["partner_code"] if private else None,
        "may_rotate": private and principal.may_send("rotate_partner_code") and record["state"] == "approved",
        "funnel": [month for month in reversed(funnel["months"]) if _active(month)],
        "quiet_months": sum(1 for month in funnel["months"] if not _active(month)),
        "leads": referrals.leads(partner_id=partner_id, limit=LEADS_SHOWN) if private else None,
        "leads_shown": LEADS_SHOWN,
        "may_submit_lead": principal.may_send("submit_lead") and record["state"] == "approved",
        "training_first": terms["training_required_for_leads"] and not record["training_completed"],
        "may_create_customer": principal.may_send("create_resold_customer") and record["state"] == "approved",
        "form_key": secrets.token_hex(8),  # each form's idempotency key: a double submit records once
        "actions": {name: url(f"/partners/{{}}/{name}", partner_id) for name in ("code", "leads", "customers")},
    }}


def _active(month: FunnelMonth) -> bool:
    """A month the funnel shows: something happened in it (a quiet month is all zeros)."""
    return bool(month["clicks"] or month["sign_ups"] or month["paying_customers"]
                or any(Decimal(amount) for amount in month["commission"].values()))


async def _guarded(request: Request, principal: Principal, partner_id: str) -> Any:
    """A dashboard form: about a partner the caller may read (another partner's: 404), read whole."""
    partner_visible(principal, partner_id)
    return await request.form()


def _dashboard(partner_id: str, anchor: str) -> Url:
    return url(f"/partners/{{}}#{anchor}", partner_id)


@router.post("/partners/{partner_id}/code", dependencies=sends("rotate_partner_code"))
async def rotate_code(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    """``rotate_partner_code``: the old code stops resolving, customers already attributed stay."""
    await _guarded(request, principal, partner_id)
    command = {"type": "rotate_partner_code", "partner_id": partner_id}
    done = "New partner code made: the old one no longer works. Customers who used it stay yours."
    return await submit(bus, principal, command, _dashboard(partner_id, "share"), done)


@router.post("/partners/{partner_id}/leads", dependencies=sends("submit_lead"))
async def submit_lead(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    """``submit_lead`` with the form's key as the lead's id: the ledger decides at once
    whether the lead qualifies; a refused lead is kept, with the program's reason."""
    form = await _guarded(request, principal, partner_id)
    command = {"type": "submit_lead", "partner_id": partner_id, "lead_id": _key(form, "lead"),
               "company": form_text(form, "company"), "email": form_text(form, "email"), "note": form_text(form, "note")}
    done = "Lead submitted: it becomes your customer when its contact signs up."
    return await submit(bus, principal, command, _dashboard(partner_id, "leads"), done, refused="Lead not accepted: ")


@router.post("/partners/{partner_id}/customers", dependencies=sends("create_resold_customer"))
async def create_customer(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    """``create_resold_customer``: the reseller's customer gets its own account, signed up
    and attributed (channel ``resell``) in one step; the form's key makes a double submit one."""
    form = await _guarded(request, principal, partner_id)
    key = _key(form, "customer")
    command = {"type": "create_resold_customer", "partner_id": partner_id, "command_id": key,
               "customer_id": form_text(form, "customer_id") or key, "company": form_text(form, "company"),
               "email": form_text(form, "email"), "do_not_contact": form.get("do_not_contact") == "yes"}

    def done(result: dict[str, Any]) -> str:
        asked = " You asked that we do not contact them directly." if result["do_not_contact"] else ""
        return f"Customer account {result['customer_id']} created and attributed to you.{asked}"

    return await submit(bus, principal, command, _dashboard(partner_id, "resold"), done)


def _key(form: Any, kind: str) -> str:
    """The form's idempotency key (rendered with the form), or a fresh one."""
    sent = form_text(form, "form_key")
    return f"{kind}-{sent if sent and sent.isalnum() and len(sent) <= 32 else secrets.token_hex(8)}"


# -- the admins' queue of leads --------------------------------------------------------


@router.get("/admin/leads", response_class=HTMLResponse)
def lead_queue(request: Request, principal: CurrentPrincipal, referrals: ReferralsDep, state: LeadState = "open") -> Response:
    """Every partner's leads, newest first (open ones by default). Admins only: a lead
    holds its contact's personal data. An admin acts on a lead through the partner's page
    (training completed, for a lead refused until training) and the usual commands."""
    if principal.role is not Role.ADMIN:
        raise ApiError("forbidden", f"the {principal.role.value} role may not read leads: they hold their contacts' personal data")
    leads = referrals.leads(state=state, limit=LEADS_LIMIT)
    return render(request, "admin/leads.html", {
        "leads": [{**lead, "partner_url": url("/admin/partners/{}", lead["partner_id"]),
                   "training_url": url("/admin/partners/{}/training", lead["partner_id"]) if lead["reason"] == LEAD_TRAINING else None}
                  for lead in leads],
        "state": state, "states": LEAD_STATES, "limit": LEADS_LIMIT,
    }, principal=principal)
