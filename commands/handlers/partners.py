"""Partners: application, approval (with a promo slot when one is open), level and
rate, paperwork, meetings, "active until", termination."""

from __future__ import annotations

from commands import models as m
from commands.handlers.base import Context, Result, handles
from commands.handlers.referrals import issue_code, issue_link
from commands.handlers.statements import release_paperwork_holds
from events.partner import (
    ActiveUntilSet,
    ApplicationApproved,
    ApplicationRejected,
    ApplicationSubmitted,
    CommissionRateSet,
    LevelChanged,
    MeetingRecorded,
    NoticesSet,
    PartnerTerminated,
    PayoutDetailsSet,
    Profile,
    ProfileUpdated,
    SignedForm,
    SignInLinkIssued,
    TaxFormSubmitted,
    TrainingCompleted,
)
from events.program import PromoSlotTaken
from ledger.errors import reject
from ledger.partner import Partner
from ledger.privacy import mask, subject


@handles(m.SubmitApplication)
def submit_application(ctx: Context, c: m.SubmitApplication) -> Result:
    ctx.program(c.program_id)
    if ctx.uow.get(Partner, c.partner_id) is not None:
        raise reject("conflict", f"partner {c.partner_id!r} has already applied", "partner_id")
    profile = c.profile.model_dump()
    email = str(profile["contact_email"])
    owner = subject("partner", c.partner_id)
    sealed = Profile.model_validate({**profile, **{f: ctx.sealed(owner, profile[f]) for f in Profile.PERSONAL}})
    partner = ctx.uow.new(Partner, c.partner_id)
    event = ApplicationSubmitted(
        partner_id=c.partner_id, program_id=c.program_id, profile=sealed,
        email_hash=ctx.vault.fingerprint(email), domain_hash=ctx.domain_hash(email),
    )
    ctx.record(partner, event)
    return {"partner_id": c.partner_id, "state": "applied"}


def _awaiting_approval(ctx: Context, partner_id: str) -> Partner:
    partner = ctx.partner(partner_id)
    if partner.state != "applied":
        raise reject("invalid_state", f"partner {partner_id!r} is {partner.state}, not awaiting approval", "partner_id")
    return partner


@handles(m.ApproveApplication)
def approve_application(ctx: Context, c: m.ApproveApplication) -> Result:
    partner = _awaiting_approval(ctx, c.partner_id)
    program = ctx.program(partner.program_id)
    terms = program.terms_on(ctx.meta.effective_at)
    level = c.level or terms.default_level or (next(iter(terms.levels)) if len(terms.levels) == 1 else None)
    if level is None or level not in terms.levels:
        raise reject("invalid", f"level {level!r} is not one of {sorted(terms.levels)}", "level")
    # A slot is for partners on the promo rate: an explicit rate means no slot.
    promo_rate = None
    if c.rate is None and program.promo_slot_open(ctx.meta.effective_at):
        assert terms.promo is not None
        promo_rate = terms.promo.rate
        ctx.record(program, PromoSlotTaken(program_id=program.program_id, partner_id=c.partner_id, rate=promo_rate))
    ctx.record(partner, ApplicationApproved(partner_id=c.partner_id, level=level, rate=c.rate, promo_rate=promo_rate))
    link = issue_link(ctx, partner)
    issue_code(ctx, partner)
    return {"partner_id": c.partner_id, "state": "approved", "level": level, "promo": promo_rate is not None,
            "referral_link": link}


@handles(m.RejectApplication)
def reject_application(ctx: Context, c: m.RejectApplication) -> Result:
    partner = _awaiting_approval(ctx, c.partner_id)
    ctx.record(partner, ApplicationRejected(partner_id=c.partner_id, reason=c.reason))
    return {"partner_id": c.partner_id, "state": "rejected"}


@handles(m.ChangeLevel)
def change_level(ctx: Context, c: m.ChangeLevel) -> Result:
    partner = ctx.approved_partner(c.partner_id)
    terms = ctx.program(partner.program_id).terms_on(ctx.meta.effective_at)
    if c.level not in terms.levels:
        raise reject("invalid", f"level {c.level!r} is not one of {sorted(terms.levels)}", "level")
    ctx.record(partner, LevelChanged(partner_id=c.partner_id, level=c.level))
    return {"partner_id": c.partner_id, "level": c.level}


@handles(m.SetCommissionRate)
def set_commission_rate(ctx: Context, c: m.SetCommissionRate) -> Result:
    partner = ctx.approved_partner(c.partner_id)
    ctx.record(partner, CommissionRateSet(partner_id=c.partner_id, rate=c.rate))
    return {"partner_id": c.partner_id, "rate": None if c.rate is None else str(c.rate)}


def _not_forgotten(ctx: Context, partner_id: str) -> Partner:
    partner = ctx.partner(partner_id)
    if partner.forgotten:
        raise reject("forgotten", f"partner {partner_id!r} was forgotten: no personal data is stored for it", "partner_id")
    return partner


@handles(m.SubmitTaxForm)
def submit_tax_form(ctx: Context, c: m.SubmitTaxForm) -> Result:
    partner = _not_forgotten(ctx, c.partner_id) if c.legal_name or c.signed_form else ctx.partner(c.partner_id)
    owner = subject("partner", c.partner_id)
    signed = None
    if c.signed_form is not None:
        content = c.signed_form.content
        document_id = ctx.vault.store_document(owner, content, c.signed_form.media_type)
        signed = SignedForm(document_id=document_id, media_type=c.signed_form.media_type, size=len(content))
    ctx.record(partner, TaxFormSubmitted(
        partner_id=c.partner_id, form=c.form, legal_name=ctx.sealed(owner, c.legal_name), country=c.country,
        tax_id=ctx.sealed(owner, c.tax_id), tax_id_masked=mask(c.tax_id) if c.tax_id else None, signed_form=signed,
    ))
    released = release_paperwork_holds(ctx, partner)
    return {"partner_id": c.partner_id, "tax_form": c.form, "tax_id": mask(c.tax_id) if c.tax_id else None,
            "signed_form": signed is not None, "released": released}


@handles(m.SetPayoutDetails)
def set_payout_details(ctx: Context, c: m.SetPayoutDetails) -> Result:
    partner = _not_forgotten(ctx, c.partner_id)
    sealed = ctx.vault.seal(subject("partner", c.partner_id), c.account)
    ctx.record(partner, PayoutDetailsSet(
        partner_id=c.partner_id, method=c.method, account=sealed, account_masked=mask(c.account), bic=c.bic))
    return {"partner_id": c.partner_id, "method": c.method, "account": mask(c.account), "bic": c.bic}


@handles(m.UpdateProfile)
def update_profile(ctx: Context, c: m.UpdateProfile) -> Result:
    partner = _not_forgotten(ctx, c.partner_id)
    if partner.profile is None:
        raise reject("invalid_state", f"partner {c.partner_id!r} has no profile", "partner_id")
    owner = subject("partner", c.partner_id)
    email = c.contact_email
    sealed_email = ctx.vault.seal(owner, email) if email is not None else partner.profile.contact_email
    website = partner.profile.website if c.website is None else (ctx.vault.seal(owner, c.website) if c.website else None)
    event = ProfileUpdated(
        partner_id=c.partner_id, contact_email=sealed_email, website=website,
        email_hash=ctx.vault.fingerprint(email) if email is not None else partner.email_hash,
        domain_hash=ctx.domain_hash(email) if email is not None else partner.domain_hash,
    )
    ctx.record(partner, event)
    changed = [name for name in ("contact_email", "website") if getattr(c, name) is not None]
    return {"partner_id": c.partner_id, "changed": changed}


@handles(m.CompleteTraining)
def complete_training(ctx: Context, c: m.CompleteTraining) -> Result:
    partner = ctx.partner(c.partner_id)
    if partner.training_completed_at is not None:
        raise reject("invalid_state", "training was already completed", "partner_id")
    ctx.record(partner, TrainingCompleted(partner_id=c.partner_id))
    return {"partner_id": c.partner_id, "training_completed": True}


@handles(m.RecordMeeting)
def record_meeting(ctx: Context, c: m.RecordMeeting) -> Result:
    partner = ctx.partner(c.partner_id)
    ctx.record(partner, MeetingRecorded(partner_id=c.partner_id))
    held = partner.meetings_in_year(ctx.meta.effective_at.year)
    return {"partner_id": c.partner_id, "meetings": len(partner.meetings), "meetings_this_year": held}


@handles(m.SetActiveUntil)
def set_active_until(ctx: Context, c: m.SetActiveUntil) -> Result:
    partner = ctx.approved_partner(c.partner_id)
    ctx.record(partner, ActiveUntilSet(partner_id=c.partner_id, until=c.until))
    return {"partner_id": c.partner_id, "active_until": None if c.until is None else c.until.isoformat()}


@handles(m.TerminatePartner)
def terminate_partner(ctx: Context, c: m.TerminatePartner) -> Result:
    partner = ctx.partner(c.partner_id)
    if partner.state == "terminated":
        raise reject("invalid_state", f"partner {c.partner_id!r} is already terminated", "partner_id")
    ctx.record(partner, PartnerTerminated(partner_id=c.partner_id, reason=c.reason))
    return {"partner_id": c.partner_id, "state": "terminated"}


@handles(m.SetNotices)
def set_notices(ctx: Context, c: m.SetNotices) -> Result:
    partner = ctx.partner(c.partner_id)
    if partner.notices != c.notices:  # the same choice again records nothing
        ctx.record(partner, NoticesSet(partner_id=c.partner_id, notices=c.notices))
    return {"partner_id": c.partner_id, "notices": c.notices}


@handles(m.IssueSignInLink)
def issue_sign_in_link(ctx: Context, c: m.IssueSignInLink) -> Result:
    partner = ctx.approved_partner(c.partner_id)
    ctx.record(partner, SignInLinkIssued(partner_id=c.partner_id, invite_id=c.invite_id, expires_at=c.expires_at))
    return {"partner_id": c.partner_id, "invite_id": c.invite_id}
