"""Customers: sign-up, attribution claims (the first valid claim wins; a failed claim
is recorded), do-not-contact for resold customers."""

from __future__ import annotations

from datetime import datetime

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.customer import ClaimRejected, CustomerClaimed, CustomerSignedUp, DoNotContactSet
from ledger.customer import Customer
from ledger.errors import CommandRejected, reject
from ledger.partner import Partner
from ledger.privacy import subject
from ledger.program import Program


@handles(m.SignUpCustomer)
def sign_up_customer(ctx: Context, c: m.SignUpCustomer) -> Result:
    customer = ctx.uow.get_or_new(Customer, c.customer_id)
    if customer.forgotten and (c.email or c.company):
        field = "email" if c.email else "company"
        raise reject("forgotten", f"customer {c.customer_id!r} was forgotten: no personal data is stored for it", field)
    if customer.signed_up_at is not None:
        raise reject("conflict", f"customer {c.customer_id!r} has already signed up", "customer_id")
    owner = subject("customer", c.customer_id)
    event = CustomerSignedUp(
        customer_id=c.customer_id, company=ctx.sealed(owner, c.company), email=ctx.sealed(owner, c.email),
        email_hash=ctx.vault.fingerprint(c.email) if c.email else None,
        domain_hash=ctx.domain_hash(c.email) if c.email else None,
    )
    ctx.record(customer, event)
    return {"customer_id": c.customer_id}


@handles(m.ClaimCustomer)
def claim_customer(ctx: Context, c: m.ClaimCustomer) -> Result:
    partner = ctx.partner(c.partner_id)
    program = ctx.program(partner.program_id)
    customer = ctx.uow.get_or_new(Customer, c.customer_id)
    reason = claim_refusal(customer, partner, program, c.channel, ctx.meta.effective_at)
    if reason is not None:
        ctx.record(customer, ClaimRejected(customer_id=c.customer_id, partner_id=c.partner_id, channel=c.channel, reason=reason))
        raise CommandRejected("claim_rejected", reason, "customer_id", recorded=True)
    claim = CustomerClaimed(customer_id=c.customer_id, partner_id=c.partner_id, program_id=program.program_id, channel=c.channel)
    ctx.record(customer, claim)
    return {"customer_id": c.customer_id, "partner_id": c.partner_id, "channel": c.channel}


def claim_refusal(customer: Customer, partner: Partner, program: Program, channel: str, on: datetime) -> str | None:
    """Why a claim does not qualify on its date, or None when it does."""
    if customer.partner_id is not None:
        return "customer is already attributed to a partner"
    if customer.first_paid_at is not None and customer.first_paid_at <= on:
        return "customer is already a paying customer (purchased before the claim)"
    if not partner.is_approved:
        return f"partner is {partner.state}, not approved"
    if partner.approved_at is None or partner.approved_at > on:
        return "partner was not yet approved on the claim date"
    if channel == "lead" and program.terms_on(on).training_required_for_leads and not partner.trained_by(on):
        return "leads qualify only after the partner completed training"
    return None


@handles(m.SetDoNotContact)
def set_do_not_contact(ctx: Context, c: m.SetDoNotContact) -> Result:
    customer = ctx.customer(c.customer_id)
    if c.value and not customer.resold:
        raise reject("invalid", "only a resold customer can be marked do-not-contact", "customer_id")
    ctx.record(customer, DoNotContactSet(customer_id=c.customer_id, value=c.value))
    return {"customer_id": c.customer_id, "do_not_contact": c.value}
