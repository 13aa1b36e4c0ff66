"""The customer aggregate: sign-up, the one partner it is attributed to, flags."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod

from events.base import Event
from events.customer import (
    ClaimRejected,
    CustomerClaimed,
    CustomerFirstPaid,
    CustomerForgotten,
    CustomerSignedUp,
    DoNotContactSet,
)
from ledger.aggregate import Aggregate, Envelope


class Customer(Aggregate):
    KIND = "customer"
    EVENTS = (
        CustomerSignedUp, CustomerClaimed, ClaimRejected, CustomerFirstPaid,
        DoNotContactSet, CustomerForgotten,
    )

    def __init__(self, id: object) -> None:
        super().__init__(id)  # type: ignore[arg-type]
        self.customer_id = ""
        self.signed_up_at: datetime | None = None
        self.email_hash: str | None = None
        self.domain_hash: str | None = None
        self.partner_id: str | None = None
        self.program_id: str | None = None
        self.channel: str | None = None
        self.attributed_at: datetime | None = None
        self.first_paid_at: datetime | None = None
        self.do_not_contact = False
        self.forgotten = False

    @property
    def resold(self) -> bool:
        return self.channel == "resell"

    @property
    def onboarded_at(self) -> datetime | None:
        """Signed up and attributed: the later of the two dates."""
        if self.signed_up_at is None or self.attributed_at is None:
            return None
        return max(self.signed_up_at, self.attributed_at)

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        super().when(payload, envelope)

    @when.register
    def _(self, e: CustomerSignedUp, envelope: Envelope) -> None:
        self.customer_id = e.customer_id
        self.signed_up_at = envelope.effective_at
        self.email_hash, self.domain_hash = e.email_hash, e.domain_hash

    @when.register
    def _(self, e: CustomerClaimed, envelope: Envelope) -> None:
        self.customer_id = e.customer_id
        self.partner_id, self.program_id, self.channel = e.partner_id, e.program_id, e.channel
        self.attributed_at = envelope.effective_at

    @when.register
    def _(self, e: ClaimRejected, envelope: Envelope) -> None:
        self.customer_id = e.customer_id

    @when.register
    def _(self, e: CustomerFirstPaid, envelope: Envelope) -> None:
        self.first_paid_at = e.paid_at

    @when.register
    def _(self, e: DoNotContactSet, envelope: Envelope) -> None:
        self.do_not_contact = e.value

    @when.register
    def _(self, e: CustomerForgotten, envelope: Envelope) -> None:
        self.forgotten = True
