"""Forgetting: the subject's key is destroyed in the transaction that records the
forget event (crypto-shredding); the log itself is never rewritten."""

from __future__ import annotations

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.customer import CustomerForgotten
from events.partner import PartnerForgotten
from ledger.privacy import subject


@handles(m.ForgetPartner)
def forget_partner(ctx: Context, c: m.ForgetPartner) -> Result:
    partner = ctx.partner(c.partner_id)
    ctx.uow.forget(subject("partner", c.partner_id))
    ctx.record(partner, PartnerForgotten(partner_id=c.partner_id, reason=c.reason))
    return {"partner_id": c.partner_id, "forgotten": True}


@handles(m.ForgetCustomer)
def forget_customer(ctx: Context, c: m.ForgetCustomer) -> Result:
    customer = ctx.customer(c.customer_id)
    ctx.uow.forget(subject("customer", c.customer_id))
    ctx.record(customer, CustomerForgotten(customer_id=c.customer_id, reason=c.reason))
    return {"customer_id": c.customer_id, "forgotten": True}
