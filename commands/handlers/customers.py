"""Customers: sign-up (attributed at once through a referral code or link, or to the
partner whose open lead it is), attribution claims (the first valid claim wins; a
failed claim is recorded), resellers' own customers, do-not-contact."""

from __future__ import annotations

from datetime import datetime

from commands import models as m
from commands.handlers.base import Context, Result, handles
from commands.handlers.referrals import referring_partner
from events.customer import ClaimRejected, CustomerClaimed, CustomerSignedUp, DoNotContactSet
from events.referral import LeadConverted, LeadRefused
from ledger.customer import Customer
from ledger.errors import CommandRejected, reject
from ledger.partner import Partner
from ledger.privacy import subject
from ledger.program import Program
from ledger.referral import Lead


def _sign_up(ctx: Context, customer_id: str, email: str | None, company: str | None) -> Customer:
    customer = ctx.uow.get_or_new(Customer, customer_id)
    if customer.forgotten and (email or company):
        field = "email" if email else "company"
        raise reject("forgotten", f"customer {customer_id!r} was forgotten: no personal data is stored for it", field)
    if customer.signed_up_at is not None:
        raise reject("conflict", f"customer {customer_id!r} has already signed up", "customer_id")
    owner = subject("customer", customer_id)
    event = CustomerSignedUp(
        customer_id=customer_id, company=ctx.sealed(owner, company), email=ctx.sealed(owner, email),
        email_hash=ctx.vault.fingerprint(email) if email else None,
        domain_hash=ctx.domain_hash(email) if email else None,
    )
    ctx.record(customer, event)
    return customer


@handles(m.SignUpCustomer)
def sign_up_customer(ctx: Context, c: m.SignUpCustomer) -> Result:
    referrer = referring_partner(ctx, c) if c.referral_channel else None  # refused before anything is recorded
    customer = _sign_up(ctx, c.customer_id, c.email, c.company)
    result: Result = {"customer_id": c.customer_id}
    if referrer is not None:
        assert c.referral_channel is not None
        result |= _attribution(ctx, customer, referrer, c.referral_channel)
    elif c.email is not None:
        result |= _convert_lead(ctx, customer, c.email)
    return result


def _attribution(ctx: Context, customer: Customer, partner: Partner, channel: m.Channel) -> Result:
    """A claim made while signing up: a refusal is recorded and reported, the sign-up stands."""
    reason = _claim(ctx, customer, partner, channel)
    if reason is not None:
        return {"attribution": "refused", "reason": reason}
    return {"partner_id": partner.partner_id, "channel": channel}


def _convert_lead(ctx: Context, customer: Customer, email: str) -> Result:
    """The partner whose lead this address is gets the customer (channel ``lead``)."""
    found = ctx.read_models.contacts(ctx.vault.fingerprint(email), None).open_lead()
    if found is None:
        return {}
    lead_id, partner_id = found
    lead = ctx.existing(Lead, lead_id)
    reason = _claim(ctx, customer, ctx.partner(partner_id), "lead")
    if reason is not None:
        ctx.record(lead, LeadRefused(lead_id=lead_id, partner_id=partner_id, reason=reason))
        return {"lead_id": lead_id, "attribution": "refused", "reason": reason}
    ctx.record(lead, LeadConverted(lead_id=lead_id, partner_id=partner_id, customer_id=customer.customer_id))
    return {"lead_id": lead_id, "partner_id": partner_id, "channel": "lead"}


@handles(m.ClaimCustomer)
def claim_customer(ctx: Context, c: m.ClaimCustomer) -> Result:
    partner = ctx.partner(c.partner_id) if c.partner_id is not None else referring_partner(ctx, c)
    channel = c.channel or c.referral_channel
    assert channel is not None  # the model requires one
    customer = ctx.uow.get_or_new(Customer, c.customer_id)
    reason = _claim(ctx, customer, partner, channel, c.customer_id)
    if reason is not None:
        raise CommandRejected("claim_rejected", reason, "customer_id", recorded=True)
    return {"customer_id": c.customer_id, "partner_id": partner.partner_id, "channel": channel}


def _claim(ctx: Context, customer: Customer, partner: Partner, channel: m.Channel, customer_id: str = "") -> str | None:
    """Record the claim, or its refusal; returns why it was refused (None: attributed)."""
    program = ctx.program(partner.program_id)
    customer_id, partner_id = customer_id or customer.customer_id, partner.partner_id
    reason = claim_refusal(customer, partner, program, channel, ctx.meta.effective_at)
    if reason is not None:
        ctx.record(customer, ClaimRejected(customer_id=customer_id, partner_id=partner_id, channel=channel, reason=reason))
        return reason
    ctx.record(customer, CustomerClaimed(customer_id=customer_id, partner_id=partner_id, program_id=program.program_id,
                                         channel=channel))
    return None


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


@handles(m.CreateResoldCustomer)
def create_resold_customer(ctx: Context, c: m.CreateResoldCustomer) -> Result:
    """One account per customer: a new id, and an address no other customer has."""
    partner = ctx.approved_partner(c.partner_id)
    if ctx.uow.get(Customer, c.customer_id) is not None:
        raise reject("conflict", f"customer {c.customer_id!r} already has an account: each customer gets its own",
                     "customer_id")
    if c.email is not None and ctx.read_models.contacts(ctx.vault.fingerprint(c.email), None).customer_ids:
        raise reject("conflict", "a customer with this e-mail already has an account: no shared (pooled) accounts",
                     "email")
    program = ctx.program(partner.program_id)
    reason = claim_refusal(Customer(Customer.id_for(c.customer_id)), partner, program, "resell", ctx.meta.effective_at)
    if reason is not None:  # checked first: a refused command records nothing
        raise reject("claim_rejected", reason, "partner_id")
    customer = _sign_up(ctx, c.customer_id, c.email, c.company)
    _claim(ctx, customer, partner, "resell")
    if c.do_not_contact:
        ctx.record(customer, DoNotContactSet(customer_id=c.customer_id, value=True))
    return {"customer_id": c.customer_id, "partner_id": c.partner_id, "channel": "resell", "do_not_contact": c.do_not_contact}


@handles(m.SetDoNotContact)
def set_do_not_contact(ctx: Context, c: m.SetDoNotContact) -> Result:
    customer = ctx.customer(c.customer_id)
    if c.value and not customer.resold:
        raise reject("invalid", "only a resold customer can be marked do-not-contact", "customer_id")
    ctx.record(customer, DoNotContactSet(customer_id=c.customer_id, value=c.value))
    return {"customer_id": c.customer_id, "do_not_contact": c.value}
