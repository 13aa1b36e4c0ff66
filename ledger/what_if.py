"""What-if: a program's history decided again, in memory, under proposed terms.

``ProposedWorld`` folds the log's events in the order they were recorded, as the
handlers saw them, except that the program's terms are the proposal (every version of
the terms in force with the patch merged in). Where the ledger recorded an amount the
commission policy decided (a payment's earning, a reversal's clawback, a review's void,
a cost's deduction, a promo slot at approval) the world decides it again under the
proposal with the same ``ledger.policy`` functions and hands back the fact as it would
have been recorded. Nothing is written anywhere: the caller sums both versions.

What stays as recorded: the partners' levels and rate overrides (an admin's decisions),
customers and their attribution, and every amount that does not depend on terms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

from events.base import Event
from events.customer import CustomerClaimed
from events.partner import ApplicationApproved, ApplicationSubmitted
from events.program import ProgramDefined, ProgramTermsChanged, PromoSlotTaken, Terms
from events.revenue import CommissionAdjusted, CommissionReviewed, CostRecorded, PaymentRecorded, PaymentReversed
from ledger import policy
from ledger.aggregate import Aggregate, Envelope
from ledger.customer import Customer
from ledger.money import zero
from ledger.partner import Partner
from ledger.payment import Payment
from ledger.program import Program
from ledger.status import Status, partner_status

# The terms in force -> the proposed terms (the patch merged in and validated).
TermsProposal = Callable[[Terms], Terms]


@dataclasses.dataclass(frozen=True)
class Decided:
    """One fact that moves commission: as recorded, and as the proposal would have
    recorded it (None where the proposal would not have recorded it at all)."""

    envelope: Envelope
    recorded: Event
    proposed: Event | None


class ProposedWorld:
    """The program ``program_id`` folded twice: as recorded and under the proposal."""

    def __init__(self, program_id: str, proposal: TermsProposal) -> None:
        self.program_id = program_id
        self.proposal = proposal
        self.recorded_program = Program(Program.id_for(program_id))
        self.program = Program(Program.id_for(program_id))  # its terms are the proposal
        self.partners: dict[str, Partner] = {}  # the program's partners, promo decided again
        self.customers: dict[str, Customer] = {}  # every customer: a claim may come after sign-up
        self.payments: dict[str, Payment] = {}  # the program's payments, earning decided again
        # Aggregate ids, to skip others' events undecoded: customers claimed into another
        # program (never needed again), the program's partners and payments.
        self._foreign_customer_ids: set[UUID] = set()
        self._partner_ids: set[UUID] = set()
        self._payment_ids: set[UUID] = set()

    # -- folding -------------------------------------------------------------------------

    def apply(self, envelope: Envelope) -> Decided | None:
        """Fold one event of the log; a fact of this program that moves commission
        comes back as recorded and as proposed."""
        payload = envelope.payload
        if isinstance(payload, PaymentRecorded | PaymentReversed | CommissionReviewed | CostRecorded | CommissionAdjusted):
            return self._money(envelope, payload)
        kind = type(payload)
        if kind in Customer.EVENTS:
            self._customer(envelope, payload)
        elif kind in Program.EVENTS:
            self._program(envelope, payload)
        elif kind in Partner.EVENTS:
            self._partner(envelope, payload)
        return None

    def reads(self, topic: str) -> bool:
        """Whether events of ``topic`` can matter at all (the first, cheapest filter)."""
        return topic in _TOPICS_WANTED

    def wants(self, aggregate_id: UUID, topic: str, stored_field: Callable[[str], Any]) -> bool:
        """Whether an event needs decoding at all: a partner's or payment's event is
        this program's only when its aggregate is known (their first event says so), a
        customer's until it is claimed into another program, and a payment only when its
        customer was referred by one of the program's partners. ``stored_field(name)``
        reads one field of the event's payload as stored (only where the aggregate
        cannot say)."""
        if topic in _PARTNER_TOPICS:
            return topic == ApplicationSubmitted.TOPIC or aggregate_id in self._partner_ids
        if topic in _PAYMENT_FOLLOW_UPS:
            return aggregate_id in self._payment_ids
        if topic in _CUSTOMER_TOPICS:
            return aggregate_id not in self._foreign_customer_ids
        if topic == PaymentRecorded.TOPIC:
            return self._referring_partner(stored_field("customer_id")) is not None
        return topic in _TOPICS_READ

    def _customer(self, envelope: Envelope, payload: Event) -> None:
        customer_id: str = payload.customer_id  # type: ignore[attr-defined]  # every customer event has it
        if envelope.originator_id in self._foreign_customer_ids:
            return
        if isinstance(payload, CustomerClaimed) and payload.program_id != self.program_id:
            self._foreign_customer_ids.add(envelope.originator_id)
            self.customers.pop(customer_id, None)
            return
        customer = self.customers.get(customer_id)
        if customer is None:
            customer = self.customers[customer_id] = Customer(envelope.originator_id)
        customer.apply(envelope)

    def _program(self, envelope: Envelope, payload: Event) -> None:
        if getattr(payload, "program_id", None) != self.program_id:
            return
        self.recorded_program.apply(envelope)
        if isinstance(payload, ProgramDefined | ProgramTermsChanged):
            self._apply_to(self.program, envelope, payload.model_copy(update={"terms": self.proposal(payload.terms)}))
        elif not isinstance(payload, PromoSlotTaken):  # slots are decided again at approval
            self.program.apply(envelope)

    def _partner(self, envelope: Envelope, payload: Event) -> None:
        if isinstance(payload, ApplicationSubmitted):
            if payload.program_id != self.program_id:
                return
            self.partners[payload.partner_id] = Partner(envelope.originator_id)
            self._partner_ids.add(envelope.originator_id)
        partner = self.partners.get(str(getattr(payload, "partner_id", "")))
        if partner is None:
            return
        if isinstance(payload, ApplicationApproved):
            payload = self._approval(envelope, payload)
        self._apply_to(partner, envelope, payload)

    def _approval(self, envelope: Envelope, approved: ApplicationApproved) -> ApplicationApproved:
        """The promo slot as ``approve_application`` would decide it under the proposal."""
        promo_rate = None
        if approved.rate is None and self.program.promo_slot_open(envelope.effective_at):
            promo = self.program.terms_on(envelope.effective_at).promo
            assert promo is not None
            promo_rate = promo.rate
            taken = PromoSlotTaken(program_id=self.program_id, partner_id=approved.partner_id, rate=promo_rate)
            self._apply_to(self.program, envelope, taken)
        return approved.model_copy(update={"promo_rate": promo_rate})

    # -- money -------------------------------------------------------------------------

    def _money(self, envelope: Envelope, payload: Event) -> Decided | None:
        if isinstance(payload, PaymentRecorded):
            return self._payment(envelope, payload)
        if isinstance(payload, PaymentReversed):
            return self._reversal(envelope, payload)
        if isinstance(payload, CommissionReviewed):
            return self._review(envelope, payload)
        if isinstance(payload, CostRecorded):
            return self._cost(envelope, payload)
        assert isinstance(payload, CommissionAdjusted)
        return Decided(envelope, payload, payload) if payload.partner_id in self.partners else None

    def _referring_partner(self, customer_id: object) -> Partner | None:
        """The program's partner a customer is attributed to, if any."""
        customer = self.customers.get(customer_id) if isinstance(customer_id, str) else None
        return self.partners.get(customer.partner_id or "") if customer is not None else None

    def _payment(self, envelope: Envelope, recorded: PaymentRecorded) -> Decided | None:
        partner = self._referring_partner(recorded.customer_id)
        if partner is None:
            return None
        customer = self.customers[recorded.customer_id]
        earning = policy.payment_earning(
            partner=partner, program=self.program, customer=customer, paid_at=envelope.effective_at,
            currency=recorded.currency, lines=recorded.lines, self_referral=policy.is_self_referral(partner, customer),
        )
        proposed = recorded.model_copy(update={"earning": earning})
        payment = Payment(envelope.originator_id)
        self._apply_to(payment, envelope, proposed.model_copy(update={"lines": []}))  # lines are not needed again
        self.payments[recorded.payment_id] = payment
        self._payment_ids.add(envelope.originator_id)
        return Decided(envelope, recorded, proposed)

    def _reversal(self, envelope: Envelope, recorded: PaymentReversed) -> Decided | None:
        payment = self.payments.get(recorded.payment_id)
        if payment is None:
            return None
        earning = payment.earning
        clawback = zero(recorded.currency)
        if earning.kind != "none":
            clawback = policy.clawback(
                earned=earning.amount, earning_left=payment.earning_left, paid_amount=payment.details.paid_amount,
                refundable=payment.refundable, amount=recorded.amount, currency=recorded.currency,
            )
        proposed = recorded.model_copy(update={
            "partner_id": earning.partner_id, "earning_kind": earning.kind, "clawback": clawback,
            "on_hold": payment.awaiting_review,
        })
        self._apply_to(payment, envelope, proposed)
        return Decided(envelope, recorded, proposed)

    def _review(self, envelope: Envelope, recorded: CommissionReviewed) -> Decided | None:
        payment = self.payments.get(recorded.payment_id)
        if payment is None:
            return None
        if not payment.awaiting_review:  # review_commission would have refused it
            return Decided(envelope, recorded, None)
        voided = payment.earning_left if recorded.decision == "void" else zero(recorded.currency)
        proposed = recorded.model_copy(update={"voided": voided})
        self._apply_to(payment, envelope, proposed)
        return Decided(envelope, recorded, proposed)

    def _cost(self, envelope: Envelope, recorded: CostRecorded) -> Decided | None:
        partner = self.partners.get(recorded.partner_id or "")
        customer = self.customers.get(recorded.customer_id)
        if partner is None or customer is None:
            return None
        rate, deduction = policy.cost_deduction(
            partner=partner, program=self.program, customer=customer, cost_at=envelope.effective_at,
            amount=recorded.amount, currency=recorded.currency,
        )
        return Decided(envelope, recorded, recorded.model_copy(update={"rate": rate, "deduction": deduction}))

    @staticmethod
    def _apply_to(aggregate: Aggregate, envelope: Envelope, payload: Event) -> None:
        aggregate.apply(dataclasses.replace(envelope, originator_version=aggregate.version + 1, payload=payload))

    # -- status ------------------------------------------------------------------------

    def statuses(self, on: datetime) -> dict[str, tuple[Status, Status]]:
        """Each approved partner's status on ``on``: under the terms in force and under
        the proposal (they differ only where the proposal changes the status terms)."""
        onboarded: dict[str, list[datetime]] = {}
        for customer in self.customers.values():
            if customer.partner_id in self.partners and customer.onboarded_at is not None:
                onboarded.setdefault(customer.partner_id, []).append(customer.onboarded_at)
        recorded_terms = self.recorded_program.terms_on(on).status
        proposed_terms = self.program.terms_on(on).status
        found = {}
        for partner_id, partner in self.partners.items():
            if partner.approved_at is None:
                continue
            dates = onboarded.get(partner_id, [])
            found[partner_id] = tuple(
                partner_status(on=on, approved_at=partner.approved_at, onboarded=dates, terms=terms,
                               active_until=partner.active_until.at(on))
                for terms in (recorded_terms, proposed_terms)
            )
        return found  # type: ignore[return-value]

    def status_terms_differ(self, on: datetime) -> bool:
        return self.recorded_program.terms_on(on).status != self.program.terms_on(on).status


def _topics(events: Iterable[type[Event]]) -> frozenset[str]:
    return frozenset(event.TOPIC for event in events)


_PARTNER_TOPICS = _topics(Partner.EVENTS)
_PAYMENT_FOLLOW_UPS = _topics((PaymentReversed, CommissionReviewed))
_CUSTOMER_TOPICS = _topics(Customer.EVENTS)
_TOPICS_READ = _topics((*Program.EVENTS, CostRecorded, CommissionAdjusted))
_TOPICS_WANTED = _PARTNER_TOPICS | _PAYMENT_FOLLOW_UPS | _CUSTOMER_TOPICS | _TOPICS_READ | {PaymentRecorded.TOPIC}
