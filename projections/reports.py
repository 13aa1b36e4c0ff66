"""Figures the dashboards and the API show beyond the CLI's documents: a partner's
monthly money series, its statements over time, and a program's terms with its promo
slots. Like every query they only read (read models, and aggregates for programs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NotRequired, cast

from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from adapters.database import Database
from adapters.event_store import EventStore
from ledger.calendar import add_months, as_utc, period_of
from ledger.money import round_money
from ledger.program import Program
from projections.columns import FAR_FUTURE, from_minor, ts
from projections.money import ADJUSTED, CLAWED_BACK, COMMISSION_SIGN, DEDUCTED, DISCOUNT, EARNED, PAID
from projections.queries import NotFound
from projections.runner import Tables

SERIES_BUCKETS = (EARNED, CLAWED_BACK, DEDUCTED, ADJUSTED, DISCOUNT, PAID)
MAX_MONTHS = 120


class MonthFigures(TypedDict):
    period: str
    earned: str
    clawed_back: str
    deducted: str
    adjusted: str
    discount: str
    paid: str
    commission: str


# The monthly series of every partner (the admin's home page), and of one (``revenue``).
# Functional syntax: ``from`` is a keyword in Python.
Series = TypedDict("Series", {"from": str, "to": str, "currencies": dict[str, list[MonthFigures]]})
Revenue = TypedDict("Revenue", {"partner_id": str, "from": str, "to": str, "currencies": dict[str, list[MonthFigures]]})


class StatementSummary(TypedDict):
    """A statement's totals, its lines counted (keys in the order the API wrote them)."""

    statement_id: str
    period: str
    currency: str
    issued_at: str
    opening: str
    lines: int
    closing: str
    due: str
    partner_id: str
    carried_forward_because: NotRequired[list[str]]


class Reports:
    def __init__(self, db: Database, store: EventStore, t: Tables | None = None) -> None:
        self.db, self.store = db, store
        self.t = t or Tables()

    def revenue(
        self, partner_id: str, months: int = 12, as_of: datetime | None = None, known_at: datetime | None = None,
    ) -> Revenue:
        """Per currency, one row per month (the last ``months`` up to ``as_of``, empty
        months included): each bucket's money effective that month, and ``commission``,
        what the month added to lifetime commission (earned - clawed back - deducted +
        adjusted)."""
        series = self._monthly(partner_id, months, as_of, known_at)
        return {"partner_id": partner_id, "from": series["from"], "to": series["to"], "currencies": series["currencies"]}

    def commission_months(self, months: int = 2, as_of: datetime | None = None) -> Series:
        """Every partner's money added up per currency, one row per month (the last
        ``months`` up to ``as_of``): what the admin's home page compares, this month's
        commission against the last."""
        return self._monthly(None, months, as_of, None)

    def _monthly(self, partner_id: str | None, months: int, as_of: datetime | None, known_at: datetime | None) -> Series:
        end = as_utc(as_of) if as_of else datetime.now(UTC)
        periods = [period_of(add_months(end.replace(day=1), -back)) for back in range(months - 1, -1, -1)]
        whose, params = ("partner_id = %s AND ", (partner_id,)) if partner_id is not None else ("", ())
        rows = self.db.fetch_all(
            f"SELECT SUBSTR(effective_at, 1, 7), currency, bucket, SUM(amount_minor) FROM {self.t.lines}"
            f" WHERE {whose}effective_at >= %s AND effective_at <= %s AND recorded_at <= %s"
            " GROUP BY SUBSTR(effective_at, 1, 7), currency, bucket",
            (*params, f"{periods[0]}-01", ts(end), ts(as_utc(known_at)) if known_at else FAR_FUTURE),
        )
        sums: dict[str, dict[str, dict[str, Decimal]]] = {}
        for period, currency, bucket, units in rows:
            sums.setdefault(currency, {}).setdefault(period, {})[bucket] = from_minor(units, currency)
        return {
            "from": periods[0], "to": periods[-1],
            "currencies": {
                currency: [_month(period, currency, by_period.get(period, {})) for period in periods]
                for currency, by_period in sorted(sums.items())
            },
        }

    def partner_statements(self, partner_id: str, known_at: datetime | None = None) -> list[StatementSummary]:
        """Every statement issued to the partner (totals, newest first)."""
        rows = self.db.fetch_all(
            f"SELECT document FROM {self.t.statements} WHERE partner_id = %s AND recorded_at <= %s"
            " ORDER BY period DESC, currency",
            (partner_id, ts(as_utc(known_at)) if known_at else FAR_FUTURE),
        )
        summaries = []
        for (text,) in rows:
            document = json.loads(text)
            lines = document.pop("lines")
            summaries.append(cast(StatementSummary, {**document, "lines": len(lines)}))
        return summaries

    def program_ids(self) -> list[str]:
        """Every program the ledger knows, by id (the admin console lists them)."""
        rows = self.db.fetch_all(f"SELECT DISTINCT program_id FROM {self.t.program_terms} ORDER BY program_id", ())
        return [program_id for (program_id,) in rows]

    def program(self, program_id: str, known_at: datetime | None = None) -> dict[str, Any]:
        """A program's terms in force now, its promo slots (taken and left) and how many
        partners it has in each state."""
        program = self.store.load(Program, program_id, known_at)
        if program is None:
            raise NotFound(f"program {program_id!r} does not exist")
        terms = program.terms_on(datetime.now(UTC))
        promo = None
        if terms.promo is not None:
            taken = len(program.promo_holders)
            promo = {
                "rate": str(terms.promo.rate), "slots": terms.promo.slots, "taken": taken,
                "left": 0 if program.promo_closed else max(terms.promo.slots - taken, 0), "closed": program.promo_closed,
            }
        counts = self.db.fetch_all(
            f"SELECT state, COUNT(*) FROM {self.t.partners} WHERE program_id = %s GROUP BY state", (program_id,),
        )
        return {
            "program_id": program_id, "preset": program.preset, "terms": terms.model_dump(mode="json"), "promo": promo,
            "last_closed_period": program.last_closed_period,
            "partners": {state: int(count) for state, count in sorted(counts)},
        }


def _month(period: str, currency: str, sums: dict[str, Decimal]) -> MonthFigures:
    figures = {bucket: round_money(sums.get(bucket, Decimal(0)), currency) for bucket in SERIES_BUCKETS}
    commission = sum((sign * figures[bucket] for bucket, sign in COMMISSION_SIGN.items()), Decimal(0))
    return cast(MonthFigures, {"period": period, **{k: str(v) for k, v in figures.items()},
                               "commission": str(round_money(commission, currency))})
