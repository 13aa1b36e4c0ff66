"""The public apply page of each program: anyone, without signing in, fills in the
profile ``submit_application`` takes and the application goes through the message bus,
into the admins' queue.

Nobody is signed in here, so the page is its own principal: the actor ``public:apply``,
which may send exactly one command, ``submit_application`` to the program of the page's
URL, with fields taken one by one from the form (never ``actor``, ``at`` or
``command_id``). The applicant does not choose the partner id: one is made from the
company name and a random suffix, so an applicant can neither guess nor take over
another partner's id."""

from __future__ import annotations

import re
import secrets
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from commands import models as m
from commands.bus import MessageBus
from commands.parsing import parse
from entrypoints.http.deps import BusDep, ReportsDep
from entrypoints.http.pages.common import back_to, form_text, percent
from entrypoints.http.params import ProgramId
from entrypoints.http.problems import ApiError, result_problems
from entrypoints.http.templating import render
from entrypoints.http.urls import url
from ledger.errors import CommandRejected, Problem

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)

ACTOR = "public:apply"

# The profile's fields as the form asks for them: (name, label, required, input type, example).
FIELDS: tuple[tuple[str, str, bool, str, str], ...] = (
    ("company", "Company name", True, "text", "Northwind Consulting GmbH"),
    ("contact_email", "Contact e-mail", True, "email", "you@company.example"),
    ("website", "Website", False, "url", "https://company.example"),
    ("city", "City", True, "text", "Berlin"),
    ("country", "Country", True, "text", "DE"),
    ("business_type", "Kind of business", True, "text", "agency, consultancy, reseller"),
    ("team_size", "People in your team", True, "number", "12"),
    ("client_count", "Clients you serve today", True, "number", "40"),
    ("focus_market", "Market you sell to", False, "text", "SMB retail"),
    ("expected_pipeline", "Business you expect to bring", False, "text", "20 customers in the first year"),
)
FIELD_NAMES = tuple(name for name, *_ in FIELDS)


@router.get("/apply/{program_id}", response_class=HTMLResponse)
def apply_page(request: Request, reports: ReportsDep, program_id: ProgramId) -> Response:
    return _form(request, reports.program(program_id), {}, {})


@router.post("/apply/{program_id}", response_class=HTMLResponse)
async def submit(request: Request, bus: BusDep, reports: ReportsDep, program_id: ProgramId) -> Response:
    program = await run_in_threadpool(reports.program, program_id)  # 404 for a program the ledger does not know
    form = await request.form()
    values = _entered(form)
    partner_id = new_partner_id(values.get("company") or "")
    message = {"type": "submit_application", "partner_id": partner_id, "program_id": program_id, "profile": values}
    try:
        result = await run_in_threadpool(send_as_public, bus, program_id, message)
    except CommandRejected as refusal:
        return _form(request, program, values, _by_field(refusal.problems), status=422)
    if not result["ok"]:
        return _form(request, program, values, _by_field(result_problems(result)), status=422)
    log.info("application_submitted", partner_id=partner_id, program_id=program_id)
    return back_to(url("/apply/{}/received", program_id),
                   f"Thank you: your application to {program_id} is in. Your reference is {partner_id}.")


@router.get("/apply/{program_id}/received", response_class=HTMLResponse)
def received(request: Request, reports: ReportsDep, program_id: ProgramId) -> Response:
    return render(request, "apply/received.html", {"program": reports.program(program_id)})


def send_as_public(bus: MessageBus, program_id: str, message: dict[str, Any]) -> dict[str, Any]:
    """The public page's one right: ``submit_application`` to ``program_id``, as ``public:apply``.
    Anything else is refused before it reaches the bus (403), whatever the form held."""
    command = parse(message)
    if not isinstance(command, m.SubmitApplication) or command.program_id != program_id:
        raise ApiError("forbidden", f"the apply page may only submit an application to {program_id!r}")
    [result] = bus.handle_many([command], source="api", actor=ACTOR)
    return result


def new_partner_id(company: str) -> str:
    """``northwind-consulting-3f9a2c``: readable in the admins' queue and unguessable. Two
    applicants drawing the same id (one in 16 million for the same name) are never merged:
    the ledger refuses the second with ``conflict`` and the form asks to send it again."""
    slug = re.sub(r"[^a-z0-9]+", "-", company.lower()).strip("-")[:40].strip("-")
    return f"{slug or 'partner'}-{secrets.token_hex(3)}"


def _entered(form: FormData) -> dict[str, str]:
    """The form's profile fields as typed (trimmed), for the command and to refill the form;
    a blank one is left out, so the command names each missing required field."""
    return {name: value for name in FIELD_NAMES if (value := form_text(form, name)) is not None}


def _by_field(problems: list[Problem]) -> dict[str, str]:
    """Refusals keyed by the form's field name (``profile.team_size`` -> ``team_size``);
    one that names no profile field goes under ``""`` (shown above the form)."""
    errors: dict[str, str] = {}
    for problem in problems:
        field = (problem.field or "").removeprefix("profile.")
        key = field if field in FIELD_NAMES else ""
        message = _plain(field, problem.message.removeprefix(f"{problem.field}: ") if problem.field else problem.message)
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors


def _plain(field: str, message: str) -> str:
    """The validator's words, where they are a programmer's, in an applicant's."""
    if field == "partner_id":  # the id this page drew was taken meanwhile: a new one is drawn on the next try
        return "Your reference clashed with another application's: please send the form again."
    if message == "Field required":
        return "Please fill this in."
    if field == "contact_email" and "pattern" in message:
        return "Enter an e-mail address such as name@company.example."
    if field in ("team_size", "client_count") and ("integer" in message or "greater than" in message):
        return "Enter a whole number, 0 or more."
    return message


def _form(request: Request, program: dict[str, Any], values: dict[str, str], errors: dict[str, str],
          status: int = 200) -> Response:
    return render(request, "apply/form.html", {
        "program": program, "start": _starting_level(program["terms"]), "fields": FIELDS, "values": values,
        "errors": errors,
    }, status=status)


def _starting_level(terms: dict[str, Any]) -> dict[str, Any]:
    """What a newly approved partner earns: the default level (or the only one)."""
    name = terms["default_level"] or next(iter(terms["levels"]))
    level = terms["levels"][name]
    return {"name": name, "rate": percent(level["rate"]), "period_months": level["period_months"]}
