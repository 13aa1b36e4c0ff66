"""``/v1/programs/{id}``: terms in force, promo slots taken and left, partners per state.
A partner reads its own program only."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from entrypoints.http.access import READ_ALL, READ_OWN
from entrypoints.http.auth import CurrentPrincipal
from entrypoints.http.deps import QueriesDep, ReportsDep
from entrypoints.http.params import Fresh, KnownAt, ProgramId
from entrypoints.http.problems import ApiError
from projections.queries import NotFound

router = APIRouter(prefix="/v1/programs", tags=["programs"], dependencies=[Fresh])


class PromoSlots(BaseModel):
    """A program's launch promotion: its rate, how many slots it has, taken and left."""


    rate: str
    slots: int
    taken: int
    left: int
    closed: bool


class ProgramPage(BaseModel):
    program_id: str
    preset: str | None
    terms: dict[str, Any]
    promo: PromoSlots | None
    last_closed_period: str | None
    partners: dict[str, int]


@router.get("/{program_id}", response_model=ProgramPage, summary="Terms in force, promo slots taken and left, partners per state")
def program(program_id: ProgramId, principal: CurrentPrincipal,
            queries: QueriesDep, reports: ReportsDep, known_at: KnownAt) -> Any:
    if not principal.can(READ_ALL):
        if not principal.can(READ_OWN) or principal.partner_id is None:
            raise ApiError("forbidden", f"the {principal.role.value} role may not read programs")
        if queries.partner(principal.partner_id)["program_id"] != program_id:
            raise NotFound(f"program {program_id!r} does not exist")
    return reports.program(program_id, known_at)
