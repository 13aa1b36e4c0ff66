"""A partner's referral funnel and leads, and the admins' queue of every lead.

The funnel (clicks, sign-ups, new paying customers, commission per month) reads like any
partner document: the partner itself and staff. Leads carry their contact's personal
data (company, e-mail, note), so only the partner that submitted them and admins see
them, as with the partner code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from entrypoints.http.access import Principal, Role
from entrypoints.http.auth import CurrentPrincipal, partner_visible
from entrypoints.http.deps import QueriesDep, ReferralsDep
from entrypoints.http.params import AsOf, Fresh, PartnerId
from entrypoints.http.problems import ApiError
from projections.referrals import Funnel, Lead, LeadState
from projections.reports import MAX_MONTHS

router = APIRouter(prefix="/v1", tags=["referrals"], dependencies=[Fresh])

LEADS_LIMIT = 200
@router.get("/partners/{partner_id}/funnel", response_model=Funnel,
            summary="Per month: clicks on the partner's link, sign-ups, new paying customers and commission")
def funnel(partner_id: PartnerId, principal: CurrentPrincipal, referrals: ReferralsDep, as_of: AsOf,
           months: Annotated[int, Query(ge=1, le=MAX_MONTHS)] = 12) -> Any:
    partner_visible(principal, partner_id)
    return referrals.funnel(partner_id, months, as_of)


@router.get("/partners/{partner_id}/leads", response_model=list[Lead],
            summary="The leads a partner submitted, newest first, each with its state (the partner itself and admins)")
def partner_leads(partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep, referrals: ReferralsDep,
                  state: LeadState | None = None) -> Any:
    partner_visible(principal, partner_id)
    if not principal.may_see_code(partner_id):
        raise _personal(principal)
    queries.known_partner(partner_id)
    return referrals.leads(partner_id=partner_id, state=state, limit=LEADS_LIMIT)


@router.get("/leads", response_model=list[Lead], summary="Every partner's leads, newest first: the admins' queue")
def leads(principal: CurrentPrincipal, referrals: ReferralsDep, state: LeadState | None = None) -> Any:
    if principal.role is not Role.ADMIN:
        raise _personal(principal)
    return referrals.leads(state=state, limit=LEADS_LIMIT)


def _personal(principal: Principal) -> ApiError:
    return ApiError("forbidden", f"the {principal.role.value} role may not read leads: they hold their contacts' personal data")
