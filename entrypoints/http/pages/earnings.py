"""A month's statements line by line, as a partner reads them: each line with its
customer, payment, the base it was earned on, the rate and the amount; the same
documents as ``GET /v1/partners/{id}/statements/{period}`` and its CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response

from entrypoints.http.auth import CurrentPrincipal, partner_visible
from entrypoints.http.deps import QueriesDep
from entrypoints.http.pages.partner import resells
from entrypoints.http.params import MONTH_PATTERN, PartnerId
from entrypoints.http.templating import render
from projections.queries import NotFound

router = APIRouter(include_in_schema=False)

Period = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")]


@router.get("/partners/{partner_id}/statements/{period}", response_class=HTMLResponse)
def statement_lines(request: Request, partner_id: PartnerId, period: Period, principal: CurrentPrincipal,
                    queries: QueriesDep) -> Response:
    partner_visible(principal, partner_id)
    record = queries.partner(partner_id)
    statements = queries.statements(partner_id, period)
    if not statements:
        raise NotFound(f"no statement for {partner_id} in {period}")
    context = {"record": record, "period": period, "statements": statements, "tab": "dashboard",
               "resells": resells(queries, record)}
    return render(request, "partner/statement.html", context, principal=principal)
