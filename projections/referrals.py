"""Reading referrals: which partner a link names, a partner's leads (or the admins'
queue of every lead), and the partner's funnel per month (clicks, sign-ups, paying
customers, commission)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from adapters.clicks import ClickCounter
from adapters.database import Database
from adapters.event_store import EventStore
from adapters.vault import Vault
from ledger.calendar import as_utc, month_end, next_period
from ledger.partner import Partner
from ledger.program import Program
from ledger.referral import Referral, referral_key
from projections.columns import ts
from projections.queries import NotFound
from projections.reports import Reports
from projections.runner import Tables

LEAD_STATES = ("open", "converted", "refused")
LeadState = Literal["open", "converted", "refused"]


class Lead(TypedDict):
    lead_id: str
    partner_id: str
    program_id: str
    state: LeadState
    reason: str | None
    customer_id: str | None
    submitted_at: str
    company: str | None
    email: str | None
    note: str | None


class FunnelMonth(TypedDict):
    period: str
    clicks: int
    sign_ups: int
    paying_customers: int
    commission: dict[str, str]


# Functional syntax: ``from`` is a keyword in Python.
Funnel = TypedDict("Funnel", {"partner_id": str, "referral_link": str | None, "from": str, "to": str,
                              "months": list[FunnelMonth]})


class Referrals:
    def __init__(self, db: Database, store: EventStore, vault: Vault, clicks: ClickCounter, reports: Reports,
                 t: Tables | None = None) -> None:
        self.db, self.store, self.vault, self.clicks, self.reports = db, store, vault, clicks, reports
        self.t = t or Tables()

    def link_partner(self, link: str) -> Partner | None:
        """The approved partner a referral link names (None: unknown, or the partner is gone)."""
        referral = self.store.load(Referral, referral_key(link=link.lower()), None)
        partner = None if referral is None else self.store.load(Partner, referral.partner_id, None)
        return partner if partner is not None and partner.is_approved else None

    def landing(self, link: str, on: datetime, passed: Sequence[tuple[str, str]] = ()) -> str | None:
        """Where the link sends a visitor: its program's landing URL with ``passed`` (the
        visitor's own query parameters, ``ref`` left out) and the link as ``ref``; None for
        an unknown link, a partner no longer approved, or a program without a landing URL."""
        partner = self.link_partner(link)
        if partner is None or partner.referral_link is None:
            return None
        program = self.store.load(Program, partner.program_id, None)
        landing_url = None if program is None else program.terms_on(on).landing_url
        if landing_url is None:
            return None
        return with_query(landing_url, [*((k, v) for k, v in passed if k != "ref"), ("ref", partner.referral_link)])

    def leads(self, *, partner_id: str | None = None, state: str | None = None, limit: int = 200) -> list[Lead]:
        """Leads newest first: one partner's (contact data unsealed for it), or every
        partner's for the admins' queue."""
        where, params = [], []
        if partner_id is not None:
            where.append("partner_id = %s")
            params.append(partner_id)
        if state is not None:
            where.append("state = %s")
            params.append(state)
        rows = self.db.fetch_all(
            "SELECT lead_id, partner_id, program_id, state, reason, customer_id, submitted_at, company, email, note"
            f" FROM {self.t.leads}{' WHERE ' + ' AND '.join(where) if where else ''}"
            " ORDER BY submitted_at DESC, lead_id LIMIT %s",
            (*params, limit),
        )
        names = ("lead_id", "partner_id", "program_id", "state", "reason", "customer_id", "submitted_at")
        return [
            cast(Lead, dict(zip(names, row[:7], strict=True))
                 | {"company": self.vault.unseal(row[7]), "email": self.vault.unseal(row[8]), "note": self.vault.unseal(row[9])})
            for row in rows
        ]

    def funnel(self, partner_id: str, months: int = 12, as_of: datetime | None = None) -> Funnel:
        """Per month (the last ``months`` up to ``as_of``): clicks on the partner's link,
        its sign-ups (customers onboarded: signed up and attributed to it, by any channel),
        the customers of it who paid for the first time, and the commission the month
        added (per currency, as the revenue series counts it)."""
        partner = self.store.load(Partner, partner_id, None)
        if partner is None:
            raise NotFound(f"partner {partner_id!r} does not exist", "partner_id")
        end = as_utc(as_of) if as_of else datetime.now(UTC)
        revenue = self.reports.revenue(partner_id, months, end)
        first, last = revenue["from"], revenue["to"]
        start, stop = f"{first}-01", ts(month_end(last))
        link = partner.referral_link
        clicks = self.clicks.per_month(link, date.fromisoformat(start), month_end(last).date()) if link else {}
        sign_ups = self._per_month(
            f"SELECT SUBSTR(onboarded_at, 1, 7), COUNT(*) FROM {self.t.customers}"
            " WHERE partner_id = %s AND onboarded_at >= %s AND onboarded_at <= %s GROUP BY SUBSTR(onboarded_at, 1, 7)",
            (partner.partner_id, start, stop))
        paying = self._per_month(
            f"SELECT SUBSTR(f.paid_at, 1, 7), COUNT(*) FROM {self.t.first_paid} f"
            f" JOIN {self.t.customers} c ON c.customer_id = f.customer_id"
            " WHERE c.partner_id = %s AND f.paid_at >= %s AND f.paid_at <= %s GROUP BY SUBSTR(f.paid_at, 1, 7)",
            (partner.partner_id, start, stop))
        commission = {currency: {m["period"]: m["commission"] for m in rows} for currency, rows in revenue["currencies"].items()}
        return {
            "partner_id": partner.partner_id, "referral_link": partner.referral_link, "from": first, "to": last,
            "months": [
                {"period": period, "clicks": clicks.get(period, 0), "sign_ups": sign_ups.get(period, 0),
                 "paying_customers": paying.get(period, 0),
                 "commission": {currency: by_period[period] for currency, by_period in commission.items()}}
                for period in _periods(first, last)
            ],
        }

    def _per_month(self, sql: str, params: tuple[Any, ...]) -> dict[str, int]:
        return {month: int(count) for month, count in self.db.fetch_all(sql, params)}


def with_query(url: str, params: Sequence[tuple[str, str]]) -> str:
    """``url`` with ``params`` added to its query string (any already there are kept)."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _periods(first: str, last: str) -> list[str]:
    periods = [first]
    while periods[-1] != last:
        periods.append(next_period(periods[-1]))
    return periods
