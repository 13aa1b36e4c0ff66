"""The program aggregate: effective-dated terms and the promo slots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatchmethod

from events.base import Event
from events.program import ProgramDefined, ProgramTermsChanged, PromoClosed, PromoSlotTaken, Terms
from events.statement import PeriodClosed
from ledger.aggregate import Aggregate, Envelope
from ledger.calendar import next_period
from ledger.timeline import Timeline


@dataclass(frozen=True)
class ClosedPeriod:
    period: str
    closed_at: datetime  # when the close was recorded
    statements: int


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
        self.defined_at: datetime | None = None
        self.closed_periods: list[ClosedPeriod] = []

    @property
    def last_closed_period(self) -> str | None:
        return self.closed_periods[-1].period if self.closed_periods else None

    @property
    def next_period_to_close(self) -> str | None:
        """The month after the last closed one (None before the first close: any ended
        month may be the first)."""
        last = self.last_closed_period
        return None if last is None else next_period(last)

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
        self.defined_at = envelope.effective_at
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
        self.closed_periods.append(ClosedPeriod(e.period, envelope.recorded_at, len(e.statement_ids)))
