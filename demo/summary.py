"""What a generated history adds up to, read back from the event store and read models.

The aggregates are plain SQL over the live projection tables (``proj_lines``,
``proj_audit``) with ``%s`` placeholders, so they run on SQLite and PostgreSQL alike;
per-partner figures go through the public queries (``runtime.queries``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from entrypoints.bootstrap import Ledger
from projections.columns import from_minor, from_ts
from projections.money import ADJUSTED, CLAWED_BACK, DEDUCTED, DISCOUNT, EARNED
from projections.runner import Tables

# Signed contribution of each bucket to lifetime commission.
_LIFETIME_SQL = (
    f"SUM(CASE bucket WHEN '{EARNED}' THEN amount_minor WHEN '{ADJUSTED}' THEN amount_minor"
    f" WHEN '{CLAWED_BACK}' THEN -amount_minor WHEN '{DEDUCTED}' THEN -amount_minor ELSE 0 END)"
)
TOTAL_COLUMNS = (EARNED, CLAWED_BACK, DEDUCTED, ADJUSTED, "lifetime_commission", DISCOUNT)


@dataclass
class TopPartner:
    partner_id: str
    program_id: str
    lifetime: Decimal
    currency: str


@dataclass
class Summary:
    events: int
    history_end: datetime | None
    top_partners: list[TopPartner]
    status_counts: Counter[str]
    approved_partners: int
    totals: dict[str, dict[str, Decimal]]  # currency -> TOTAL_COLUMNS -> amount
    extra: dict[str, Any] = field(default_factory=dict)


def _rows(runtime: Ledger, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    db = runtime.db
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def event_count(runtime: Ledger) -> int:
    return int(_rows(runtime, f"SELECT COUNT(*) FROM {runtime.db.events_table()}")[0][0])


def history_end(runtime: Ledger, t: Tables | None = None) -> datetime | None:
    """The latest effective time of any business event."""
    t = t or Tables()
    [(latest,)] = _rows(runtime, f"SELECT MAX(effective_at) FROM {t.audit}")
    return from_ts(latest) if latest else None


def currency_totals(runtime: Ledger, t: Tables | None = None) -> dict[str, dict[str, Decimal]]:
    t = t or Tables()
    rows = _rows(runtime, f"SELECT currency, bucket, SUM(amount_minor) FROM {t.lines} GROUP BY currency, bucket")
    sums: dict[str, dict[str, Decimal]] = {}
    for currency, bucket, units in rows:
        sums.setdefault(currency, {})[bucket] = from_minor(units, currency)
    totals = {}
    for currency, buckets in sorted(sums.items()):
        figures = {name: buckets.get(name, from_minor(0, currency)) for name in (EARNED, CLAWED_BACK, DEDUCTED, ADJUSTED)}
        figures["lifetime_commission"] = (
            figures[EARNED] - figures[CLAWED_BACK] - figures[DEDUCTED] + figures[ADJUSTED]
        )
        figures[DISCOUNT] = buckets.get(DISCOUNT, from_minor(0, currency))
        totals[currency] = figures
    return totals


def top_partners(runtime: Ledger, limit: int = 10, t: Tables | None = None) -> list[TopPartner]:
    """The partners with the most lifetime commission (one row per partner and currency)."""
    t = t or Tables()
    rows = _rows(
        runtime,
        f"SELECT partner_id, currency, {_LIFETIME_SQL} AS lifetime FROM {t.lines}"
        " WHERE bucket IN (%s, %s, %s, %s)"
        " GROUP BY partner_id, currency ORDER BY lifetime DESC, partner_id, currency LIMIT %s",
        (EARNED, CLAWED_BACK, DEDUCTED, ADJUSTED, limit),
    )
    return [
        TopPartner(partner_id, runtime.queries.partner(partner_id)["program_id"], from_minor(units, currency), currency)
        for partner_id, currency, units in rows
    ]


def approved_partners(runtime: Ledger, t: Tables | None = None) -> list[str]:
    """Partners that were approved and have not been terminated since."""
    t = t or Tables()
    rows = _rows(
        runtime,
        f"SELECT DISTINCT partner_id FROM {t.audit} WHERE event_type = %s AND partner_id NOT IN"
        f" (SELECT partner_id FROM {t.audit} WHERE event_type = %s AND partner_id IS NOT NULL)"
        " ORDER BY partner_id",
        ("partner.application_approved", "partner.terminated"),
    )
    return [row[0] for row in rows]


def status_counts(runtime: Ledger, partner_ids: list[str], on: datetime | None) -> Counter[str]:
    counts: Counter[str] = Counter()
    for partner_id in partner_ids:
        counts[runtime.queries.status(partner_id, on)["status"]] += 1
    return counts


def summarize(runtime: Ledger) -> Summary:
    runtime.read_models.catch_up()
    end = history_end(runtime)
    partners = approved_partners(runtime)
    return Summary(
        events=event_count(runtime),
        history_end=end,
        top_partners=top_partners(runtime),
        status_counts=status_counts(runtime, partners, end),
        approved_partners=len(partners),
        totals=currency_totals(runtime),
    )


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    # Text left, figures right.
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(cells: tuple[str, ...]) -> str:
        return indent + "  ".join(
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def _is_number(text: str) -> bool:
    try:
        Decimal(text.replace(",", ""))
    except ArithmeticError:
        return False
    return True


def _amount(value: Decimal) -> str:
    return f"{value:,}"


def render(summary: Summary) -> list[str]:
    """The readable summary, as lines."""
    lines = [f"Events stored: {summary.events:,}"]
    if summary.history_end is not None:
        lines.append(f"History ends: {summary.history_end:%Y-%m-%d %H:%M} UTC")
    lines += ["", "Top 10 partners by lifetime commission:"]
    if summary.top_partners:
        lines += _table(
            ("partner", "program", "lifetime", "currency"),
            [(p.partner_id, p.program_id, _amount(p.lifetime), p.currency) for p in summary.top_partners],
        )
    else:
        lines.append("  (no commission yet)")
    on = f" on {summary.history_end:%Y-%m-%d}" if summary.history_end else ""
    counts = summary.status_counts
    lines += [
        "",
        f"Partner status{on} ({summary.approved_partners} approved partners):",
        "  " + ", ".join(f"{name} {counts.get(name, 0)}" for name in ("active", "at_risk", "locked")),
        "",
        "Totals per currency:",
    ]
    lines += _table(
        ("currency", *TOTAL_COLUMNS),
        [(currency, *(_amount(figures[name]) for name in TOTAL_COLUMNS)) for currency, figures in summary.totals.items()],
    )
    return lines
