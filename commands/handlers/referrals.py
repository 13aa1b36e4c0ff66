"""Referral links and partner codes: made at approval, the code rotatable by its
partner, and resolved to their partner when a customer signs up or is claimed.

Both are random (``secrets``), not derived from the partner id: a link must not reveal
who the partner is, and a code must not be guessable. The code is sealed with the
partner's key and found by a keyed hash, so neither the log in plain nor Kafka (the
fields are private) nor a command result ever carries it."""

from __future__ import annotations

import secrets

from commands import models as m
from commands.handlers.base import Context, Result, handles
from events.partner import PartnerCodeIssued, ReferralLinkIssued
from events.referral import ReferralAssigned
from ledger.errors import reject
from ledger.partner import Partner
from ledger.privacy import subject
from ledger.referral import CODE_ALPHABET, CODE_LENGTH, LINK_ALPHABET, LINK_LENGTH, Referral, normal_code, referral_key

_ATTEMPTS = 8  # a clash among 2^49 links or 2^60 codes is all but impossible; never loop forever


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def code_hash(ctx: Context, code: str) -> str:
    return ctx.vault.keyed_hash(f"partner-code:{normal_code(code)}")


def issue_link(ctx: Context, partner: Partner) -> str:
    for _ in range(_ATTEMPTS):
        link = _random(LINK_ALPHABET, LINK_LENGTH)
        key = referral_key(link=link)
        if ctx.uow.get(Referral, key) is None:
            ctx.record(ctx.uow.new(Referral, key), ReferralAssigned(partner_id=partner.partner_id, link=link))
            ctx.record(partner, ReferralLinkIssued(partner_id=partner.partner_id, link=link))
            return link
    raise RuntimeError("no free referral link after several draws")


def issue_code(ctx: Context, partner: Partner) -> None:
    for _ in range(_ATTEMPTS):
        code = _random(CODE_ALPHABET, CODE_LENGTH)
        hashed = code_hash(ctx, code)
        key = referral_key(code_hash=hashed)
        if ctx.uow.get(Referral, key) is None:
            ctx.record(ctx.uow.new(Referral, key), ReferralAssigned(partner_id=partner.partner_id, partner_code_hash=hashed))
            sealed = ctx.vault.seal(subject("partner", partner.partner_id), code)
            ctx.record(partner, PartnerCodeIssued(partner_id=partner.partner_id, partner_code=sealed, partner_code_hash=hashed))
            return
    raise RuntimeError("no free partner code after several draws")


@handles(m.RotatePartnerCode)
def rotate_partner_code(ctx: Context, c: m.RotatePartnerCode) -> Result:
    partner = ctx.approved_partner(c.partner_id)
    if partner.forgotten:
        raise reject("forgotten", f"partner {c.partner_id!r} was forgotten: no personal data is stored for it", "partner_id")
    issue_code(ctx, partner)
    # A partner approved before links existed gets its link with its first code.
    link = partner.referral_link or issue_link(ctx, partner)
    # The new code is not in the result: results are kept as idempotency receipts.
    return {"partner_id": c.partner_id, "referral_link": link, "partner_code": "rotated"}


def referring_partner(ctx: Context, c: m._Referred) -> Partner:
    """The partner a referral code or link names; refused when unknown or rotated. The
    refusal never repeats the code: refusals are logged and kept."""
    if c.referral_link is not None:
        referral = ctx.uow.get(Referral, referral_key(link=c.referral_link.lower()))
        if referral is None:
            raise reject("unknown_referral", f"no partner has the referral link {c.referral_link!r}", "referral_link")
        return ctx.partner(referral.partner_id)
    assert c.referral_code is not None
    hashed = code_hash(ctx, c.referral_code)
    referral = ctx.uow.get(Referral, referral_key(code_hash=hashed))
    if referral is None:
        raise reject("unknown_referral", "no partner has this partner code", "referral_code")
    partner = ctx.partner(referral.partner_id)
    if partner.partner_code_hash != hashed:
        raise reject("code_rotated", "this partner code was replaced by a newer one: ask the partner for its current code",
                     "referral_code")
    return partner
