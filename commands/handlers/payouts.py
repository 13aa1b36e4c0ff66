"""Payouts: against issued statements, never more than is due; and partners' requests
to be paid."""

from __future__ import annotations

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.partner import PayoutAccountRevealed
from events.statement import PayoutRecorded, PayoutRequested
from ledger.account import Account, not_due_problem
from ledger.errors import CommandRejected, Problem, reject


@handles(m.RecordPayout)
def record_payout(ctx: Context, c: m.RecordPayout) -> Result:
    ctx.partner(c.partner_id)
    account = ctx.uow.get(Account, Account.key(c.partner_id, c.currency))
    known = account.statements if account else {}
    for statement_id in c.statement_ids:
        if statement_id not in known:
            raise reject("not_found", f"statement {statement_id!r} is not a {c.currency} statement of {c.partner_id}", "statement_ids")
    assert account is not None
    if c.amount > account.outstanding:
        exceeds = Problem("invalid", f"payout of {c.amount} exceeds what is due ({account.outstanding} {c.currency})", "amount")
        raise CommandRejected.of([*_held_back(account), exceeds])
    payout = PayoutRecorded(
        payout_id=c.payout_id, partner_id=c.partner_id, amount=c.amount, currency=c.currency, statement_ids=c.statement_ids
    )
    ctx.record(account, payout)
    return {"payout_id": c.payout_id, "amount": str(c.amount), "still_due": str(account.outstanding)}


@handles(m.RequestPayout)
def request_payout(ctx: Context, c: m.RequestPayout) -> Result:
    ctx.approved_partner(c.partner_id)
    account = ctx.uow.get(Account, Account.key(c.partner_id, c.currency))
    if account is None or account.latest is None or account.outstanding <= 0:
        nothing = Problem("nothing_due", f"nothing is due to {c.partner_id} in {c.currency}", "currency")
        raise CommandRejected.of([*(_held_back(account) if account else []), nothing])
    if account.requested > 0:
        raise reject("conflict", f"a payout request of {account.requested} {c.currency} is already waiting for finance", "currency")
    amount = c.amount or account.outstanding
    if amount > account.outstanding:
        raise reject("invalid", f"{amount} is more than is due ({account.outstanding} {c.currency})", "amount")
    request = PayoutRequested(partner_id=c.partner_id, currency=c.currency, amount=amount, statement_id=account.latest.statement_id)
    ctx.record(account, request)
    return {"partner_id": c.partner_id, "currency": c.currency, "amount": str(amount), "due": str(account.outstanding)}


def _held_back(account: Account) -> list[Problem]:
    """Why nothing is due, when the latest month close held the balance back (tax form,
    training, minimum payout): the partner and finance see what to fix."""
    latest = account.latest
    if latest is None or account.outstanding > 0:
        return []
    return [not_due_problem(latest, reason) for reason in latest.not_due_because]


@handles(m.RevealPayoutAccount)
def reveal_payout_account(ctx: Context, c: m.RevealPayoutAccount) -> Result:
    partner = ctx.partner(c.partner_id)
    if partner.payout_account is None:
        raise reject("not_found", f"partner {c.partner_id!r} has no payout details on file", "partner_id")
    ctx.record(partner, PayoutAccountRevealed(partner_id=c.partner_id, shown_in=c.shown_in))
    return {"partner_id": c.partner_id, "shown_in": c.shown_in}
