"""The program aggregate: effective-dated terms and the promo slots."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod

from events.base import Event
from events.program import ProgramDefined, ProgramTermsChanged, PromoClosed, PromoSlotTaken, Terms
from events.statement import PeriodClosed
from ledger.aggregate import Aggregate, Envelope
from ledger.timeline import Timeline


class Program(Aggregate):
    KIND = "program"
    EVENTS = (ProgramDefined, ProgramTermsChanged, PromoSlotTaken, PromoClosed, PeriodClosed)

    def __init__(self, id: object) -> None:
        super().__init__(id)  # type: ignore[arg-type]
        self.program_id = ""
        self.preset: str | None = None
        self.terms = Timeline[Terms]()
        self.promo_holders: list[str] = []
        self.promo_closed = False
        self.last_closed_period: str | None = None

    def terms_on(self, on: datetime) -> Terms:
        """Terms in force on a date; before the first terms, the first terms."""
        terms = self.terms.at(on) or self.terms.first()
        assert terms is not None, "a program always has terms"
        return terms

    def promo_slot_open(self, on: datetime) -> bool:
        promo = self.terms_on(on).promo
        return (
            promo is not None and not self.promo_closed and len(self.promo_holders) < promo.slots
        )

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        super().when(payload, envelope)

    @when.register
    def _(self, e: ProgramDefined, envelope: Envelope) -> None:
        self.program_id, self.preset = e.program_id, e.preset
        self.terms.set(envelope.effective_at, e.terms)

    @when.register
    def _(self, e: ProgramTermsChanged, envelope: Envelope) -> None:
        self.terms.set(envelope.effective_at, e.terms)

    @when.register
    def _(self, e: PromoSlotTaken, envelope: Envelope) -> None:
        self.promo_holders.append(e.partner_id)

    @when.register
    def _(self, e: PromoClosed, envelope: Envelope) -> None:
        self.promo_closed = True

    @when.register
    def _(self, e: PeriodClosed, envelope: Envelope) -> None:
        self.last_closed_period = e.period
