"""The what-if page (finance and admin): a terms patch tried on a program's history,
computed in memory (``entrypoints.what_if.run_what_if``), nothing recorded; the totals,
each partner's commission as issued and as proposed, and a chart of the monthly
difference. The page and its chart share one computation (a small cache keyed by the
question and the log's position), so opening the page reads the log once."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from entrypoints.http import charts
from entrypoints.http.access import WHAT_IF
from entrypoints.http.auth import CurrentPrincipal, require
from entrypoints.http.deps import LogHead, ReportsDep, WhatIfDep, WhatIfRun
from entrypoints.http.params import MONTH_PATTERN
from entrypoints.http.problems import ApiError
from entrypoints.http.templating import render
from entrypoints.http.urls import url
from ledger.calendar import next_period
from ledger.errors import CommandRejected, Problem
from projections.queries import NotFound
from replay.what_if import WhatIfReport

router = APIRouter(include_in_schema=False)
MayAsk = [Depends(require(WHAT_IF))]

ProgramParam = Annotated[str | None, Query(max_length=200)]
PatchParam = Annotated[str | None, Query(max_length=20_000, description="a JSON merge patch of the terms in force")]
Month = Annotated[str | None, Query(alias="from", max_length=7)]
ToMonth = Annotated[str | None, Query(alias="to", max_length=7)]
EXAMPLE_PATCH = '{"levels": {"Gold": {"rate": "0.30"}}}'
CHART_SIZE = (720, 280)


@router.get("/what-if", response_class=HTMLResponse, dependencies=MayAsk)
def what_if_page(request: Request, principal: CurrentPrincipal, reports: ReportsDep, run: WhatIfDep, log_head: LogHead,
                 program: ProgramParam = None, patch: PatchParam = None, start: Month = None, end: ToMonth = None) -> Response:
    context: dict[str, Any] = {
        "program_ids": reports.program_ids(), "program": program, "patch": patch or "",
        "start": start or "", "end": end or "", "example": EXAMPLE_PATCH, "report": None, "problems": [],
        "month_pattern": MONTH_PATTERN,
    }
    if program and patch:
        try:
            report = _report(request, run, log_head, program, patch, start or None, end or None)
        except CommandRejected as refused:
            return render(request, "finance/what_if.html", {**context, "problems": refused.problems},
                          principal=principal, status=422)
        except NotFound as missing:
            return render(request, "finance/what_if.html", {**context, "problems": [Problem("not_found", str(missing), "program")]},
                          principal=principal, status=404)
        query = {"program": program, "patch": patch, **({"from": start} if start else {}), **({"to": end} if end else {})}
        context.update(report=_view(report), chart_url=url("/what-if/chart.svg", **query), chart_size=CHART_SIZE)
    return render(request, "finance/what_if.html", context, principal=principal)


@router.get("/what-if/chart.svg", response_class=Response, dependencies=MayAsk)
def what_if_chart(request: Request, run: WhatIfDep, log_head: LogHead, program: Annotated[str, Query(min_length=1, max_length=200)],
                  patch: Annotated[str, Query(min_length=1, max_length=20_000)], start: Month = None,
                  end: ToMonth = None) -> Response:
    """The monthly difference (proposed - issued), one series per currency."""
    try:
        report = _report(request, run, log_head, program, patch, start or None, end or None)
    except CommandRejected as refused:
        raise ApiError(refused.code, refused.message, refused.field) from None
    months = _every_month(sorted({period for period, _ in report.months}))
    series: dict[str, list[Decimal]] = {}
    for (period, currency), figures in report.months.items():
        series.setdefault(currency, [Decimal(0)] * len(months))[months.index(period)] = figures.difference
    svg = charts.monthly_bars("Difference per month (proposed - issued)", months, dict(sorted(series.items())),
                              width=CHART_SIZE[0], height=CHART_SIZE[1])
    return charts.svg_response(svg)


def _every_month(periods: list[str]) -> list[str]:
    """The months from the first to the last with activity, none left out of the axis."""
    months = periods[:1]
    while periods and months[-1] < periods[-1]:
        months.append(next_period(months[-1]))
    return months


def _view(report: WhatIfReport) -> dict[str, Any]:
    document = report.as_dict()
    return {**document, "changed_partners": sum(1 for row in document["partners"] if Decimal(row["difference"]))}


# -- one computation for the page and its chart ---------------------------------------

_RECENT: OrderedDict[tuple[Any, ...], WhatIfReport] = OrderedDict()
_RECENT_MAX = 8
_LOCK = threading.Lock()


def _report(request: Request, run: WhatIfRun, log_head: Callable[[], int], program: str, patch_text: str,
            start: str | None, end: str | None) -> WhatIfReport:
    """The what-if, computed once for the page and its chart: the cache is keyed by the
    app (its ledger), the log's head and the question."""
    try:
        patch = json.loads(patch_text)
    except ValueError as error:
        raise CommandRejected("invalid", f"the terms patch is not JSON: {error}", "terms_patch") from None
    key = (id(request.app), log_head(), program, json.dumps(patch, sort_keys=True), start, end)
    with _LOCK:
        if key in _RECENT:
            _RECENT.move_to_end(key)
            return _RECENT[key]
    report = run(program, patch, start, end)
    with _LOCK:
        _RECENT[key] = report
        while len(_RECENT) > _RECENT_MAX:
            _RECENT.popitem(last=False)
    return report
