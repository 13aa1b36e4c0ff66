"""Single-fact aggregates: a marketing cost, a manual adjustment, an idempotency receipt."""

from __future__ import annotations

from functools import singledispatchmethod
from typing import Any

from events.base import Event
from events.receipt import CommandAccepted
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


class Receipt(Aggregate):
    """The first outcome of a command, found again by its idempotency key."""

    KIND = "receipt"
    EVENTS = (CommandAccepted,)

    fingerprint: str
    result: dict[str, Any]

    @singledispatchmethod
    def when(self, payload: Event, envelope: Envelope) -> None:
        assert isinstance(payload, CommandAccepted)
        self.fingerprint, self.result = payload.fingerprint, payload.result
