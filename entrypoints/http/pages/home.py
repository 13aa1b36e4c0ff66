"""``/``: where a signed-in browser lands. A partner goes straight to its dashboard;
staff see their consoles and what needs doing (applications waiting, commission on
hold, payout requests, months to close, promo slots left) with this month's
commission against the last; anonymous visitors go to the sign-in page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from entrypoints.http.access import READ_ALL, Role
from entrypoints.http.auth import OptionalPrincipal
from entrypoints.http.deps import ListingsDep, QueriesDep, ReportsDep
from entrypoints.http.templating import render
from entrypoints.http.urls import url
from projections.listings import DEFAULT_LIMIT, Listings, Page
from projections.queries import Queries
from projections.reports import Reports

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: OptionalPrincipal, queries: QueriesDep, listings: ListingsDep,
         reports: ReportsDep) -> Response:
    if principal is None:
        return RedirectResponse("/signin", status_code=303)
    if principal.role is Role.PARTNER:
        return RedirectResponse(url("/partners/{}", principal.partner_id), status_code=303)
    context = _to_do(queries, listings, reports, principal.role) if principal.can(READ_ALL) else {}
    return render(request, "home.html", context, principal=principal)


def _to_do(queries: Queries, listings: Listings, reports: Reports, role: Role) -> dict[str, Any]:
    """What waits for someone: each queue's count (``100+`` past one page) with where to
    work it (an admin sees every queue, finance its own), and per currency this month's
    commission beside last month's."""
    program_ids = reports.program_ids()
    admin, finance = role is Role.ADMIN, role in (Role.ADMIN, Role.FINANCE)
    to_do = []
    if admin:
        to_do += [
            {"label": "Applications waiting", "count": _count(listings.applications(limit=DEFAULT_LIMIT)),
             "href": url("/admin/applications")},
            {"label": "Commission on hold", "count": _count(listings.holds(limit=DEFAULT_LIMIT)), "href": url("/admin/holds")},
        ]
    if finance:
        months_to_close = sum(len(queries.periods(p)["ready_to_close"]) for p in program_ids)
        to_do += [
            {"label": "Payout requests", "count": _count(listings.payout_requests(limit=DEFAULT_LIMIT)),
             "href": url("/finance/payouts/requests")},
            {"label": "Months to close", "count": str(months_to_close), "href": url("/finance")},
        ]
    programs = [reports.program(program_id) for program_id in program_ids] if admin else []
    return {
        "to_do": to_do,
        "promos": [{"program_id": p["program_id"], "href": url("/admin/programs/{}", p["program_id"]), **p["promo"]}
                   for p in programs if p["promo"] is not None],
        "commission": _this_month_against_the_last(reports),
    }


def _this_month_against_the_last(reports: Reports) -> list[dict[str, Any]]:
    series = reports.commission_months(2)["currencies"]
    return [
        {"currency": currency, "last": last, "this": this, "change": Decimal(this["commission"]) - Decimal(last["commission"])}
        for currency, (last, this) in series.items()
    ]


def _count(page: Page) -> str:
    return f"{len(page.items)}+" if page.next is not None else str(len(page.items))
