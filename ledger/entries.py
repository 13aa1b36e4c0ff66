"""Single-fact aggregates: a marketing cost, a manual adjustment."""

from __future__ import annotations

from functools import singledispatchmethod

from events.base import Event
from events.revenue import CommissionAdjusted, CostRecorded
from ledger.aggregate import Aggregate, Envelope


class Cost(Aggregate):
    KIND = "cost"
    EVENTS = (CostRecorded,)

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        self.fact = payload


class Adjustment(Aggregate):
    KIND = "adjustment"
    EVENTS = (CommissionAdjusted,)

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        self.fact = payload

