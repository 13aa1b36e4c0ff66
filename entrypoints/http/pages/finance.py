"""The finance console: which months each program has closed and closing the next one,
and a month's statements with their totals (paying is ``pages.paying``). Staff read these pages; only finance acts on them (the
commands are checked against the role exactly as ``POST /v1/commands`` checks them)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from commands.bus import MessageBus
from commands.parsing import parse
from entrypoints.http.access import Principal
from entrypoints.http.auth import CurrentPrincipal, Reader
from entrypoints.http.deps import BusDep, ListingsDep, QueriesDep, ReportsDep
from entrypoints.http.pages.common import back_to, form_text, pager, result_text, sends, submit
from entrypoints.http.params import MONTH_PATTERN, After, Program
from entrypoints.http.routes.commands import authorize
from entrypoints.http.templating import render
from entrypoints.http.urls import url
from events.statement import StatementIssued
from projections.listings import DEFAULT_LIMIT
from projections.queries import Queries
from projections.reports import Reports

log = structlog.get_logger(__name__)

router = APIRouter(include_in_schema=False)

Period = Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]

MONTHS_PAGE = url("/finance")
MONTH = re.compile(MONTH_PATTERN)


# -- months ------------------------------------------------------------------------------


@router.get("/finance", response_class=HTMLResponse, dependencies=[Reader])
def months(request: Request, principal: CurrentPrincipal, queries: QueriesDep, reports: ReportsDep) -> Response:
    programs = [_with_state(queries.periods(program_id)) for program_id in reports.program_ids()]
    ready = sorted({month for p in programs for month in p["ready_to_close"]})
    return render(request, "finance/months.html", {
        "programs": programs, "may_close": principal.may_send("close_period"), "ready_months": ready,
    }, principal=principal)


def _with_state(periods: dict[str, Any]) -> dict[str, Any]:
    """A program's months, newest closed first, and whether its next month has ended."""
    ends = datetime.fromisoformat(periods["next_can_close_after"])
    closed = [{**c, "closed_at_text": _moment_text(c["closed_at"])} for c in reversed(periods["closed"])]
    return {**periods, "closed": closed, "next_ends": ends.date().isoformat(), "next_has_ended": ends < datetime.now(UTC)}


def _moment_text(iso: str) -> str:
    """``2025-02-01T01:00:00+00:00`` as people read it: ``2025-02-01 01:00 UTC``."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@router.get("/finance/close", response_class=HTMLResponse, dependencies=sends("close_period"))
def confirm_close(request: Request, principal: CurrentPrincipal, bus: BusDep,
                  program_id: Annotated[str, Query(min_length=1, max_length=200)],
                  period: Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]) -> Response:
    """The confirmation before a close: what it will issue (every statement, and per
    currency how many, closing and due), decided exactly as the close decides it and
    thrown away (``bus.preview``), or why the ledger would refuse it."""
    command = parse({"type": "close_period", "program_id": program_id, "period": period})
    authorize([command], principal)
    result, events = bus.preview(command, source="api", actor=principal.actor, caller=principal.caller)
    statements = [e.payload for e in events if isinstance(e.payload, StatementIssued)]
    return render(request, "finance/close.html", {
        "program_id": program_id, "period": period, "refusal": None if result["ok"] else result_text(result),
        "statements": sorted(statements, key=lambda s: (s.currency, s.partner_id)), "totals": _issue_totals(statements),
    }, principal=principal, status=200 if result["ok"] else 422)


def _issue_totals(statements: list[StatementIssued]) -> dict[str, dict[str, Any]]:
    """Per currency: statements, partners with money due, and the sums of closing and due."""
    totals: dict[str, dict[str, Any]] = {}
    for s in statements:
        total = totals.setdefault(s.currency, {"statements": 0, "due_partners": 0, "closing": Decimal(0), "due": Decimal(0)})
        total["statements"] += 1
        total["due_partners"] += s.due > 0
        total["closing"] += s.closing
        total["due"] += s.due
    return dict(sorted(totals.items()))


@router.post("/finance/close-through", response_class=HTMLResponse, dependencies=sends("close_period"))
async def close_through(request: Request, principal: CurrentPrincipal, bus: BusDep, queries: QueriesDep,
                        reports: ReportsDep) -> Response:
    """Closes every program's ended months up to and including ``period``, in order (each
    program's oldest first), one ``close_period`` after another; the page lists each close
    as it went and stops a program at its first refusal (the later months wait for it)."""
    period = form_text(await request.form(), "period")
    if period is None or not MONTH.fullmatch(period):
        return back_to(MONTHS_PAGE, "Choose the last month to close (YYYY-MM).", "error")
    steps = await run_in_threadpool(_close_in_order, bus, queries, reports, principal, period)
    return render(request, "finance/closed.html", {"period": period, "steps": steps}, principal=principal)


def _close_in_order(bus: MessageBus, queries: Queries, reports: Reports, principal: Principal,
                    through: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for program_id in reports.program_ids():
        for month in queries.periods(program_id)["ready_to_close"]:
            if month > through:
                break
            command = parse({"type": "close_period", "program_id": program_id, "period": month})
            authorize([command], principal)
            result = bus.handle(command, source="api", actor=principal.actor, caller=principal.caller)
            steps.append({"program_id": program_id, "period": month, "ok": result["ok"],
                          "text": f"{result['statements']} statements issued" if result["ok"] else result_text(result)})
            log.info("month_closed_from_console", program_id=program_id, period=month, ok=result["ok"])
            if not result["ok"]:
                break
    return steps


@router.post("/finance/close", dependencies=sends("close_period"))
async def close_month(request: Request, principal: CurrentPrincipal, bus: BusDep) -> Response:
    form = await request.form()
    program_id, period = form_text(form, "program_id"), form_text(form, "period")
    if program_id is None or period is None:
        return back_to(MONTHS_PAGE, "Choose the program and the month to close.", "error")

    def closed(result: dict[str, Any]) -> str:
        log.info("month_closed_from_console", program_id=program_id, period=period, statements=result["statements"])
        return f"Closed {period} for {program_id}: {result['statements']} statements issued."

    command = {"type": "close_period", "program_id": program_id, "period": period}
    return await submit(bus, principal, command, MONTHS_PAGE, closed, refused=f"{program_id} {period} was not closed: ")


# -- a month's statements ----------------------------------------------------------------


@router.get("/finance/statements", response_class=HTMLResponse, dependencies=[Reader])
def statements(request: Request, principal: CurrentPrincipal, queries: QueriesDep, listings: ListingsDep,
               reports: ReportsDep, period: Period = None, program: Program = None, after: After = None) -> Response:
    program_ids = reports.program_ids()
    closed = _closed_months(queries, program_ids)
    period = period or (closed[0] if closed else None)
    context: dict[str, Any] = {
        "period": period, "program": program, "program_ids": program_ids, "closed_months": closed,
        "totals": {}, "items": [], "pager": {}, "csv_url": None,
    }
    if period is not None:
        page = listings.statements(period=period, program=program, limit=DEFAULT_LIMIT, after=after)
        context.update(
            totals=listings.statement_totals(period=period, program=program),
            items=page.items, pager=pager(url("/finance/statements"), page.next, after, period=period, program=program),
            csv_url=url("/v1/statements.csv", period=period, program=program),
        )
    return render(request, "finance/statements.html", context, principal=principal)


def _closed_months(queries: Queries, program_ids: list[str]) -> list[str]:
    """Every month some program has closed, newest first."""
    closed = {c["period"] for program_id in program_ids for c in queries.periods(program_id)["closed"]}
    return sorted(closed, reverse=True)
