"""The partner dashboard: what a partner earned, what it may be paid and why not yet,
its status against the program's target, its customers, statements and payouts, and a
button to ask for a payout; and the Reseller tab (margin and wholesale per month).

A partner opens only its own pages (another partner's are 404); staff who read
everything open any partner's. Every figure comes from the same queries as the API
(``/v1/partners/{id}/...``), so the page and the API never disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from entrypoints.http import charts
from entrypoints.http.access import Principal
from entrypoints.http.auth import CurrentPrincipal, partner_visible
from entrypoints.http.deps import BusDep, ListingsDep, QueriesDep, ReferralsDep, ReportsDep, SettingsDep
from entrypoints.http.pages.common import back_to, form_text, money, outcome, pager, refusal_text, send, submit
from entrypoints.http.pages.referrals import dashboard_sections
from entrypoints.http.params import MONTH_PATTERN, After, PartnerId
from entrypoints.http.problems import ApiError
from entrypoints.http.templating import render
from entrypoints.http.urls import Url, url
from ledger.calendar import add_months, month_end, next_period, period_of
from ledger.errors import CommandRejected
from ledger.money import zero
from projections.listings import MAX_LIMIT, Listings, every
from projections.queries import Queries
from projections.reports import MAX_MONTHS, Reports, Revenue, StatementSummary

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)

CUSTOMERS_PER_PAGE = 20
HOLDS_SHOWN = 50
PAYOUTS_SHOWN = 24
# Why commission is held, in words a partner understands (the ledger records a code).
HOLD_REASONS = {
    "self_referral": "possible self-referral (the customer looks like the partner's own business): an admin reviews it before it is paid",
}
CHART_SIZE = (1100, 320)  # as wide as the page's content
MONTH = re.compile(MONTH_PATTERN)

# Declared so a misspelt filter is refused; checked here so the page can say what is wrong.
FromMonth = Annotated[str | None, Query(alias="from", max_length=20, description="first month shown, YYYY-MM")]
ToMonth = Annotated[str | None, Query(alias="to", max_length=20, description="last month shown, YYYY-MM")]


# -- the time range -------------------------------------------------------------------


class BadRange(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class MonthRange:
    """The months the chart and the statements list cover, both ends included."""

    first: str
    last: str
    chosen: bool  # the visitor picked it (the page offers to clear it)

    @property
    def months(self) -> int:
        (y1, m1), (y2, m2) = (map(int, p.split("-")) for p in (self.first, self.last))
        return (y2 - y1) * 12 + m2 - m1 + 1

    @property
    def query(self) -> Url:
        """``?from=...&to=...`` when the visitor chose the range, else nothing."""
        return url("", **{"from": self.first, "to": self.last}) if self.chosen else Url()

    def holds(self, period: str) -> bool:
        return self.first <= period <= self.last


def last_twelve_months(today: datetime) -> MonthRange:
    return MonthRange(period_of(add_months(today.replace(day=1), -11)), period_of(today), chosen=False)


def month_range(first: str | None, last: str | None, today: datetime) -> MonthRange:
    """``?from=YYYY-MM&to=YYYY-MM``; either end may be left out (from alone runs to this
    month, to alone shows the 12 months ending there). Raises ``BadRange`` naming the field."""
    if first is None and last is None:
        return last_twelve_months(today)
    for field, value in (("from", first), ("to", last)):
        if value is not None and not MONTH.match(value):
            raise BadRange(field, f"{value} is not a month: write it as YYYY-MM, e.g. 2025-03")
    last = last or period_of(today)
    first = first or period_of(add_months(month_end(last).replace(day=1), -11))
    if first > last:
        raise BadRange("from", f"the range starts ({first}) after it ends ({last})")
    chosen = MonthRange(first, last, chosen=True)
    if chosen.months > MAX_MONTHS:
        raise BadRange("from", f"a range covers at most {MAX_MONTHS} months; this one covers {chosen.months}")
    return chosen


# -- the dashboard --------------------------------------------------------------------


@router.get("/partners/{partner_id}", response_class=HTMLResponse)
def dashboard(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep,
              listings: ListingsDep, reports: ReportsDep, referrals: ReferralsDep, settings: SettingsDep,
              first: FromMonth = None, last: ToMonth = None, after: After = None) -> Response:
    partner_visible(principal, partner_id)
    record = queries.partner(partner_id)  # 404 for a partner the ledger does not know
    today = datetime.now(UTC)
    try:
        window, range_error = month_range(first, last, today), None
    except BadRange as bad:
        window, range_error = last_twelve_months(today), str(bad)
    statements = reports.partner_statements(partner_id)  # newest first
    context = {
        "record": record, "window": window, "range_error": range_error,
        "range_asked": {"from": first or "", "to": last or ""},
        **_money(queries, listings, partner_id, principal, statements),
        **_standing(queries, record, today),
        "commission_in_range": _commission_in_range(reports, partner_id, window),
        "statements": [s for s in statements if window.holds(s["period"])],
        "payouts": queries.payouts(partner_id, PAYOUTS_SHOWN), "payouts_shown": PAYOUTS_SHOWN,
        **_customers(listings, partner_id, window, after), "chart_size": CHART_SIZE,
        "tab": "dashboard", "resells": resells(queries, record),
        **dashboard_sections(request, queries, referrals, settings.http_public_url, record, principal,
                             window.months, window.last),
    }
    return render(request, "partner/dashboard.html", context, principal=principal, status=422 if range_error else 200)


def _customers(listings: Listings, partner_id: str, window: MonthRange, after: str | None) -> dict[str, Any]:
    """A page of the partner's customers, with links to the first and next page that keep
    the chosen range (the template adds ``#customers``)."""
    customers = listings.customers(partner=partner_id, limit=CUSTOMERS_PER_PAGE, after=after)
    kept = {"from": window.first, "to": window.last} if window.chosen else {}
    return {"customers": customers, "after": after,
            "customers_pager": pager(url("/partners/{}", partner_id), customers.next, after, **kept)}


def _money(queries: Queries, listings: Listings, partner_id: str, principal: Principal,
           statements: list[StatementSummary]) -> dict[str, Any]:
    """Per currency: balance and lifetime commission, and the balance split into on
    hold, not yet payable (and why), payable now and paid; with the open payout requests."""
    balance = queries.balance(partner_id)["currencies"]
    latest: dict[str, StatementSummary] = {}
    for statement in statements:
        latest.setdefault(statement["currency"], statement)
    # All of the partner's held commission, oldest first: the "on hold" figure sums
    # every one, even where the page lists only the oldest (holds are rare: one page).
    holds = list(every(lambda after: listings.holds(partner=partner_id, limit=MAX_LIMIT, after=after)))
    requests = listings.payout_requests(partner=partner_id).items
    held: dict[str, Decimal] = {}
    for hold in holds:
        held[hold["currency"]] = held.get(hold["currency"], zero(hold["currency"])) + Decimal(hold["amount"])
    accounts = []
    for currency, figures in balance.items():
        on_hold = held.get(currency, zero(currency))
        not_yet_payable = Decimal(figures["balance"]) - Decimal(figures["due"]) - on_hold
        accounts.append({
            "currency": currency, **figures, "on_hold": str(on_hold), "has_hold": on_hold > 0,
            "not_yet_payable": str(not_yet_payable), "has_waiting": not_yet_payable != 0,
            "has_due": Decimal(figures["due"]) > 0, "why_not_yet": _why_not_yet_payable(latest.get(currency)),
            "request": next((r for r in requests if r["currency"] == currency), None),
        })
    return {
        "accounts": accounts, "holds": holds[:HOLDS_SHOWN], "holds_total": len(holds), "hold_reason": _hold_reason,
        "may_request_payout": principal.may_send("request_payout"),
        "may_set_notices": principal.may_send("set_notices"),
    }


def _hold_reason(code: str) -> str:
    return HOLD_REASONS.get(code, code.replace("_", " "))


def _why_not_yet_payable(latest: StatementSummary | None) -> str:
    """What keeps earned money from being payable: what the last month close carried
    forward and why, or simply that no statement has included it yet."""
    if latest is None:
        return "earned, not on a statement yet: it becomes payable when finance closes the month"
    reasons = latest.get("carried_forward_because", [])  # stated only when there were some
    if reasons:
        return f"carried forward by the {latest['period']} statement: {'; '.join(reasons)}"
    return f"earned after the {latest['period']} statement: it becomes payable when finance closes the month"


def _standing(queries: Queries, record: dict[str, Any], today: datetime) -> dict[str, Any]:
    """Status with the figure behind it, and the duties the program's terms set."""
    terms = queries.terms(record["program_id"], today)
    status = queries.status(record["partner_id"], today) if record["state"] == "approved" else None
    lock = None
    if status and status["locked_until"]:
        lock = max((lk for lk in status["locks"] if lk["in_force"]), key=lambda lk: lk["until"])
    return {"status": status, "lock": lock, "status_terms": terms["status"], "payout_terms": terms["payout"]}


def _commission_in_range(reports: Reports, partner_id: str, window: MonthRange) -> dict[str, str]:
    """What the range added to lifetime commission, per currency (the chart's bars summed)."""
    series = _revenue(reports, partner_id, window)["currencies"]
    return {c: str(sum((Decimal(m["commission"]) for m in months), zero(c))) for c, months in series.items()}


def _revenue(reports: Reports, partner_id: str, window: MonthRange) -> Revenue:
    return reports.revenue(partner_id, window.months, as_of=month_end(window.last))


# -- the chart ------------------------------------------------------------------------


@router.get("/partners/{partner_id}/chart.svg", response_class=Response)
def chart(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, reports: ReportsDep,
          first: FromMonth = None, last: ToMonth = None) -> Response:
    partner_visible(principal, partner_id)
    queries.known_partner(partner_id)
    try:
        window = month_range(first, last, datetime.now(UTC))
    except BadRange as bad:
        raise ApiError("invalid", str(bad), bad.field) from None
    revenue = _revenue(reports, partner_id, window)
    months = _periods(window)
    series = {c: [Decimal(m["commission"]) for m in rows] for c, rows in revenue["currencies"].items()}
    svg = charts.monthly_bars("Commission per month", months, series, width=CHART_SIZE[0], height=CHART_SIZE[1])
    return charts.svg_response(svg)


def _periods(window: MonthRange) -> list[str]:
    periods = [window.first]
    while periods[-1] != window.last:
        periods.append(next_period(periods[-1]))
    return periods


# -- asking for a payout --------------------------------------------------------------


@router.post("/partners/{partner_id}/payout-request")
async def payout_request(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    """Sends ``request_payout`` for what is due in one currency (all of it): finance
    sees it in its queue until it records the payout."""
    partner_visible(principal, partner_id)
    form = await request.form()
    dashboard = url("/partners/{}", partner_id)
    command = {"type": "request_payout", "partner_id": partner_id, "currency": form_text(form, "currency")}
    try:
        results = await send(bus, principal, [command])
    except CommandRejected as refused:
        return back_to(dashboard, refusal_text(refused), "error")
    [result] = results
    log.info("payout requested", partner_id=partner_id, ok=result["ok"], actor=principal.actor)
    done = f"Payout of {money(result['amount'], result['currency'])} requested: finance pays it with its next run." if result["ok"] else ""
    return back_to(dashboard, *outcome(results, done))


@router.post("/partners/{partner_id}/notices")
async def set_notices(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    """The dashboard's notices switch: sends ``set_notices`` (the partner's own, or an admin's)."""
    partner_visible(principal, partner_id)
    wanted = form_text(await request.form(), "notices") == "on"
    done = "Notice e-mails are on." if wanted else "Notice e-mails are off: sign-in links still come by e-mail."
    command = {"type": "set_notices", "partner_id": partner_id, "notices": wanted}
    return await submit(bus, principal, command, url("/partners/{}#notices", partner_id), done)


# -- the Reseller tab -----------------------------------------------------------------


def resells(queries: Queries, record: dict[str, Any]) -> bool:
    """Whether the partner's program resells (some level has a resale discount): only then
    do its pages show the Resale tab (a referral-only program has nothing to show there)."""
    levels = queries.terms(record["program_id"])["levels"].values()
    return any(Decimal(level.get("discount") or 0) > 0 for level in levels)


@router.get("/partners/{partner_id}/resale", response_class=HTMLResponse)
def resale(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep) -> Response:
    partner_visible(principal, partner_id)
    record = queries.partner(partner_id)
    months = queries.resale(partner_id)["months"]
    totals: dict[str, dict[str, Decimal]] = {}
    for month in months:
        for currency, figures in month["currencies"].items():
            total = totals.setdefault(currency, {"margin": zero(currency), "wholesale": zero(currency)})
            total["margin"] += Decimal(figures["margin"])
            total["wholesale"] += Decimal(figures["wholesale"])
    context = {
        "record": record, "months": list(reversed(months)), "totals": totals,
        "not_reported": sum(1 for m in months if m["state"] == "not_reported"),
        "tab": "resale", "resells": resells(queries, record),
    }
    return render(request, "partner/resale.html", context, principal=principal)
