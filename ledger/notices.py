"""Which e-mails the ledger's facts cause: a pure function of one event (the outbox's
``mail`` consumer, see ``ledger.outbox``).

Invites and rejections answer an application and are always sent; the notices (a
statement issued, a payout recorded, commission held for review, a payout blocked by
missing paperwork) are sent unless the partner turned them off, which is looked up when
the mail goes out, like the address: both may change after the event.
"""

from __future__ import annotations

from events.partner import ApplicationApproved, ApplicationRejected
from events.revenue import PaymentRecorded
from events.statement import PayoutRecorded, StatementIssued
from ledger.account import BELOW_MINIMUM, NO_TAX_FORM, NOT_POSITIVE
from ledger.aggregate import Envelope
from ledger.outbox import Message

CONSUMER = "mail"  # the outbox consumer these messages belong to
INVITE = "invite"
REJECTION = "rejection"
SIGNIN_LINK = "signin_link"  # asked for on the sign-in page: put in the outbox directly
STATEMENT_ISSUED = "statement_issued"
PAYOUT_RECORDED = "payout_recorded"
COMMISSION_HELD = "commission_held"
PAYOUT_BLOCKED = "payout_blocked"
# The kinds a partner may turn off.
NOTICES = frozenset({STATEMENT_ISSUED, PAYOUT_RECORDED, COMMISSION_HELD, PAYOUT_BLOCKED})
# The kinds that carry a sign-in link (a secret, minted when the mail is made).
WITH_LINK = frozenset({INVITE, SIGNIN_LINK})
# Paperwork whose absence keeps a balance that would be due from being paid.
PAPERWORK = (NO_TAX_FORM,)

TOPICS = frozenset(e.TOPIC for e in (ApplicationApproved, ApplicationRejected, StatementIssued, PayoutRecorded, PaymentRecorded))


def mails_for(envelope: Envelope) -> list[Message]:
    event = envelope.payload
    if isinstance(event, ApplicationApproved):
        return [Message(INVITE, event.partner_id, {"level": event.level})]
    if isinstance(event, ApplicationRejected):
        return [Message(REJECTION, event.partner_id, {"reason": event.reason})]
    if isinstance(event, StatementIssued):
        return _statement_mails(event)
    if isinstance(event, PayoutRecorded):
        return [Message(PAYOUT_RECORDED, event.partner_id, {
            "payout_id": event.payout_id, "amount": str(event.amount), "currency": event.currency,
            "statement_ids": list(event.statement_ids),
        })]
    if isinstance(event, PaymentRecorded):
        return _held_mails(event)
    return []


def _held_mails(event: PaymentRecorded) -> list[Message]:
    earning = event.earning
    if not (earning.partner_id and earning.hold_reason):
        return []
    return [Message(COMMISSION_HELD, earning.partner_id, {
        "payment_id": event.payment_id, "amount": str(earning.amount), "currency": event.currency,
        "hold_reason": earning.hold_reason,
    })]


def _statement_mails(event: StatementIssued) -> list[Message]:
    figures = {
        "statement_id": event.statement_id, "period": event.period, "currency": event.currency,
        "closing": str(event.closing), "due": str(event.due), "carried_forward_because": list(event.carried_forward_because),
    }
    mails = [Message(STATEMENT_ISSUED, event.partner_id, figures)]
    reasons = event.carried_forward_because
    too_little = any(r.startswith((NOT_POSITIVE, BELOW_MINIMUM)) for r in reasons)
    missing = [r for r in reasons if r.startswith(PAPERWORK)]
    if missing and not too_little:
        mails.append(Message(PAYOUT_BLOCKED, event.partner_id, {**figures, "missing": missing}))
    return mails
