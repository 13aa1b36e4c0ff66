"""The commission policy: pure functions of recorded state, no I/O.

Every amount the ledger records is decided here, rounded once, half-up, to the
currency's minor unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from events.program import Terms
from events.revenue import Earning, RevenueLine
from ledger.calendar import add_months
from ledger.customer import Customer
from ledger.money import ZERO, round_money, zero
from ledger.partner import Partner
from ledger.program import Program

# Shared mailbox providers: sharing one of these domains says nothing about who owns
# the account, so only an identical address counts as a self-referral there.
FREE_MAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
     "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net",
     "web.de", "mail.com", "yandex.ru", "qq.com", "163.com"}
)


def effective_rate(partner: Partner, program: Program, on: datetime) -> Decimal | None:
    """Admin override, else the promo rate of a slot holder, else the level's rate."""
    return _rate(partner, program.terms_on(on), partner.level_on(on), on)


def _rate(partner: Partner, terms: Terms, level: str | None, on: datetime) -> Decimal | None:
    """``effective_rate`` with the terms and level in force already known: the one
    place of the order override, promo, level."""
    override = partner.rate_override_on(on)
    if override is not None:
        return override
    if partner.promo_rate is not None:
        return partner.promo_rate
    return None if level is None else _level_rate(terms, level)


def _level_rate(terms: Terms, level: str) -> Decimal | None:
    return terms.levels[level].rate if level in terms.levels else None


def level_terms(partner: Partner, program: Program, on: datetime) -> tuple[Terms, str | None]:
    return program.terms_on(on), partner.level_on(on)


def in_commission_period(
    first_paid_at: datetime | None, period_months: int | None, on: datetime
) -> bool:
    """A payment counts when dated before first payment + period (lifetime if None)."""
    if period_months is None or first_paid_at is None:
        return True
    return on < add_months(first_paid_at, period_months)


def commissionable_base(terms: Terms, lines: Sequence[RevenueLine]) -> Decimal:
    """Net revenue that earns commission: eligible kinds only, tax never included."""
    return sum((line.amount for line in lines if terms.is_commissionable(line.kind)), ZERO)


def nothing(reason: str, currency: str, partner_id: str | None = None) -> Earning:
    return Earning(kind="none", partner_id=partner_id, reason=reason, base=zero(currency), amount=zero(currency))


def payment_earning(
    *,
    partner: Partner,
    program: Program,
    customer: Customer,
    paid_at: datetime,
    currency: str,
    lines: Sequence[RevenueLine],
    self_referral: bool,
) -> Earning:
    """What one payment earns the customer's partner: commission, discount or nothing."""
    if customer.attributed_at is not None and paid_at < customer.attributed_at:
        return nothing("paid before the customer was attributed", currency, partner.partner_id)
    if partner.terminated_at is not None and paid_at >= partner.terminated_at:
        return nothing("partner terminated before this payment", currency, partner.partner_id)
    terms, level = level_terms(partner, program, paid_at)
    if level is None or level not in terms.levels:
        return nothing("partner had no level on the payment date", currency, partner.partner_id)
    base = commissionable_base(terms, lines)
    if customer.resold:
        return _resale_discount(partner, terms.levels[level].discount, base, lines, currency)
    first_paid = min(filter(None, [customer.first_paid_at, paid_at]))
    if not in_commission_period(first_paid, terms.levels[level].period_months, paid_at):
        return nothing("outside the commission period", currency, partner.partner_id)
    rate = _rate(partner, terms, level, paid_at) or ZERO
    held = "self_referral" if self_referral else None
    return Earning(
        kind="commission",
        partner_id=partner.partner_id,
        rate=rate,
        base=base,
        amount=round_money(rate * base, currency),
        payable_at=None if held else paid_at + timedelta(days=terms.payout.hold_days),
        hold_reason=held,
    )


def _resale_discount(
    partner: Partner, discount: Decimal, base: Decimal, lines: Sequence[RevenueLine], currency: str
) -> Earning:
    amount = round_money(discount * base, currency)
    list_price = sum((line.amount for line in lines), ZERO)
    return Earning(
        kind="discount",
        partner_id=partner.partner_id,
        rate=discount,
        base=base,
        amount=amount,
        wholesale=list_price - amount,
    )


def is_self_referral(partner: Partner, customer: Customer) -> bool:
    """Same address, or same company domain (shared mailbox providers excluded)."""
    if customer.email_hash is None:
        return False
    if customer.email_hash == partner.email_hash:
        return True
    return customer.domain_hash is not None and customer.domain_hash == partner.domain_hash


def clawback(
    *, earned: Decimal, earning_left: Decimal, paid_amount: Decimal, refundable: Decimal,
    amount: Decimal, currency: str,
) -> Decimal:
    """The payment's own earning, in the share refunded, never more than what is left.

    The reversal that empties the payment takes exactly what is left, so rounding can
    never leave a cent of commission on a fully refunded payment.
    """
    if amount == refundable:
        return earning_left
    share = round_money(earned * amount / paid_amount, currency) if paid_amount else ZERO
    return min(share, earning_left)


def cost_deduction(
    *, partner: Partner, program: Program, customer: Customer, cost_at: datetime,
    amount: Decimal, currency: str,
) -> tuple[Decimal, Decimal]:
    """(rate, deduction): a cost reduces net revenue, so it deducts rate x cost at the
    rate in force on its date, exactly when a payment on that date would earn: referral
    customers, inside their commission period, partner not terminated."""
    none = (ZERO, zero(currency))
    if customer.resold or (partner.terminated_at is not None and cost_at >= partner.terminated_at):
        return none
    if customer.attributed_at is not None and cost_at < customer.attributed_at:
        return none
    terms, level = level_terms(partner, program, cost_at)
    if level is None or level not in terms.levels:
        return none
    if not in_commission_period(customer.first_paid_at, terms.levels[level].period_months, cost_at):
        return none
    rate = _rate(partner, terms, level, cost_at) or ZERO
    return rate, round_money(rate * amount, currency)
