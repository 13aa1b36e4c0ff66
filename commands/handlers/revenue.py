"""Revenue: payments (and what they earn), refunds and chargebacks (and what they claw
back), reviews of held commission, costs, manual adjustments."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.customer import CustomerFirstPaid
from events.revenue import CommissionAdjusted, CommissionReviewed, CostRecorded, PaymentRecorded, PaymentReversed, RevenueLine
from ledger import policy
from ledger.entries import Adjustment, Cost
from ledger.errors import reject
from ledger.money import ZERO, round_money, zero
from ledger.payment import Payment


@handles(m.RecordPayment)
def record_payment(ctx: Context, c: m.RecordPayment) -> Result:
    customer = ctx.customer(c.customer_id)
    if ctx.uow.get(Payment, c.payment_id) is not None:
        raise reject("conflict", f"payment {c.payment_id!r} is already recorded", "payment_id")
    paid_at = ctx.meta.effective_at
    lines = [RevenueLine(kind=line.kind, amount=line.amount) for line in c.lines]
    if customer.partner_id is None:
        earning = policy.nothing("customer is not attributed to a partner", c.currency)
    else:
        partner = ctx.partner(customer.partner_id)
        program = ctx.accepting_program(partner, c.currency, paid_at)
        earning = policy.payment_earning(
            partner=partner, program=program, customer=customer,
            paid_at=paid_at, currency=c.currency, lines=lines,
            self_referral=policy.is_self_referral(partner, customer),
        )
    paid = sum((line.amount for line in lines), ZERO) + c.tax
    event = PaymentRecorded(
        payment_id=c.payment_id, customer_id=c.customer_id, currency=c.currency, lines=lines,
        tax=c.tax, paid_amount=paid, earning=earning,
    )
    ctx.record(ctx.uow.new(Payment, c.payment_id), event)
    if customer.first_paid_at is None or paid_at < customer.first_paid_at:
        ctx.record(customer, CustomerFirstPaid(customer_id=c.customer_id, paid_at=paid_at))
    return {"payment_id": c.payment_id, "earning": earning.model_dump(mode="json", exclude_none=True)}


@handles(m.RecordRefund)
def record_refund(ctx: Context, c: m.RecordRefund) -> Result:
    return _reverse_payment(ctx, c.refund_id, c.payment_id, c.amount, "refund")


@handles(m.RecordChargeback)
def record_chargeback(ctx: Context, c: m.RecordChargeback) -> Result:
    return _reverse_payment(ctx, c.chargeback_id, c.payment_id, c.amount, "chargeback")


def _reverse_payment(
    ctx: Context, reversal_id: str, payment_id: str, amount: Decimal, reason: Literal["refund", "chargeback"]
) -> Result:
    payment = ctx.payment(payment_id)
    if payment.paid_at is not None and ctx.meta.effective_at < payment.paid_at:
        raise reject("invalid", f"a {reason} cannot precede its payment ({payment.paid_at.isoformat()})", "at")
    currency = payment.details.currency
    if amount != round_money(amount, currency):
        raise reject("invalid", f"amount {amount} has more decimal places than {currency} allows", "amount")
    if amount > payment.refundable:
        raise reject("invalid", f"{reason} of {amount} exceeds what is left of the payment ({payment.refundable})", "amount")
    clawback = zero(currency)
    if payment.earning.kind != "none":
        clawback = policy.clawback(
            earned=payment.earning.amount, earning_left=payment.earning_left,
            paid_amount=payment.details.paid_amount, refundable=payment.refundable,
            amount=amount, currency=currency,
        )
    event = PaymentReversed(
        payment_id=payment_id, partner_id=payment.earning.partner_id, currency=currency,
        earning_kind=payment.earning.kind, reversal_id=reversal_id, reason=reason,
        amount=amount, clawback=clawback, on_hold=payment.awaiting_review,
    )
    ctx.record(payment, event)
    return {"payment_id": payment_id, f"{reason}_id": reversal_id, "clawback": str(clawback)}


@handles(m.ReviewCommission)
def review_commission(ctx: Context, c: m.ReviewCommission) -> Result:
    payment = ctx.payment(c.payment_id)
    if not payment.awaiting_review:
        raise reject("invalid_state", f"payment {c.payment_id!r} is not on hold for review", "payment_id")
    voided = payment.earning_left if c.decision == "void" else zero(payment.details.currency)
    event = CommissionReviewed(
        payment_id=c.payment_id, partner_id=payment.earning.partner_id, currency=payment.details.currency,
        decision=c.decision, reason=c.reason, voided=voided,
    )
    ctx.record(payment, event)
    return {"payment_id": c.payment_id, "decision": c.decision, "voided": str(voided)}


@handles(m.RecordCost)
def record_cost(ctx: Context, c: m.RecordCost) -> Result:
    customer = ctx.customer(c.customer_id)
    rate, deduction = ZERO, zero(c.currency)
    if customer.partner_id is not None:
        partner = ctx.partner(customer.partner_id)
        rate, deduction = policy.cost_deduction(
            partner=partner, program=ctx.accepting_program(partner, c.currency, ctx.meta.effective_at), customer=customer,
            cost_at=ctx.meta.effective_at, amount=c.amount, currency=c.currency,
        )
    event = CostRecorded(
        cost_id=c.cost_id, customer_id=c.customer_id, partner_id=customer.partner_id,
        amount=c.amount, currency=c.currency, kind=c.kind, rate=rate, deduction=deduction,
    )
    ctx.record(ctx.uow.new(Cost, c.cost_id), event)
    return {"cost_id": c.cost_id, "deduction": str(deduction)}


@handles(m.AdjustCommission)
def adjust_commission(ctx: Context, c: m.AdjustCommission) -> Result:
    ctx.accepting_program(ctx.partner(c.partner_id), c.currency, ctx.meta.effective_at)
    amount = round_money(c.amount, c.currency)
    event = CommissionAdjusted(adjustment_id=c.adjustment_id, partner_id=c.partner_id, amount=amount, currency=c.currency, reason=c.reason)
    ctx.record(ctx.uow.new(Adjustment, c.adjustment_id), event)
    return {"adjustment_id": c.adjustment_id, "amount": str(amount)}
