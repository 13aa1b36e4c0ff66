"""Month close: one statement per partner and currency, from the books' lines that no
earlier statement holds (``ledger.account.Books``, folded from the log, not from a read
model)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from commands import models as m
from commands.handlers.base import Context, Result, handles
from commands.unit_of_work import UnitOfWork
from events.program import PayoutTerms
from events.statement import PeriodClosed, StatementIssued, StatementReleased
from ledger.account import BELOW_MINIMUM, NO_TAX_FORM, NOT_POSITIVE, NOT_TRAINED, Account, StatementDraft
from ledger.calendar import month_end
from ledger.errors import reject
from ledger.money import ZERO, round_money, zero
from ledger.partner import Partner


@handles(m.ClosePeriod)
def close_period(ctx: Context, c: m.ClosePeriod) -> Result:
    program = ctx.program(c.program_id)
    expected = program.next_period_to_close
    if expected is not None and c.period != expected:
        closed = "is already closed" if c.period < expected else "cannot be closed yet"
        raise reject("out_of_order", f"{c.period} {closed}: months close in order and the first open month is {expected}", "period")
    end = month_end(c.period)
    if ctx.meta.effective_at <= end:
        raise reject("too_early", f"{c.period} has not ended yet (it ends {end.date().isoformat()})", "period")
    terms = program.terms_on(end)
    issued = []
    drafts = program_drafts(ctx.uow, c.program_id, c.period)
    ctx.uow.prefetch((Account, Account.key(d.partner_id, d.currency)) for d in drafts)
    for draft in drafts:
        account = ctx.uow.get_or_new(Account, Account.key(draft.partner_id, draft.currency))
        opening = round_money(account.opening_for_next, draft.currency)
        if not draft.lines and not opening:
            continue
        closing = opening + sum((line.amount for line in draft.lines), ZERO)
        reasons = not_payable(ctx.partner(draft.partner_id), terms.payout, closing, end)
        statement_id = f"{c.program_id}/{draft.partner_id}/{draft.currency}/{c.period}"
        statement = StatementIssued(
            statement_id=statement_id, program_id=c.program_id, partner_id=draft.partner_id,
            currency=draft.currency, period=c.period, opening=opening, lines=draft.lines,
            closing=closing, due=zero(draft.currency) if reasons else closing, carried_forward_because=reasons,
        )
        ctx.record(account, statement)
        issued.append(statement_id)
    ctx.record(program, PeriodClosed(program_id=c.program_id, period=c.period, statement_ids=issued))
    return {"program_id": c.program_id, "period": c.period, "statements": len(issued)}


def program_drafts(uow: UnitOfWork, program_id: str, period: str) -> list[StatementDraft]:
    """What closing ``period`` states for the program, from the books: the drafts of
    the partners now in the program (``Books.drafts``)."""
    books = uow.books()
    partner_ids = books.partners()
    uow.prefetch((Partner, partner_id) for partner_id in partner_ids)
    members = [partner_id for partner_id in partner_ids
               if (partner := uow.peek(Partner, partner_id)) is not None and partner.program_id == program_id]
    return books.drafts(program_id, period, members)


def not_payable(partner: Partner, payout: PayoutTerms, closing: Decimal, end: datetime) -> list[str]:
    """Why a statement's closing balance is not due (empty when it is)."""
    reasons = []
    if closing <= 0:
        reasons.append(NOT_POSITIVE)
    elif closing < payout.minimum:
        reasons.append(f"{BELOW_MINIMUM} of {payout.minimum}")
    if payout.requires_tax_form and (partner.tax_form_at is None or partner.tax_form_at > end):
        reasons.append(NO_TAX_FORM)
    if payout.requires_training and not partner.trained_by(end):
        reasons.append(NOT_TRAINED)
    return reasons


# Reasons a partner's own paperwork can clear (the others wait for the next close).
PAPERWORK = (NO_TAX_FORM,)


def release_paperwork_holds(ctx: Context, partner: Partner) -> list[str]:
    """Statements whose balance was carried forward only for want of paperwork now on
    file become due at once (the latest statement of each account; nothing is paid
    since, as nothing was due): ``StatementReleased``. Their ids."""
    terms = ctx.program(partner.program_id).terms_on(ctx.meta.effective_at)
    released = []
    currencies = (terms.currency, *terms.currencies)
    ctx.uow.prefetch((Account, Account.key(partner.partner_id, currency)) for currency in currencies)
    for currency in currencies:
        account = ctx.uow.get(Account, Account.key(partner.partner_id, currency))
        latest = account.latest if account is not None else None
        if account is None or latest is None or not latest.not_due_because:
            continue
        if not set(latest.not_due_because) <= set(PAPERWORK) or partner.tax_form is None:
            continue
        due = account.opening_for_next
        ctx.record(account, StatementReleased(
            statement_id=latest.statement_id, partner_id=partner.partner_id, currency=currency, period=latest.period,
            due=due, because=f"{partner.tax_form} handed in: {NO_TAX_FORM} no longer holds it back",
        ))
        released.append(latest.statement_id)
    return released
