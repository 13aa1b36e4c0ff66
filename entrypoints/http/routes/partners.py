"""One partner's documents: record, balance, status, statements, audit trail. A partner
token reads only its own (another partner's is 404); staff roles read any."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from entrypoints.http.access import Principal
from entrypoints.http.auth import CurrentPrincipal, partner_visible
from entrypoints.http.csv_export import csv_content, csv_response
from entrypoints.http.deps import QueriesDep, ReportsDep
from entrypoints.http.params import MONTH_PATTERN, AsOf, Fresh, KnownAt, On, PartnerId
from projections.queries import AuditEntry, Balance, NotFound, Queries, Statement, Status
from projections.reports import MAX_MONTHS, Revenue, StatementSummary

router = APIRouter(prefix="/v1/partners", tags=["partners"], dependencies=[Fresh])

Period = Annotated[str, Path(pattern=MONTH_PATTERN, description="YYYY-MM")]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class PartnerRecord(Open):
    partner_id: str
    program_id: str
    state: str
    level: str | None
    rate: str | None
    promo: bool = Field(description="the partner holds a launch promo slot")
    promo_rate: str | None = Field(None, description="the promo rate, while the partner earns it (no own rate set)")
    tax_form: str | None
    tax_form_details: dict[str, Any] | None = Field(None, description=(
        "the latest tax form, masked: form, handed_in_at, legal_name (initials), country, tax_id (last digits), signed_form"))
    payout_method: dict[str, Any] | None = Field(None, description="method, account (masked) and bic")
    training_completed: bool
    profile: dict[str, Any]
    referral_link: str | None = Field(description="the public referral link's key: share `<base>/r/<link>`")
    partner_code: str | None = Field(None, description="the private partner code: only admins and the partner itself see it")
    notices: bool = Field(True, description="whether the partner gets notice e-mails (statement issued, payout recorded, ...)")


def _visible(principal: Principal, partner_id: str) -> str:
    partner_visible(principal, partner_id)
    return partner_id


@router.get("/{partner_id}", response_model=PartnerRecord, summary="The partner's record (personal data masked)")
def partner(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, known_at: KnownAt) -> Any:
    return queries.partner(_visible(principal, partner_id), known_at, with_code=principal.may_see_code(partner_id))


# A coroutine: the current balance is one indexed read of the running totals, cheaper
# than the hop to the thread pool a plain function would cost.
@router.get("/{partner_id}/balance", response_model=Balance, summary="Commission balance per currency")
async def balance(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, as_of: AsOf, known_at: KnownAt) -> Any:
    return queries.balance(_visible(principal, partner_id), as_of, known_at)


@router.get("/{partner_id}/status", response_model=Status, summary="Active, at risk or locked, with the figures behind it")
def status(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, on: On, known_at: KnownAt) -> Any:
    return queries.status(_visible(principal, partner_id), on, known_at)


@router.get("/{partner_id}/statements", response_model=list[StatementSummary],
            summary="Every statement issued to the partner, newest first")
def statements(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, reports: ReportsDep, known_at: KnownAt) -> Any:
    queries.known_partner(_visible(principal, partner_id), known_at)
    return reports.partner_statements(partner_id, known_at)


@router.get("/{partner_id}/statements/{period}.csv", response_class=Response,
            responses=csv_content("the statements' opening, lines (with customer, payment, base and rate), closing and due, one row each"),
            summary="A month's statements as CSV")
def statement_csv(partner_id: PartnerId, period: Period, principal: CurrentPrincipal, queries: QueriesDep,
                  as_of: AsOf, known_at: KnownAt) -> Response:
    documents = _statements(queries, _visible(principal, partner_id), period, as_of, known_at)
    rows = []
    for d in documents:
        head = (d["statement_id"], d["partner_id"], d["period"], d["currency"])
        blank = ("",) * 7
        rows.append((*head, "opening", *blank, d["opening"]))
        rows += [(*head, "line", line["effective_at"], line["kind"], line["source_id"], line["customer_id"] or "",
                  line["payment_id"] or "", line["base"] or "", line["rate"] or "", line["amount"]) for line in d["lines"]]
        rows += [(*head, "closing", *blank, d["closing"]), (*head, "due", *blank, d["due"])]
    header = ("statement_id", "partner_id", "period", "currency", "row", "effective_at", "kind", "source_id",
              "customer_id", "payment_id", "base", "rate", "amount")
    return csv_response(f"statement-{partner_id}-{period}.csv", header, rows)


@router.get("/{partner_id}/statements/{period}", response_model=list[Statement],
            summary="The partner's issued statements for a month (one per currency)")
def statement(partner_id: PartnerId, period: Period, principal: CurrentPrincipal, queries: QueriesDep,
              as_of: AsOf, known_at: KnownAt) -> Any:
    return _statements(queries, _visible(principal, partner_id), period, as_of, known_at)


def _statements(queries: Queries, partner_id: str, period: str, as_of: datetime | None, known_at: datetime | None) -> list[Statement]:
    statements = queries.statements(partner_id, period, as_of, known_at)
    if not statements:
        raise NotFound(f"no statement for {partner_id} in {period}")
    return statements


@router.get("/{partner_id}/revenue", response_model=Revenue,
            summary="Monthly series per currency: commission and each bucket, for the last `months` months")
def revenue(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, reports: ReportsDep, as_of: AsOf, known_at: KnownAt,
            months: Annotated[int, Query(ge=1, le=MAX_MONTHS)] = 12) -> Any:
    queries.known_partner(_visible(principal, partner_id), known_at)
    return reports.revenue(partner_id, months, as_of, known_at)


@router.get("/{partner_id}/audit", response_model=list[AuditEntry], summary="Every event about the partner, with its effect on money")
def audit(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, as_of: AsOf, known_at: KnownAt) -> Any:
    partner_visible(principal, partner_id)
    queries.known_partner(partner_id, known_at)  # 404 for a partner the ledger does not know
    return queries.audit(partner_id=partner_id, as_of=as_of, known_at=known_at)
