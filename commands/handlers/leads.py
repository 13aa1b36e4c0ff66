"""Leads: a partner's tip about a company that is not yet a customer. The referral
program's rules decide at once whether it qualifies; a qualifying lead stays open until
its contact signs up (``sign_up_customer`` then attributes the customer with channel
``lead``). A lead that does not qualify is recorded as refused, with the reason, so the
partner sees why."""

from __future__ import annotations

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.referral import LeadRefused, LeadSubmitted
from ledger.customer import Customer
from ledger.errors import CommandRejected, reject
from ledger.partner import Partner
from ledger.privacy import subject
from ledger.referral import (
    LEAD_CURRENT_CUSTOMER,
    LEAD_OTHER_PARTNER,
    LEAD_PURCHASED_BEFORE,
    LEAD_TRAINING,
    Contacts,
    Lead,
)


@handles(m.SubmitLead)
def submit_lead(ctx: Context, c: m.SubmitLead) -> Result:
    partner = ctx.approved_partner(c.partner_id)
    if ctx.uow.get(Lead, c.lead_id) is not None:
        raise reject("conflict", f"lead {c.lead_id!r} was already submitted", "lead_id")
    email_hash, domain_hash = ctx.vault.fingerprint(c.email), ctx.domain_hash(c.email)
    contacts = ctx.read_models.contacts(email_hash, domain_hash)
    if any(p == c.partner_id and state == "open" for _, p, state in contacts.leads):
        raise reject("conflict", "you already submitted an open lead for this e-mail", "email")
    owner = subject("lead", c.lead_id)
    lead = ctx.uow.new(Lead, c.lead_id)
    ctx.record(lead, LeadSubmitted(
        lead_id=c.lead_id, partner_id=c.partner_id, program_id=partner.program_id,
        company=ctx.vault.seal(owner, c.company), email=ctx.vault.seal(owner, c.email), note=ctx.sealed(owner, c.note),
        email_hash=email_hash, domain_hash=domain_hash,
    ))
    reason = lead_refusal(ctx, partner, contacts)
    if reason is not None:
        ctx.record(lead, LeadRefused(lead_id=c.lead_id, partner_id=c.partner_id, reason=reason))
        raise CommandRejected("lead_refused", reason, "email", recorded=True)
    return {"lead_id": c.lead_id, "state": "open"}


def lead_refusal(ctx: Context, partner: Partner, contacts: Contacts) -> str | None:
    """Why a lead does not qualify (the referral program's rules), or None."""
    on = ctx.meta.effective_at
    terms = ctx.program(partner.program_id).terms_on(on)
    if terms.training_required_for_leads and not partner.trained_by(on):
        return LEAD_TRAINING
    if any(p != partner.partner_id and state != "refused" for _, p, state in contacts.leads):
        return LEAD_OTHER_PARTNER
    customers = [ctx.existing(Customer, customer_id) for customer_id in contacts.customer_ids]
    if any(customer.first_paid_at is not None for customer in customers):
        return LEAD_PURCHASED_BEFORE
    if any(not customer.forgotten for customer in customers):
        return LEAD_CURRENT_CUSTOMER
    return None
