"""What-if terms: read the log once, fold one program under proposed terms
(``ledger.what_if``) and sum commission as issued and as proposed, per partner and
currency, per month, in total. Nothing is written: not to the log, not to a read model.

Commission is what the balances call lifetime commission: earned - clawed back (refunds,
chargebacks, voids) - cost deductions + adjustments, summed from the same money lines
(``projections.money``) for both versions of each fact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

import structlog

from adapters.event_store import EventStore, as_uuid, decode_row, payload_field
from events.base import Event
from ledger.calendar import month_end, period_of
from ledger.money import ZERO
from ledger.program import Program
from ledger.what_if import Decided, ProposedWorld, TermsProposal
from projections.money import COMMISSION_SIGN, money_lines
from projections.queries import NotFound

log = structlog.get_logger(__name__)


@dataclass
class Figures:
    """Commission as issued and as proposed (currency units)."""

    issued: Decimal = ZERO
    proposed: Decimal = ZERO

    @property
    def difference(self) -> Decimal:
        return self.proposed - self.issued

    def as_dict(self) -> dict[str, str]:
        return {"issued": str(self.issued), "proposed": str(self.proposed), "difference": str(self.difference)}


@dataclass
class WhatIfReport:
    program_id: str
    patch: dict[str, Any]
    start: str | None  # first month counted (YYYY-MM), None from the beginning
    end: str | None  # last month counted
    status_on: datetime
    events: int = 0  # events read from the log
    partners: dict[tuple[str, str], Figures] = field(default_factory=lambda: defaultdict(Figures))
    months: dict[tuple[str, str], Figures] = field(default_factory=lambda: defaultdict(Figures))
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)  # only where the status terms change

    def totals(self) -> dict[str, Figures]:
        totals: dict[str, Figures] = defaultdict(Figures)
        for (_, currency), figures in self.partners.items():
            totals[currency].issued += figures.issued
            totals[currency].proposed += figures.proposed
        return dict(sorted(totals.items()))

    def partner_rows(self) -> list[dict[str, Any]]:
        rows = []
        for (partner_id, currency), figures in sorted(self.partners.items()):
            issued, proposed = self.statuses.get(partner_id, (None, None))
            rows.append({"partner_id": partner_id, "currency": currency, **figures.as_dict(),
                         "status_issued": issued, "status_proposed": proposed})
        return rows

    def month_rows(self) -> list[dict[str, Any]]:
        return [{"period": period, "currency": currency, **figures.as_dict()}
                for (period, currency), figures in sorted(self.months.items())]

    def as_dict(self) -> dict[str, Any]:
        return {
            "program_id": self.program_id, "terms_patch": self.patch, "from": self.start, "to": self.end,
            "events_read": self.events, "status_on": self.status_on.isoformat(),
            "status_terms_change": bool(self.statuses),
            "totals": [{"currency": currency, **figures.as_dict()} for currency, figures in self.totals().items()],
            "partners": self.partner_rows(),
            "months": self.month_rows(),
        }


def what_if(
    store: EventStore, program_id: str, patch: dict[str, Any], proposal: TermsProposal, *,
    start: str | None = None, end: str | None = None, now: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> WhatIfReport:
    """The program's history under ``proposal`` (``patch`` merged into its terms), the
    money of the months ``start``..``end`` (inclusive, ``YYYY-MM``) counted; statuses on
    the end of ``end`` (or now)."""
    if store.load(Program, program_id) is None:
        raise NotFound(f"program {program_id!r} does not exist", "program")
    now = now or datetime.now(UTC)
    status_on = min(month_end(end), now) if end else now
    report = WhatIfReport(program_id, patch, start, end, status_on)
    world = ProposedWorld(program_id, proposal)
    stop = store.max_position()
    # Raw rows: an event the world does not want (another program's partner, customer or
    # payment, bookkeeping) is skipped before any object is made of it; only a payment's
    # stored payload is read to tell whose customer paid.
    for row in store.rows(stop=stop):
        report.events += 1
        if progress and report.events % 10_000 == 0:
            progress(10_000)
        _, originator_id, version, topic, state = row
        if not world.reads(topic):
            continue
        aggregate_id = as_uuid(originator_id)
        if not world.wants(aggregate_id, topic, partial(payload_field, row)):
            continue
        decided = world.apply(decode_row(aggregate_id, version, topic, bytes(state)))
        if decided is not None:
            _count(report, decided)
    if world.status_terms_differ(status_on):
        report.statuses = {partner_id: (issued.status, proposed.status)
                           for partner_id, (issued, proposed) in world.statuses(status_on).items()}
        currency = world.program.terms_on(status_on).currency
        for partner_id in report.statuses.keys() - {key[0] for key in report.partners}:
            report.partners[(partner_id, currency)] = Figures()  # no money, yet a status
    log.info("what_if", program_id=program_id, events=report.events, partners=len(report.partners))
    return report


def _count(report: WhatIfReport, decided: Decided) -> None:
    period = period_of(decided.envelope.effective_at)
    if (report.start and period < report.start) or (report.end and period > report.end):
        return
    for version, event in (("issued", decided.recorded), ("proposed", decided.proposed)):
        for partner_id, currency, amount in _commission(event):
            for figures in (report.partners[(partner_id, currency)], report.months[(period, currency)]):
                setattr(figures, version, getattr(figures, version) + amount)


def _commission(event: Event | None) -> list[tuple[str, str, Decimal]]:
    if event is None:
        return []
    return [(line.partner_id, line.currency, COMMISSION_SIGN[line.bucket] * line.amount)
            for line in money_lines(event) if line.bucket in COMMISSION_SIGN]
