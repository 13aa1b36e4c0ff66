"""Full payout accounts, shown only to those who pay (finance and admins), and never
without a trace: each partner's account is revealed through a ``reveal_payout_account``
command first, so the audit trail says who saw it, when and where."""

from __future__ import annotations

import structlog

from commands.bus import MessageBus
from commands.parsing import parse
from entrypoints.http.access import Principal
from entrypoints.http.routes.commands import authorize
from projections.listings import Listings

log = structlog.get_logger(__name__)

REVEAL = "reveal_payout_account"


def reveal_accounts(listings: Listings, bus: MessageBus, principal: Principal, partner_ids: list[str], shown_in: str) -> dict[str, str]:
    """The full accounts of those partners that have one, each reveal recorded first
    (one command per partner, in one batch); {} for a role that may not see them."""
    if not principal.may_send(REVEAL):
        return {}
    wanted = sorted({p for p, payee in listings.payees(partner_ids).items() if payee and payee["method"]})
    commands = [parse({"type": REVEAL, "partner_id": partner_id, "shown_in": shown_in}) for partner_id in wanted]
    authorize(commands, principal)
    results = bus.handle_many(commands, source="api", actor=principal.actor, caller=principal.caller)
    recorded = [partner_id for partner_id, result in zip(wanted, results, strict=True) if result["ok"]]
    log.info("payout_accounts_revealed", count=len(recorded), shown_in=shown_in, actor=principal.actor)
    return listings.payout_accounts(recorded)
