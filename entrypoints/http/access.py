"""Who may do what: the roles, the one role -> permission table, and the principal a
request acts as.

A permission is either a capability (``read:all``, ``read:own``, ``snapshot:take``,
``verify``, ``invite``) or ``command:<type>`` for one command of the reference. Every
route and ``POST /v1/commands`` ask this table, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # applications, levels, rates, promo, terms, holds
    FINANCE = "finance"  # close months, payouts, exports, replay/verify
    AUDITOR = "auditor"  # reads everything, snapshots, verify; never writes
    BILLING = "billing"  # the integration token: signups, payments, refunds, chargebacks, costs
    PARTNER = "partner"  # bound to one partner: its own data, and asking to be paid


READ_ALL = "read:all"  # every partner, list and document
READ_OWN = "read:own"  # the documents of the principal's own partner
SNAPSHOT_TAKE = "snapshot:take"
VERIFY = "verify"  # hash chain and replay checks
INVITE = "invite"  # issue a one-time sign-in link for a partner
WEBHOOKS = "webhooks"  # register webhook endpoints, read their deliveries, send one again
WHAT_IF = "what_if"  # try proposed terms on a program's history (computed, never recorded)


def command(*types: str) -> frozenset[str]:
    return frozenset(f"command:{t}" for t in types)


ADMIN_COMMANDS = command(
    "define_program", "change_program_terms", "close_promo",
    "submit_application", "approve_application", "reject_application",
    "change_level", "set_commission_rate", "set_active_until", "terminate_partner",
    "submit_tax_form", "set_payout_details", "complete_training", "record_meeting",
    "review_commission", "forget_partner", "forget_customer", "rotate_partner_code", "reveal_payout_account",
    "set_notices", "update_profile",
    "issue_sign_in_link",
)
FINANCE_COMMANDS = command("close_period", "record_payout", "adjust_commission", "request_payout", "reveal_payout_account")
BILLING_COMMANDS = command(
    "sign_up_customer", "claim_customer", "set_do_not_contact",
    "record_payment", "record_refund", "record_chargeback", "record_cost",
)
PARTNER_COMMANDS = command(
    "request_payout", "rotate_partner_code", "submit_lead", "create_resold_customer", "set_notices",
    "submit_tax_form", "set_payout_details", "update_profile",  # its own paperwork and profile
)

PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.ADMIN: frozenset({READ_ALL, INVITE, WHAT_IF, WEBHOOKS}) | ADMIN_COMMANDS,
    Role.FINANCE: frozenset({READ_ALL, SNAPSHOT_TAKE, VERIFY, WHAT_IF}) | FINANCE_COMMANDS,
    Role.AUDITOR: frozenset({READ_ALL, SNAPSHOT_TAKE, VERIFY}),
    Role.BILLING: BILLING_COMMANDS,
    Role.PARTNER: frozenset({READ_OWN}) | PARTNER_COMMANDS,
}

# Commands a partner may only send about itself (the field naming the partner).
OWN_PARTNER_FIELD = "partner_id"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a role (and a partner, for partner tokens)."""

    role: Role
    credential_id: str
    partner_id: str | None = None
    via: str = "bearer"  # "bearer" or "session" (a browser cookie: forms need a CSRF token)

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]

    def may_send(self, command_type: str) -> bool:
        return self.can(f"command:{command_type}")

    def may_read_partner(self, partner_id: str) -> bool:
        return self.can(READ_ALL) or (self.can(READ_OWN) and partner_id == self.partner_id)

    def may_see_code(self, partner_id: str) -> bool:
        """A partner code is shared privately: only admins and the partner itself see it
        (not finance, not auditors, never a public page)."""
        return self.role is Role.ADMIN or (self.role is Role.PARTNER and partner_id == self.partner_id)

    @property
    def caller(self) -> str:
        """Whose ``command_id`` (Idempotency-Key) keys this caller's are: its own credential's
        (a token, or a browser session), so another caller cannot probe or block them."""
        return f"credential-{self.credential_id}"

    @property
    def actor(self) -> str:
        """How the audit trail names this caller (never the secret)."""
        if self.role is Role.PARTNER:
            return f"partner:{self.partner_id}"
        return f"{self.role.value}:{self.credential_id}"
