"""Payouts: against issued statements, never more than is due."""

from __future__ import annotations

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.statement import PayoutRecorded
from ledger.account import Account
from ledger.errors import reject


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
        raise reject("invalid", f"payout of {c.amount} exceeds what is due ({account.outstanding} {c.currency})", "amount")
    payout = PayoutRecorded(
        payout_id=c.payout_id, partner_id=c.partner_id, amount=c.amount, currency=c.currency, statement_ids=c.statement_ids
    )
    ctx.record(account, payout)
    return {"payout_id": c.payout_id, "amount": str(c.amount), "still_due": str(account.outstanding)}
