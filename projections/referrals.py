"""Reading referrals: which partner a link names, a partner's leads (or the admins'
queue of every lead), and the partner's funnel per month (clicks, sign-ups, paying
customers, commission)."""

from __future__ import annotations

from typing import Any

from adapters.database import Database
from adapters.event_store import EventStore
from adapters.vault import Vault
from ledger.partner import Partner
from ledger.referral import Referral, referral_key
from projections.runner import Tables

LEAD_STATES = ("open", "converted", "refused")


class Referrals:
    def __init__(self, db: Database, store: EventStore, vault: Vault, t: Tables | None = None) -> None:
        self.db, self.store, self.vault = db, store, vault
        self.t = t or Tables()

    def link_partner(self, link: str) -> Partner | None:
        """The approved partner a referral link names (None: unknown, or the partner is gone)."""
        referral = self.store.load(Referral, referral_key(link=link.lower()), None)
        partner = None if referral is None else self.store.load(Partner, referral.partner_id, None)
        return partner if partner is not None and partner.is_approved else None

    def leads(self, *, partner_id: str | None = None, state: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """Leads newest first: one partner's (contact data unsealed for it), or every
        partner's for the admins' queue."""
        where, params = [], []
        if partner_id is not None:
            where.append("partner_id = %s")
            params.append(partner_id)
        if state is not None:
            where.append("state = %s")
            params.append(state)
        rows = self.db.fetch_all(
            "SELECT lead_id, partner_id, program_id, state, reason, customer_id, submitted_at, company, email, note"
            f" FROM {self.t.leads}{' WHERE ' + ' AND '.join(where) if where else ''}"
            " ORDER BY submitted_at DESC, lead_id LIMIT %s",
            (*params, limit),
        )
        names = ("lead_id", "partner_id", "program_id", "state", "reason", "customer_id", "submitted_at")
        return [
            dict(zip(names, row[:7], strict=True))
            | {"company": self.vault.unseal(row[7]), "email": self.vault.unseal(row[8]), "note": self.vault.unseal(row[9])}
            for row in rows
        ]
