"""The admin console: the application queue (approve with a level, an optional rate and
the promo slots left in view, or reject with a reason), the partner list and each
partner's record with the admin's actions, the programs and their terms, and the
commission held for review.

Every staff role that reads everything (admin, finance, auditor) may open these pages;
only an admin sees and sends their forms (``send`` checks the role exactly as
``POST /v1/commands`` does, so a finance session posting a form by hand gets 403)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from entrypoints.bootstrap import Credentials
from entrypoints.http.access import INVITE, Principal, Role
from entrypoints.http.auth import Staff, invite_link
from entrypoints.http.deps import BusDep, CredentialsDep, ListingsDep, QueriesDep, ReportsDep
from entrypoints.http.pages.common import (
    back_to,
    form_text,
    outcome,
    pager,
    percent,
    refusal_text,
    send,
    sends,
    submit,
)
from entrypoints.http.params import After, PartnerId, PathId, ProgramId
from entrypoints.http.templating import render
from entrypoints.http.urls import Url, url
from ledger.errors import CommandRejected
from projections.queries import Queries
from projections.reports import Reports

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)

# Filters come from GET forms, whose "any" choice sends an empty value.
Text = Annotated[str, Query(max_length=200)]

PAGE_SIZE = 25
APPLICATIONS_PAGE = url("/admin/applications")
TAX_FORMS = ("W-9", "W-8BEN", "W-8BEN-E")


# -- applications ---------------------------------------------------------------------


@router.get("/admin/applications", response_class=HTMLResponse)
def applications(
    request: Request, principal: Staff, queries: QueriesDep, listings: ListingsDep, reports: ReportsDep,
    state: Literal["pending", "approved", "rejected", "terminated"] = "pending",
    program: Text = "", after: After = None,
) -> Response:
    page = listings.applications(state=state, program=program or None, limit=PAGE_SIZE, after=after)
    return render(request, "admin/applications.html", {
        "state": state, "program": program, "program_ids": reports.program_ids(),
        "applications": [_application(queries, item) for item in page.items],
        # Each program once: its levels and promo slots left, shown beside every approve form.
        "programs": {program_id: reports.program(program_id) for program_id in {i["program_id"] for i in page.items}},
        "pager": pager(APPLICATIONS_PAGE, page.next, after, state=state, program=program),
        "may_decide": principal.may_send("approve_application"),
    }, principal=principal)


def _application(queries: Queries, item: dict[str, Any]) -> dict[str, Any]:
    """A queue item with the applicant's full record (the listing carries only part of the profile)."""
    return {**queries.partner(item["partner_id"]), "applied_at": item["applied_at"], "queue_state": item["state"]}


@router.post("/admin/applications/{partner_id}/approve", dependencies=sends("approve_application"), response_class=HTMLResponse)
async def approve(request: Request, principal: Staff, bus: BusDep, queries: QueriesDep, reports: ReportsDep,
                  credentials: CredentialsDep, partner_id: PartnerId) -> Response:
    form = await request.form()
    command: dict[str, Any] = {"type": "approve_application", "partner_id": partner_id, "level": form_text(form, "level")}
    rate = rate_field(form)
    if rate is not None:
        command["rate"] = rate
    try:
        [result] = await send(bus, principal, [command])
    except CommandRejected as refusal:
        return back_to(APPLICATIONS_PAGE, refusal_text(refusal), "error")
    if not result["ok"]:
        return back_to(APPLICATIONS_PAGE, *outcome([result], ""))
    log.info("application_approved", partner_id=partner_id)  # never the invite link: it signs the partner in
    return await run_in_threadpool(_approved_page, request, principal, queries, reports, credentials, partner_id)


def _approved_page(request: Request, principal: Principal, queries: Queries, reports: Reports, credentials: Credentials,
                   partner_id: str) -> Response:
    """The answer to an approval: the new partner's one-time invite link, shown once on this
    page (not in a URL, a cookie or a log line) and never cached."""
    invite = invite_link(credentials, str(request.base_url), Role.PARTNER, partner_id, "approval") if principal.can(INVITE) else None
    record = queries.partner(partner_id)
    # The admin sends the link: this page (never cached) shows where to, unmasked.
    contact = queries.contact_email(partner_id) if invite else None
    return render(request, "admin/approved.html", {
        "partner": record, "invite": invite, "contact": contact,
        "program": reports.program(record["program_id"]),
    }, principal=principal, headers={"Cache-Control": "no-store"})


@router.post("/admin/applications/{partner_id}/reject", dependencies=sends("reject_application"))
async def reject(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    form = await request.form()
    command = {"type": "reject_application", "partner_id": partner_id, "reason": form_text(form, "reason")}
    return await submit(bus, principal, command, APPLICATIONS_PAGE, f"Rejected the application of {partner_id}.")


# -- partners -------------------------------------------------------------------------


@router.get("/admin/partners", response_class=HTMLResponse)
def partners(
    request: Request, principal: Staff, queries: QueriesDep, listings: ListingsDep, reports: ReportsDep,
    q: Text = "", status: Literal["", "active", "at_risk", "locked"] = "",
    level: Text = "", state: Literal["", "applied", "approved", "rejected", "terminated"] = "",
    program: Text = "", after: After = None,
) -> Response:
    page = listings.partners(q=q.strip() or None, status=status or None, level=level or None, state=state or None,
                             program=program or None, limit=PAGE_SIZE, after=after)
    program_ids = reports.program_ids()
    return render(request, "admin/partners.html", {
        "partners": page.items, "q": q, "status": status, "level": level, "state": state, "program": program,
        "program_ids": program_ids, "levels": _levels_of(queries, program_ids),
        "pager": pager(url("/admin/partners"), page.next, after, q=q, status=status, level=level, state=state, program=program),
    }, principal=principal)


@router.get("/admin/partners/{partner_id}", response_class=HTMLResponse)
def partner(request: Request, principal: Staff, queries: QueriesDep, listings: ListingsDep, partner_id: PartnerId) -> Response:
    record = queries.partner(partner_id)
    approved = record["state"] == "approved"
    may_edit = principal.may_send("change_level")
    return render(request, "admin/partner.html", {
        "partner": record,
        "status": queries.status(partner_id) if approved else None,
        "terms": queries.terms(record["program_id"]),
        "holds": listings.holds(partner=partner_id, limit=1).items,
        # Paperwork (tax form, training, meetings) may come in while the application waits;
        # levels, rates, the status lock and termination need an approved partner.
        "may_onboard": may_edit and record["state"] in ("applied", "approved"),
        "may_manage": may_edit and approved,
        "tax_forms": TAX_FORMS, "today": datetime.now(UTC).date().isoformat(),
        "may_invite": principal.can(INVITE) and approved,
        "may_adjust": principal.may_send("adjust_commission") and approved,
        "currencies": _currencies(queries, record),
        "adjustment_id": f"adj-{secrets.token_hex(8)}",  # drawn with the page: sending the form twice adjusts once
    }, principal=principal)


def _currencies(queries: Queries, record: dict[str, Any]) -> list[str]:
    """The currencies the partner's program pays commission in (its own first)."""
    terms = queries.terms(record["program_id"])
    return [terms["currency"], *(c for c in terms.get("currencies", []) if c != terms["currency"])]


@router.post("/admin/partners/{partner_id}/level", dependencies=sends("change_level"))
async def change_level(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    form = await request.form()
    level = form_text(form, "level")
    command = {"type": "change_level", "partner_id": partner_id, "level": level}
    return await submit(bus, principal, command, _partner_url(partner_id), f"{partner_id} is now at level {level}.")


@router.post("/admin/partners/{partner_id}/rate", dependencies=sends("set_commission_rate"))
async def set_rate(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    form = await request.form()
    rate = rate_field(form)  # blank clears the partner's own rate: its level's rate applies again
    done = f"{partner_id}'s own rate is now {percent(rate)}." if rate else f"{partner_id} earns its level's rate again."
    command = {"type": "set_commission_rate", "partner_id": partner_id, "rate": rate}
    return await submit(bus, principal, command, _partner_url(partner_id), done)


@router.post("/admin/partners/{partner_id}/meeting", dependencies=sends("record_meeting"))
async def record_meeting(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    """A meeting on the day it was held (``held_on``, default today): it counts in that year."""
    held_on = form_text(await request.form(), "held_on") or datetime.now(UTC).date().isoformat()
    try:
        day = date.fromisoformat(held_on)
    except ValueError:
        return back_to(_partner_url(partner_id), f"Nothing changed for partner {partner_id}: held_on: {held_on!r} is not a date.",
                       "error")
    if day > datetime.now(UTC).date():
        return back_to(_partner_url(partner_id),
                       f"Nothing changed for partner {partner_id}: held_on: a meeting is recorded once held, not before.", "error")
    command: dict[str, Any] = {"type": "record_meeting", "partner_id": partner_id}
    if day == datetime.now(UTC).date():
        return await submit(bus, principal, command, _partner_url(partner_id), f"Meeting with {partner_id} recorded.")
    command["at"] = f"{day.isoformat()}T12:00:00Z"  # an earlier day: midday, so it is that day in any time zone near UTC
    return await submit(bus, principal, command, _partner_url(partner_id), f"Meeting with {partner_id} on {day} recorded.")


@router.post("/admin/partners/{partner_id}/training", dependencies=sends("complete_training"))
async def complete_training(principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    command = {"type": "complete_training", "partner_id": partner_id}
    return await submit(bus, principal, command, _partner_url(partner_id), f"{partner_id} completed the training.")


@router.post("/admin/partners/{partner_id}/tax-form", dependencies=sends("submit_tax_form"))
async def tax_form(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    form = await request.form()
    name = form_text(form, "form")
    command = {"type": "submit_tax_form", "partner_id": partner_id, "form": name}
    return await submit(bus, principal, command, _partner_url(partner_id), f"{partner_id}'s {name} is on file.")


@router.post("/admin/partners/{partner_id}/active-until", dependencies=sends("set_active_until"))
async def set_active_until(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    form = await request.form()
    until = form_text(form, "until")  # blank clears the lock: the status follows the figures again
    done = f"{partner_id}'s status stays active until {until}." if until else f"{partner_id}'s status follows its figures again."
    command = {"type": "set_active_until", "partner_id": partner_id, "until": until}
    return await submit(bus, principal, command, _partner_url(partner_id), done)


@router.post("/admin/partners/{partner_id}/terminate", dependencies=sends("terminate_partner"))
async def terminate(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    form = await request.form()
    command = {"type": "terminate_partner", "partner_id": partner_id, "reason": form_text(form, "reason")}
    return await submit(bus, principal, command, _partner_url(partner_id), f"The partnership with {partner_id} ended.")


def _partner_url(partner_id: str) -> Url:
    return url("/admin/partners/{}", partner_id)


# -- programs -------------------------------------------------------------------------


@router.get("/admin/programs", response_class=HTMLResponse)
def programs(request: Request, principal: Staff, reports: ReportsDep) -> Response:
    summaries = [reports.program(program_id) for program_id in reports.program_ids()]
    return render(request, "admin/programs.html", {"programs": summaries}, principal=principal)


@router.get("/admin/programs/{program_id}", response_class=HTMLResponse)
def program(request: Request, principal: Staff, reports: ReportsDep, program_id: ProgramId) -> Response:
    return render(request, "admin/program.html", {
        "program": reports.program(program_id),
        "may_close_promo": principal.may_send("close_promo"),
        "may_change_terms": principal.may_send("change_program_terms"),
    }, principal=principal)


@router.post("/admin/programs/{program_id}/close-promo", dependencies=sends("close_promo"))
async def close_promo(principal: Staff, bus: BusDep, program_id: ProgramId) -> Response:
    command = {"type": "close_promo", "program_id": program_id}
    done = f"The promo of {program_id} is closed: partners approved from now on earn their level's rate."
    return await submit(bus, principal, command, url("/admin/programs/{}", program_id), done)


# -- holds ----------------------------------------------------------------------------


@router.get("/admin/holds", response_class=HTMLResponse)
def holds(request: Request, principal: Staff, listings: ListingsDep, reports: ReportsDep,
          program: Text = "", partner: Text = "", after: After = None) -> Response:
    page = listings.holds(program=program or None, partner=partner.strip() or None, limit=PAGE_SIZE, after=after)
    return render(request, "admin/holds.html", {
        "holds": page.items, "program": program, "partner": partner, "program_ids": reports.program_ids(),
        "pager": pager(url("/admin/holds"), page.next, after, program=program, partner=partner),
        "may_review": principal.may_send("review_commission"),
    }, principal=principal)


@router.post("/admin/holds/{payment_id}/review", dependencies=sends("review_commission"))
async def review_hold(request: Request, principal: Staff, bus: BusDep,
                      payment_id: PathId) -> Response:
    form = await request.form()
    decision = form_text(form, "decision")
    command = {"type": "review_commission", "payment_id": payment_id, "decision": decision, "reason": form_text(form, "reason")}
    done = f"Commission on {payment_id} {'released' if decision == 'release' else 'voided'}."
    return await submit(bus, principal, command, _back_to_holds(form), done)


def _back_to_holds(form: FormData) -> Url:
    """Back to the hold queue with the filters the reviewer was working with."""
    return url("/admin/holds", program=form_text(form, "program"), partner=form_text(form, "partner"))


def _levels_of(queries: Queries, program_ids: list[str]) -> list[str]:
    """Every level name of the programs' terms in force (the partner list's level filter)."""
    names = {name for program_id in program_ids for name in queries.terms(program_id)["levels"]}
    return sorted(names)


def rate_field(form: FormData) -> str | None:
    """The form's ``rate`` as the command takes it, a decimal fraction; people also type a
    percentage ("25 %"), which is read as one. Anything else goes to the command as typed,
    so its refusal names the field."""
    text = form_text(form, "rate")
    if text is None or not text.endswith("%"):
        return text
    try:
        return str(Decimal(text.removesuffix("%").strip()) / 100)
    except InvalidOperation:
        return text
