"""The lists staff work through, filterable and paged by cursor (``limit``, then
``after`` = the ``next`` a page answered): partners, applications, a month's statements,
payouts due, payout requests, commission on hold; and a partner's customers. Each is a
listing of ``projections.listings``; the CSV routes walk every page."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from entrypoints.http.accounts import reveal_accounts
from entrypoints.http.auth import CurrentPrincipal, Reader, partner_visible
from entrypoints.http.csv_export import csv_content, csv_response
from entrypoints.http.deps import BusDep, ListingsDep, QueriesDep
from entrypoints.http.params import MONTH_PATTERN, After, Fresh, On, PartnerId, Program
from projections.listings import DEFAULT_LIMIT, MAX_LIMIT, every

router = APIRouter(prefix="/v1", tags=["lists"], dependencies=[Fresh])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")]
PeriodQuery = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]


class Item(BaseModel):
    model_config = ConfigDict(extra="allow")


class PageOf(BaseModel):
    items: list[Item]
    next: str | None


@router.get("/partners", response_model=PageOf, dependencies=[Reader], summary="Partners, with state, level and status")
def partners(
    listings: ListingsDep, on: On, program: Program = None,
    status: Literal["active", "at_risk", "locked"] | None = None,
    level: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    state: Literal["applied", "approved", "rejected", "terminated"] | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200, description="part of the partner id")] = None,
    limit: Limit = DEFAULT_LIMIT, after: After = None,
) -> Any:
    return listings.partners(status=status, level=level, program=program, state=state, on=on, q=q,
                                    limit=limit, after=after).as_dict()


@router.get("/partners/{partner_id}/customers", response_model=PageOf, tags=["partners"],
            summary="The partner's customers: referred or resold, qualified or not yet")
def customers(partner_id: PartnerId, principal: CurrentPrincipal, listings: ListingsDep, queries: QueriesDep,
              limit: Limit = DEFAULT_LIMIT, after: After = None) -> Any:
    partner_visible(principal, partner_id)
    queries.known_partner(partner_id)  # 404 for a partner the ledger does not know
    return listings.customers(partner=partner_id, limit=limit, after=after).as_dict()


@router.get("/applications", response_model=PageOf, dependencies=[Reader], summary="Applications, oldest first (the review queue)")
def applications(
    listings: ListingsDep, program: Program = None,
    state: Literal["pending", "approved", "rejected", "terminated"] = "pending",
    limit: Limit = DEFAULT_LIMIT, after: After = None,
) -> Any:
    return listings.applications(state=state, program=program, limit=limit, after=after).as_dict()


@router.get("/statements", response_model=PageOf, dependencies=[Reader], summary="A month's issued statements (totals)")
def statements(listings: ListingsDep, period: PeriodQuery, program: Program = None,
               limit: Limit = DEFAULT_LIMIT, after: After = None) -> Any:
    return listings.statements(period=period, program=program, limit=limit, after=after).as_dict()


@router.get("/statements.csv", response_class=Response, dependencies=[Reader],
            responses=csv_content("one row per statement"), summary="A month's statements as CSV")
def statements_csv(listings: ListingsDep, period: PeriodQuery, program: Program = None) -> Response:
    columns = ("statement_id", "program_id", "partner_id", "period", "currency", "opening", "lines", "closing", "due", "issued_at")
    items = every(lambda after: listings.statements(period=period, program=program, limit=MAX_LIMIT, after=after))
    return csv_response(f"statements-{period}.csv", columns, ([item[c] for c in columns] for item in items))


@router.get("/payouts/due", response_model=PageOf, dependencies=[Reader], summary="What is due to whom now, per currency")
def payouts_due(listings: ListingsDep, program: Program = None, limit: Limit = DEFAULT_LIMIT, after: After = None) -> Any:
    return listings.payouts_due(program=program, limit=limit, after=after).as_dict()


@router.get("/payouts/due.csv", response_class=Response, dependencies=[Reader],
            responses=csv_content("one row per partner and currency"), summary="Payouts due as CSV")
def payouts_due_csv(principal: CurrentPrincipal, listings: ListingsDep, bus: BusDep, program: Program = None) -> Response:
    """With how to pay each row: method, account holder and account. Finance and admins
    get the full account (each one's reveal is recorded in the partner's audit trail);
    others the masked one. ``blocked`` says why a row cannot be paid yet."""
    columns = ("partner_id", "program_id", "currency", "due", "statement_id", "method", "account_holder", "account", "blocked")
    items = list(every(lambda after: listings.payouts_due(program=program, limit=MAX_LIMIT, after=after)))
    partner_ids = [item["partner_id"] for item in items]
    payees = listings.payees(partner_ids)
    accounts = reveal_accounts(listings, bus, principal, partner_ids, "payouts CSV")
    rows = ([item["partner_id"], item["program_id"], item["currency"], item["due"], item["statement_ids"][-1],
             *_paid_to(payees[item["partner_id"]], accounts.get(item["partner_id"]))] for item in items)
    return csv_response("payouts-due.csv", columns, rows)


def _paid_to(payee: dict[str, Any] | None, account: str | None) -> list[str | None]:
    if payee is None:
        return [None, None, None, "unknown partner"]
    return [payee["method"], payee["holder"], account or payee["account"], payee["blocked"]]


@router.get("/payouts/requests", response_model=PageOf, dependencies=[Reader],
            summary="Partners' open payout requests, oldest first (until a payout is recorded)")
def payout_requests(listings: ListingsDep, program: Program = None, limit: Limit = DEFAULT_LIMIT, after: After = None) -> Any:
    return listings.payout_requests(program=program, limit=limit, after=after).as_dict()


@router.get("/holds", response_model=PageOf, dependencies=[Reader], summary="Commission on hold for review, oldest first")
def holds(listings: ListingsDep, program: Program = None,
          partner: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
          limit: Limit = DEFAULT_LIMIT, after: After = None) -> Any:
    return listings.holds(program=program, partner=partner, limit=limit, after=after).as_dict()
