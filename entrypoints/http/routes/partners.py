"""One partner's documents: record, balance, status, statements, audit trail. A partner
token reads only its own (another partner's is 404); staff roles read any."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict

from entrypoints.http.access import Principal
from entrypoints.http.auth import CurrentPrincipal, LedgerDep, partner_visible
from entrypoints.http.params import AsOf, Fresh, KnownAt, On
from projections.queries import NotFound

router = APIRouter(prefix="/v1/partners", tags=["partners"], dependencies=[Fresh])

PartnerId = Annotated[str, Path(min_length=1, max_length=200, description="the partner's id")]
Period = Annotated[str, Path(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class BalanceFigures(BaseModel):
    earned: str
    clawed_back: str
    deducted: str
    adjusted: str
    lifetime_commission: str
    paid: str
    balance: str
    due: str
    discount: str


class Balance(BaseModel):
    partner_id: str
    currencies: dict[str, BalanceFigures]


class PartnerRecord(Open):
    partner_id: str
    program_id: str
    state: str
    level: str | None
    rate: str | None
    promo: bool
    tax_form: str | None
    training_completed: bool
    profile: dict[str, Any]


class Status(Open):
    status: str
    onboarded_total: int
    onboarded_in_window: int
    locked_until: str | None


class Statement(Open):
    statement_id: str
    partner_id: str
    period: str
    currency: str
    issued_at: str
    opening: str
    lines: list[dict[str, Any]]
    closing: str
    due: str


class AuditEntry(Open):
    position: int
    type: str
    effective_at: str
    recorded_at: str
    actor: str
    source: str
    money: list[dict[str, Any]]


def _visible(principal: Principal, partner_id: str) -> str:
    partner_visible(principal, partner_id)
    return partner_id


@router.get("/{partner_id}", response_model=PartnerRecord, summary="The partner's record (personal data masked)")
def partner(partner_id: PartnerId, principal: CurrentPrincipal, ledger: LedgerDep, known_at: KnownAt) -> Any:
    return ledger.queries.partner(_visible(principal, partner_id), known_at)


@router.get("/{partner_id}/balance", response_model=Balance, summary="Commission balance per currency")
def balance(partner_id: PartnerId, principal: CurrentPrincipal, ledger: LedgerDep, as_of: AsOf, known_at: KnownAt) -> Any:
    return ledger.queries.balance(_visible(principal, partner_id), as_of, known_at)


@router.get("/{partner_id}/status", response_model=Status, summary="Active, at risk or locked, with the figures behind it")
def status(partner_id: PartnerId, principal: CurrentPrincipal, ledger: LedgerDep, on: On, known_at: KnownAt) -> Any:
    return ledger.queries.status(_visible(principal, partner_id), on, known_at)


@router.get("/{partner_id}/statements/{period}", response_model=list[Statement],
            summary="The partner's issued statements for a month (one per currency)")
def statement(partner_id: PartnerId, period: Period, principal: CurrentPrincipal, ledger: LedgerDep,
              as_of: AsOf, known_at: KnownAt) -> Any:
    statements = ledger.queries.statements(_visible(principal, partner_id), period, as_of, known_at)
    if not statements:
        raise NotFound(f"no statement for {partner_id} in {period}")
    return statements


@router.get("/{partner_id}/audit", response_model=list[AuditEntry], summary="Every event about the partner, with its effect on money")
def audit(partner_id: PartnerId, principal: CurrentPrincipal, ledger: LedgerDep, as_of: AsOf, known_at: KnownAt) -> Any:
    partner_visible(principal, partner_id)
    ledger.queries.partner(partner_id, known_at)  # 404 for a partner the ledger does not know
    return ledger.queries.audit(partner_id=partner_id, as_of=as_of, known_at=known_at)
