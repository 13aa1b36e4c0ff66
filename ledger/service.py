"""The ledger's operations: each checks every rule first, then records its events.

Nothing is recorded until all checks pass, so a refused operation changes nothing
(the one exception, by design, is a failed attribution claim: the refusal itself is
recorded for the audit trail).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from events.base import EventMeta
from events.customer import (
    ClaimRejected,
    CustomerClaimed,
    CustomerFirstPaid,
    CustomerForgotten,
    CustomerSignedUp,
    DoNotContactSet,
)
from events.partner import (
    ActiveUntilSet,
    ApplicationApproved,
    ApplicationRejected,
    ApplicationSubmitted,
    CommissionRateSet,
    LevelChanged,
    MeetingRecorded,
    PartnerForgotten,
    PartnerTerminated,
    PayoutDetailsSet,
    Profile,
    TaxFormSubmitted,
    TrainingCompleted,
)
from events.program import PayoutTerms, ProgramDefined, ProgramTermsChanged, PromoClosed, PromoSlotTaken, Terms
from events.revenue import (
    CommissionAdjusted,
    CommissionReviewed,
    CostRecorded,
    PaymentRecorded,
    PaymentReversed,
    RevenueLine,
)
from events.statement import PayoutRecorded, PeriodClosed, StatementIssued
from ledger import policy
from ledger.account import Account, StatementDraft
from ledger.aggregate import Aggregate
from ledger.calendar import month_end
from ledger.customer import Customer
from ledger.entries import Adjustment, Cost
from ledger.errors import CommandRejected, reject
from ledger.money import ZERO, round_money, zero
from ledger.partner import Partner
from ledger.payment import Payment
from ledger.program import Program
from ledger.unit_of_work import UnitOfWork
from ledger.vault import Vault, mask, subject

Result = dict[str, Any]
A = TypeVar("A", bound=Aggregate)


class Ledger:
    def __init__(self, uow: UnitOfWork, vault: Vault) -> None:
        self.uow = uow
        self.vault = vault

    # -- loading with clear refusals -------------------------------------------------

    def _existing(self, cls: type[A], key: str) -> A:
        """The aggregate, or a ``not_found`` refusal naming the ``<kind>_id`` field."""
        found = self.uow.get(cls, key)
        if found is None:
            raise reject("not_found", f"{cls.KIND} {key!r} does not exist", f"{cls.KIND}_id")
        return found

    def _program(self, program_id: str) -> Program:
        return self._existing(Program, program_id)

    def _partner(self, partner_id: str) -> Partner:
        return self._existing(Partner, partner_id)

    def _approved_partner(self, partner_id: str) -> Partner:
        partner = self._partner(partner_id)
        if not partner.is_approved:
            raise reject("invalid_state", f"partner {partner_id!r} is {partner.state}, not approved", "partner_id")
        return partner

    def _customer(self, customer_id: str) -> Customer:
        return self._existing(Customer, customer_id)

    def _payment(self, payment_id: str) -> Payment:
        return self._existing(Payment, payment_id)

    # -- programs --------------------------------------------------------------------

    def define_program(self, meta: EventMeta, program_id: str, terms: Terms, preset: str | None) -> Result:
        if self.uow.get(Program, program_id) is not None:
            raise reject("conflict", f"program {program_id!r} is already defined", "program_id")
        program = self.uow.new(Program, program_id)
        self.uow.record(program, ProgramDefined(program_id=program_id, terms=terms, preset=preset), meta)
        return {"program_id": program_id, "preset": preset}

    def change_program_terms(self, meta: EventMeta, program_id: str, terms: Terms) -> Result:
        program = self._program(program_id)
        self.uow.record(program, ProgramTermsChanged(program_id=program_id, terms=terms), meta)
        return {"program_id": program_id}

    def close_promo(self, meta: EventMeta, program_id: str) -> Result:
        program = self._program(program_id)
        if program.promo_closed:
            raise reject("invalid_state", "the promo is already closed", "program_id")
        self.uow.record(program, PromoClosed(program_id=program_id), meta)
        return {"program_id": program_id, "promo_holders": list(program.promo_holders)}

    # -- partners --------------------------------------------------------------------

    def submit_application(self, meta: EventMeta, partner_id: str, program_id: str, profile: dict[str, Any]) -> Result:
        self._program(program_id)
        if self.uow.get(Partner, partner_id) is not None:
            raise reject("conflict", f"partner {partner_id!r} has already applied", "partner_id")
        email = str(profile["contact_email"])
        sealed = Profile.model_validate({**profile, "contact_email": self.vault.seal(subject("partner", partner_id), email)})
        partner = self.uow.new(Partner, partner_id)
        event = ApplicationSubmitted(
            partner_id=partner_id, program_id=program_id, profile=sealed,
            email_hash=self.vault.fingerprint(email), domain_hash=self._domain_hash(email),
        )
        self.uow.record(partner, event, meta)
        return {"partner_id": partner_id, "state": "applied"}

    def approve_application(self, meta: EventMeta, partner_id: str, level: str | None, rate: Decimal | None) -> Result:
        partner = self._partner(partner_id)
        if partner.state != "applied":
            raise reject("invalid_state", f"partner {partner_id!r} is {partner.state}, not awaiting approval", "partner_id")
        program = self._program(partner.program_id)
        terms = program.terms_on(meta.effective_at)
        level = level or terms.default_level or (next(iter(terms.levels)) if len(terms.levels) == 1 else None)
        if level is None or level not in terms.levels:
            raise reject("invalid", f"level {level!r} is not one of {sorted(terms.levels)}", "level")
        # A slot is for partners on the promo rate: an explicit rate means no slot.
        promo_rate = None
        if rate is None and program.promo_slot_open(meta.effective_at):
            assert terms.promo is not None
            promo_rate = terms.promo.rate
            self.uow.record(program, PromoSlotTaken(program_id=program.program_id, partner_id=partner_id, rate=promo_rate), meta)
        self.uow.record(partner, ApplicationApproved(partner_id=partner_id, level=level, rate=rate, promo_rate=promo_rate), meta)
        return {"partner_id": partner_id, "state": "approved", "level": level, "promo": promo_rate is not None}

    def reject_application(self, meta: EventMeta, partner_id: str, reason: str) -> Result:
        partner = self._partner(partner_id)
        if partner.state != "applied":
            raise reject("invalid_state", f"partner {partner_id!r} is {partner.state}, not awaiting approval", "partner_id")
        self.uow.record(partner, ApplicationRejected(partner_id=partner_id, reason=reason), meta)
        return {"partner_id": partner_id, "state": "rejected"}

    def change_level(self, meta: EventMeta, partner_id: str, level: str) -> Result:
        partner = self._approved_partner(partner_id)
        terms = self._program(partner.program_id).terms_on(meta.effective_at)
        if level not in terms.levels:
            raise reject("invalid", f"level {level!r} is not one of {sorted(terms.levels)}", "level")
        self.uow.record(partner, LevelChanged(partner_id=partner_id, level=level), meta)
        return {"partner_id": partner_id, "level": level}

    def set_commission_rate(self, meta: EventMeta, partner_id: str, rate: Decimal | None) -> Result:
        partner = self._approved_partner(partner_id)
        self.uow.record(partner, CommissionRateSet(partner_id=partner_id, rate=rate), meta)
        return {"partner_id": partner_id, "rate": None if rate is None else str(rate)}

    def submit_tax_form(self, meta: EventMeta, partner_id: str, form: str) -> Result:
        partner = self._partner(partner_id)
        self.uow.record(partner, TaxFormSubmitted(partner_id=partner_id, form=form), meta)  # type: ignore[arg-type]
        return {"partner_id": partner_id, "tax_form": form}

    def set_payout_details(self, meta: EventMeta, partner_id: str, method: str, account: str) -> Result:
        partner = self._partner(partner_id)
        if partner.forgotten:
            raise reject("forgotten", f"partner {partner_id!r} was forgotten: no personal data is stored for it", "partner_id")
        sealed = self.vault.seal(subject("partner", partner_id), account)
        event = PayoutDetailsSet(partner_id=partner_id, method=method, account=sealed, account_masked=mask(account))
        self.uow.record(partner, event, meta)
        return {"partner_id": partner_id, "method": method, "account": mask(account)}

    def complete_training(self, meta: EventMeta, partner_id: str) -> Result:
        partner = self._partner(partner_id)
        if partner.training_completed_at is not None:
            raise reject("invalid_state", "training was already completed", "partner_id")
        self.uow.record(partner, TrainingCompleted(partner_id=partner_id), meta)
        return {"partner_id": partner_id, "training_completed": True}

    def record_meeting(self, meta: EventMeta, partner_id: str) -> Result:
        partner = self._partner(partner_id)
        self.uow.record(partner, MeetingRecorded(partner_id=partner_id), meta)
        return {"partner_id": partner_id, "meetings": partner.meetings}

    def set_active_until(self, meta: EventMeta, partner_id: str, until: date | None) -> Result:
        partner = self._approved_partner(partner_id)
        self.uow.record(partner, ActiveUntilSet(partner_id=partner_id, until=until), meta)
        return {"partner_id": partner_id, "active_until": None if until is None else until.isoformat()}

    def terminate_partner(self, meta: EventMeta, partner_id: str, reason: str) -> Result:
        partner = self._partner(partner_id)
        if partner.state == "terminated":
            raise reject("invalid_state", f"partner {partner_id!r} is already terminated", "partner_id")
        self.uow.record(partner, PartnerTerminated(partner_id=partner_id, reason=reason), meta)
        return {"partner_id": partner_id, "state": "terminated"}

    def forget_partner(self, meta: EventMeta, partner_id: str, reason: str) -> Result:
        partner = self._partner(partner_id)
        self.uow.forget(subject("partner", partner_id))
        self.uow.record(partner, PartnerForgotten(partner_id=partner_id, reason=reason), meta)
        return {"partner_id": partner_id, "forgotten": True}

    # -- customers and attribution ------------------------------------------------------

    def sign_up_customer(self, meta: EventMeta, customer_id: str, email: str | None, company: str | None) -> Result:
        customer = self.uow.get_or_new(Customer, customer_id)
        if customer.forgotten and email:
            raise reject("forgotten", f"customer {customer_id!r} was forgotten: no personal data is stored for it", "email")
        if customer.signed_up_at is not None:
            raise reject("conflict", f"customer {customer_id!r} has already signed up", "customer_id")
        event = CustomerSignedUp(
            customer_id=customer_id, company=company,
            email=self.vault.seal(subject("customer", customer_id), email) if email else None,
            email_hash=self.vault.fingerprint(email) if email else None,
            domain_hash=self._domain_hash(email) if email else None,
        )
        self.uow.record(customer, event, meta)
        return {"customer_id": customer_id}

    def claim_customer(self, meta: EventMeta, customer_id: str, partner_id: str, channel: str) -> Result:
        partner = self._partner(partner_id)
        program = self._program(partner.program_id)
        customer = self.uow.get_or_new(Customer, customer_id)
        reason = self._claim_refusal(customer, partner, program, channel, meta.effective_at)
        if reason is not None:
            refusal = ClaimRejected(customer_id=customer_id, partner_id=partner_id, channel=channel, reason=reason)  # type: ignore[arg-type]
            self.uow.record(customer, refusal, meta)
            raise CommandRejected("claim_rejected", reason, "customer_id", recorded=True)
        claim = CustomerClaimed(customer_id=customer_id, partner_id=partner_id, program_id=program.program_id, channel=channel)  # type: ignore[arg-type]
        self.uow.record(customer, claim, meta)
        return {"customer_id": customer_id, "partner_id": partner_id, "channel": channel}

    @staticmethod
    def _claim_refusal(customer: Customer, partner: Partner, program: Program, channel: str, on: datetime) -> str | None:
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

    def set_do_not_contact(self, meta: EventMeta, customer_id: str, value: bool) -> Result:
        customer = self._customer(customer_id)
        if value and not customer.resold:
            raise reject("invalid", "only a resold customer can be marked do-not-contact", "customer_id")
        self.uow.record(customer, DoNotContactSet(customer_id=customer_id, value=value), meta)
        return {"customer_id": customer_id, "do_not_contact": value}

    def forget_customer(self, meta: EventMeta, customer_id: str, reason: str) -> Result:
        customer = self._customer(customer_id)
        self.uow.forget(subject("customer", customer_id))
        self.uow.record(customer, CustomerForgotten(customer_id=customer_id, reason=reason), meta)
        return {"customer_id": customer_id, "forgotten": True}

    # -- money -------------------------------------------------------------------------

    def record_payment(
        self, meta: EventMeta, payment_id: str, customer_id: str, currency: str,
        lines: list[RevenueLine], tax: Decimal,
    ) -> Result:
        customer = self._customer(customer_id)
        if self.uow.get(Payment, payment_id) is not None:
            raise reject("conflict", f"payment {payment_id!r} is already recorded", "payment_id")
        paid_at = meta.effective_at
        earning = policy.nothing("customer is not attributed to a partner", currency)
        if customer.partner_id is not None:
            partner = self._partner(customer.partner_id)
            earning = policy.payment_earning(
                partner=partner, program=self._program(partner.program_id), customer=customer,
                paid_at=paid_at, currency=currency, lines=lines,
                self_referral=policy.is_self_referral(partner, customer),
            )
        paid = sum((line.amount for line in lines), ZERO) + tax
        payment = self.uow.new(Payment, payment_id)
        event = PaymentRecorded(
            payment_id=payment_id, customer_id=customer_id, currency=currency, lines=lines,
            tax=tax, paid_amount=paid, earning=earning,
        )
        self.uow.record(payment, event, meta)
        if customer.first_paid_at is None or paid_at < customer.first_paid_at:
            self.uow.record(customer, CustomerFirstPaid(customer_id=customer_id, paid_at=paid_at), meta)
        return {"payment_id": payment_id, "earning": earning.model_dump(mode="json", exclude_none=True)}

    def reverse_payment(self, meta: EventMeta, reversal_id: str, payment_id: str, amount: Decimal, reason: str) -> Result:
        payment = self._payment(payment_id)
        if amount != round_money(amount, payment.details.currency):
            raise reject("invalid", f"amount {amount} has more decimal places than {payment.details.currency} allows", "amount")
        if amount > payment.refundable:
            raise reject(
                "invalid",
                f"{reason} of {amount} exceeds what is left of the payment ({payment.refundable})",
                "amount",
            )
        clawback = zero(payment.details.currency)
        if payment.earning.kind != "none":
            clawback = policy.clawback(
                earned=payment.earning.amount, earning_left=payment.earning_left,
                paid_amount=payment.details.paid_amount, refundable=payment.refundable,
                amount=amount, currency=payment.details.currency,
            )
        event = PaymentReversed(
            payment_id=payment_id, partner_id=payment.earning.partner_id,
            currency=payment.details.currency, earning_kind=payment.earning.kind,
            reversal_id=reversal_id, reason=reason,  # type: ignore[arg-type]
            amount=amount, clawback=clawback, on_hold=payment.awaiting_review,
        )
        self.uow.record(payment, event, meta)
        return {"payment_id": payment_id, f"{reason}_id": reversal_id, "clawback": str(clawback)}

    def review_commission(self, meta: EventMeta, payment_id: str, decision: str, reason: str) -> Result:
        payment = self._payment(payment_id)
        if not payment.awaiting_review:
            raise reject("invalid_state", f"payment {payment_id!r} is not on hold for review", "payment_id")
        voided = payment.earning_left if decision == "void" else zero(payment.details.currency)
        event = CommissionReviewed(
            payment_id=payment_id, partner_id=payment.earning.partner_id, currency=payment.details.currency,
            decision=decision, reason=reason, voided=voided,  # type: ignore[arg-type]
        )
        self.uow.record(payment, event, meta)
        return {"payment_id": payment_id, "decision": decision, "voided": str(voided)}

    def record_cost(self, meta: EventMeta, cost_id: str, customer_id: str, amount: Decimal, currency: str, kind: str) -> Result:
        customer = self._customer(customer_id)
        rate, deduction = ZERO, zero(currency)
        if customer.partner_id is not None:
            partner = self._partner(customer.partner_id)
            rate, deduction = policy.cost_deduction(
                partner=partner, program=self._program(partner.program_id), customer=customer,
                cost_at=meta.effective_at, amount=amount, currency=currency,
            )
        event = CostRecorded(
            cost_id=cost_id, customer_id=customer_id, partner_id=customer.partner_id,
            amount=amount, currency=currency, kind=kind, rate=rate, deduction=deduction,
        )
        self.uow.record(self.uow.new(Cost, cost_id), event, meta)
        return {"cost_id": cost_id, "deduction": str(deduction)}

    def adjust_commission(
        self, meta: EventMeta, adjustment_id: str, partner_id: str, amount: Decimal, currency: str, reason: str
    ) -> Result:
        self._partner(partner_id)
        amount = round_money(amount, currency)
        event = CommissionAdjusted(adjustment_id=adjustment_id, partner_id=partner_id, amount=amount, currency=currency, reason=reason)
        self.uow.record(self.uow.new(Adjustment, adjustment_id), event, meta)
        return {"adjustment_id": adjustment_id, "amount": str(amount)}

    # -- month close and payouts ---------------------------------------------------------

    def close_period(self, meta: EventMeta, program_id: str, period: str, drafts: list[StatementDraft]) -> Result:
        program = self._program(program_id)
        if program.last_closed_period is not None and period <= program.last_closed_period:
            raise reject("invalid_state", f"{period} is not after the last closed period {program.last_closed_period}", "period")
        end = month_end(period)
        if meta.effective_at <= end:
            raise reject("invalid_state", f"{period} cannot be closed before it has ended", "period")
        terms = program.terms_on(end)
        issued = []
        for draft in drafts:
            account = self.uow.get_or_new(Account, Account.key(draft.partner_id, draft.currency))
            opening = round_money(account.opening_for_next, draft.currency)
            if not draft.lines and not opening:
                continue
            closing = opening + sum((line.amount for line in draft.lines), ZERO)
            reasons = self._not_payable(self._partner(draft.partner_id), terms.payout, closing, end)
            statement_id = f"{program_id}/{draft.partner_id}/{draft.currency}/{period}"
            statement = StatementIssued(
                statement_id=statement_id, program_id=program_id, partner_id=draft.partner_id,
                currency=draft.currency, period=period, opening=opening, lines=draft.lines,
                closing=closing, due=zero(draft.currency) if reasons else closing, carried_forward_because=reasons,
            )
            self.uow.record(account, statement, meta)
            issued.append(statement_id)
        self.uow.record(program, PeriodClosed(program_id=program_id, period=period, statement_ids=issued), meta)
        return {"program_id": program_id, "period": period, "statements": len(issued)}

    @staticmethod
    def _not_payable(partner: Partner, payout: PayoutTerms, closing: Decimal, end: datetime) -> list[str]:
        reasons = []
        if closing <= 0:
            reasons.append("balance is not positive")
        elif closing < payout.minimum:
            reasons.append(f"balance is below the minimum payout of {payout.minimum}")
        if payout.requires_tax_form and (partner.tax_form_at is None or partner.tax_form_at > end):
            reasons.append("no tax form on file")
        if payout.requires_training and not partner.trained_by(end):
            reasons.append("training not completed")
        return reasons

    def record_payout(
        self, meta: EventMeta, payout_id: str, partner_id: str, amount: Decimal, currency: str, statement_ids: list[str],
    ) -> Result:
        self._partner(partner_id)
        account = self.uow.get(Account, Account.key(partner_id, currency))
        known = account.statements if account else {}
        for statement_id in statement_ids:
            if statement_id not in known:
                raise reject("not_found", f"statement {statement_id!r} is not a {currency} statement of {partner_id}", "statement_ids")
        assert account is not None
        if amount > account.outstanding:
            raise reject("invalid", f"payout of {amount} exceeds what is due ({account.outstanding} {currency})", "amount")
        event = PayoutRecorded(payout_id=payout_id, partner_id=partner_id, amount=amount, currency=currency, statement_ids=statement_ids)
        self.uow.record(account, event, meta)
        return {"payout_id": payout_id, "amount": str(amount), "still_due": str(account.outstanding)}

    def _domain_hash(self, email: str) -> str | None:
        domain = email.rpartition("@")[2].strip().lower()
        return None if not domain or domain in policy.FREE_MAIL_DOMAINS else self.vault.fingerprint(domain)
