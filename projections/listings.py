"""Listings: partners, applications, a month's statements, payouts due and commission on
hold, for finance and ops (the CLI's ``ledger list`` and the HTTP API's list routes).

Every listing reads only read models (and aggregates for the rows of one page), returns
JSON-ready dicts (money as decimal strings) in a stable order, and pages by keyset: a
page is ``{"items": [...], "next": CURSOR | None}`` and ``after=CURSOR`` continues after
its last item, so pages stay right while the ledger keeps growing.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from adapters.database import Database
from adapters.event_store import EventStore
from adapters.vault import Vault
from events.program import Terms
from events.statement import PayoutRequested
from ledger.calendar import add_months
from ledger.partner import Partner
from ledger.privacy import FORGOTTEN
from ledger.status import partner_status
from projections.columns import from_minor, from_ts, ts
from projections.money import CLAWED_BACK, DEDUCTED, DUE, EARNED, PAID
from projections.queries import readable_profile, terms_on
from projections.runner import Tables

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
PARTNER_STATES = ("applied", "approved", "rejected", "terminated")
STATUSES = ("active", "at_risk", "locked")
# "pending" is what an admin's queue calls an application awaiting a decision.
PAYOUT_REQUESTED = PayoutRequested.TOPIC
APPLICATION_STATES = {"pending": "applied", "approved": "approved", "rejected": "rejected", "terminated": "terminated"}


class BadListing(ValueError):
    """A listing parameter that makes no sense; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next": self.next}


def every(fetch: Callable[[str | None], Page]) -> Iterator[dict[str, Any]]:
    """Every item of a listing, page after page: ``fetch(after)`` is the page after
    cursor ``after`` (None: the first page)."""
    after: str | None = None
    while True:
        page = fetch(after)
        yield from page.items
        if page.next is None:
            return
        after = page.next


def encode_cursor(key: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise BadListing("after", "not a cursor this listing returned") from None
    if not isinstance(key, list) or len(key) != width or not all(isinstance(k, str) for k in key):
        raise BadListing("after", "not a cursor this listing returned")
    return key


class Listings:
    def __init__(self, db: Database, store: EventStore, vault: Vault, t: Tables | None = None) -> None:
        self.db, self.store, self.vault = db, store, vault
        self.t = t or Tables()

    # -- partners --------------------------------------------------------------------

    def partners(
        self, *, status: str | None = None, level: str | None = None, program: str | None = None,
        state: str | None = None, on: datetime | None = None, q: str | None = None,
        limit: int = DEFAULT_LIMIT, after: str | None = None,
    ) -> Page:
        """Partners in id order, with state, level and status on ``on`` (default now).
        ``status`` (active, at_risk, locked) and ``level`` apply on ``on``; ``q`` finds
        partners whose id contains it (ids, not personal data, are searchable)."""
        _one_of("status", status, STATUSES)
        _one_of("state", state, PARTNER_STATES)
        limit = _limit(limit)
        on = on or datetime.now(UTC)
        when = ts(on)
        where, params = ["p.applied_at <= %s"], [when]
        if program:
            where.append("p.program_id = %s")
            params.append(program)
        if state:
            where.append("p.state = %s")
            params.append(state)
        if q:
            where.append("LOWER(p.partner_id) LIKE %s ESCAPE '\\'")
            params.append("%" + _like(q.lower()) + "%")
        if level:
            where.append(f"({self._level_on()}) = %s")
            params += [when, level]
        if status:  # status is derived, not stored: only approved partners have one
            where.append("p.state = 'approved'")
        sql = (
            f"SELECT p.partner_id, p.program_id, p.state, p.applied_at, ({self._level_on()})"
            f" FROM {self.t.partners} p WHERE {' AND '.join(where)} AND p.partner_id > %s ORDER BY p.partner_id LIMIT %s"
        )

        def chunk(cursor_key: str, size: int) -> list[Any]:
            return self.db.fetch_all(sql, (when, *params, cursor_key, size))

        start = decode_cursor(after, 1)[0] if after else ""
        if status is None:  # the look-ahead row only tells whether a next page exists
            rows = chunk(start, limit + 1)
            page = list(self._partner_items(rows[:limit], on))
            more = len(rows) > limit
            return Page(page, encode_cursor([page[-1]["partner_id"]]) if more and page else None)
        items: list[dict[str, Any]] = []
        exhausted = False
        while len(items) <= limit and not exhausted:
            rows = chunk(start, limit + 1)
            exhausted = len(rows) <= limit
            for item in self._partner_items(rows, on):
                if item["status"] == status:
                    items.append(item)
            if rows:
                start = rows[-1][0]
        return _page(items, limit, lambda item: [item["partner_id"]])

    def _partner_items(self, rows: list[Any], on: datetime) -> Iterator[dict[str, Any]]:
        partners = self._partners([row[0] for row in rows])
        onboarded = self._onboarded([row[0] for row in rows], on)
        programs: dict[str, Terms] = {}  # one page's programs: their terms on ``on``
        for partner_id, program_id, state, applied_at, level in rows:
            partner = partners[partner_id]
            status = self._status(partner, programs, onboarded.get(partner_id, []), on)
            yield {
                "partner_id": partner_id,
                "program_id": program_id,
                "state": state,
                "level": level,
                "status": status,
                "company": readable_profile(self.vault, partner, ("company",)).get("company"),
                "applied_at": from_ts(applied_at).isoformat(),
                "approved_at": partner.approved_at.isoformat() if partner.approved_at else None,
                "terminated_at": partner.terminated_at.isoformat() if partner.terminated_at else None,
            }

    def _status(self, partner: Partner, programs: dict[str, Terms], onboarded: list[datetime], on: datetime) -> str | None:
        if partner.state != "approved" or partner.approved_at is None or partner.approved_at > on:
            return None
        if partner.program_id not in programs:
            programs[partner.program_id] = terms_on(self.db, self.t, partner.program_id, on)
        terms = programs[partner.program_id].status
        return partner_status(
            on=on, approved_at=partner.approved_at, onboarded=onboarded, terms=terms,
            active_until=partner.active_until.at(on),
        ).status

    # -- applications ----------------------------------------------------------------

    def applications(
        self, *, state: str | None = "pending", program: str | None = None,
        limit: int = DEFAULT_LIMIT, after: str | None = None,
    ) -> Page:
        """Applications oldest first (a review queue): ``state`` pending (the default),
        approved, rejected or terminated; None for every application."""
        _one_of("state", state, tuple(APPLICATION_STATES))
        limit = _limit(limit)
        where, params = [], []
        if state:
            where.append("state = %s")
            params.append(APPLICATION_STATES[state])
        if program:
            where.append("program_id = %s")
            params.append(program)
        start = decode_cursor(after, 2) if after else ["", ""]
        where.append("(applied_at > %s OR (applied_at = %s AND partner_id > %s))")
        params += [start[0], start[0], start[1]]
        rows = self.db.fetch_all(
            f"SELECT partner_id, program_id, state, applied_at FROM {self.t.partners} WHERE {' AND '.join(where)}"
            " ORDER BY applied_at, partner_id LIMIT %s",
            (*params, limit + 1),
        )
        partners = self._partners([row[0] for row in rows])
        items = []
        for partner_id, program_id, stored_state, applied_at in rows:
            profile = partners[partner_id].profile
            company = readable_profile(self.vault, partners[partner_id], ("company",)).get("company")
            items.append({
                "partner_id": partner_id,
                "program_id": program_id,
                "state": "pending" if stored_state == "applied" else stored_state,
                "applied_at": from_ts(applied_at).isoformat(),
                "company": company,
                "country": profile.country if profile else None,
                "business_type": profile.business_type if profile else None,
                "team_size": profile.team_size if profile else None,
                "client_count": profile.client_count if profile else None,
                "_key": [applied_at, partner_id],
            })
        return _page(items, limit, lambda item: item.pop("_key"), strip="_key")

    # -- statements ------------------------------------------------------------------

    def statements(
        self, *, period: str, program: str | None = None, limit: int = DEFAULT_LIMIT, after: str | None = None,
    ) -> Page:
        """A month's issued statements (totals, not lines) by program, partner and currency."""
        if not _is_period(period):
            raise BadListing("period", f"{period!r} is not a month (YYYY-MM)")
        limit = _limit(limit)
        where, params = ["period = %s"], [period]
        if program:
            where.append("program_id = %s")
            params.append(program)
        start = decode_cursor(after, 1)[0] if after else ""
        rows = self.db.fetch_all(
            f"SELECT statement_id, program_id, partner_id, currency, document FROM {self.t.statements}"
            f" WHERE {' AND '.join(where)} AND statement_id > %s ORDER BY statement_id LIMIT %s",
            (*params, start, limit + 1),
        )
        items = []
        for statement_id, program_id, partner_id, currency, document in rows:
            figures = json.loads(document)
            items.append({
                "statement_id": statement_id, "program_id": program_id, "partner_id": partner_id,
                "period": period, "currency": currency, "opening": figures["opening"],
                "lines": len(figures["lines"]), "closing": figures["closing"], "due": figures["due"],
                "carried_forward_because": figures.get("carried_forward_because", []),
                "issued_at": figures["issued_at"],
            })
        return _page(items, limit, lambda item: [item["statement_id"]])

    # -- payouts due -----------------------------------------------------------------

    def payouts_due(self, *, program: str | None = None, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page:
        """Every partner and currency with an amount due now (the latest statement's due
        less payouts since), with the statement to pay it against."""
        limit = _limit(limit)
        where, params = [f"b.bucket = '{DUE}' AND b.amount_minor > 0"], []
        if program:
            where.append("p.program_id = %s")
            params.append(program)
        start = decode_cursor(after, 2) if after else ["", ""]
        where.append("(b.partner_id > %s OR (b.partner_id = %s AND b.currency > %s))")
        params += [start[0], start[0], start[1]]
        rows = self.db.fetch_all(
            "SELECT b.partner_id, p.program_id, b.currency, b.amount_minor,"
            f" (SELECT s.statement_id FROM {self.t.statements} s WHERE s.partner_id = b.partner_id"
            " AND s.currency = b.currency ORDER BY s.position DESC LIMIT 1)"
            f" FROM {self.t.balances} b JOIN {self.t.partners} p ON p.partner_id = b.partner_id"
            f" WHERE {' AND '.join(where)} ORDER BY b.partner_id, b.currency LIMIT %s",
            (*params, limit + 1),
        )
        items = [
            {"partner_id": partner_id, "program_id": program_id, "currency": currency,
             "due": str(from_minor(units, currency)), "statement_ids": [statement_id]}
            for partner_id, program_id, currency, units, statement_id in rows
        ]
        return _page(items, limit, lambda item: [item["partner_id"], item["currency"]])

    # -- holds -----------------------------------------------------------------------

    def holds(
        self, *, program: str | None = None, partner: str | None = None, limit: int = DEFAULT_LIMIT, after: str | None = None,
    ) -> Page:
        """Commission on hold for review (a self-referral), oldest first, until an admin
        releases or voids it (``review_commission``)."""
        limit = _limit(limit)
        where, params = [], []
        if program:
            where.append("p.program_id = %s")
            params.append(program)
        if partner:
            where.append("h.partner_id = %s")
            params.append(partner)
        start = decode_cursor(after, 2) if after else ["", ""]
        where.append("(h.since > %s OR (h.since = %s AND h.payment_id > %s))")
        params += [start[0], start[0], start[1]]
        rows = self.db.fetch_all(
            "SELECT h.payment_id, h.partner_id, p.program_id, h.customer_id, h.currency, h.amount_minor, h.since, h.reason"
            f" FROM {self.t.holds} h JOIN {self.t.partners} p ON p.partner_id = h.partner_id"
            f" WHERE {' AND '.join(where)} ORDER BY h.since, h.payment_id LIMIT %s",
            (*params, limit + 1),
        )
        items = [
            {"partner_id": partner_id, "program_id": program_id, "customer_id": customer_id, "payment_id": payment_id,
             "currency": currency, "amount": str(from_minor(units, currency)), "since": from_ts(since).isoformat(),
             "reason": reason, "_key": [since, payment_id]}
            for payment_id, partner_id, program_id, customer_id, currency, units, since, reason in rows
        ]
        return _page(items, limit, lambda item: item.pop("_key"), strip="_key")

    # -- a partner's customers -------------------------------------------------------

    def customers(self, *, partner: str, limit: int = DEFAULT_LIMIT, after: str | None = None) -> Page:
        """The customers attributed to a partner, in the order they were attributed:
        referred or resold, and qualified (onboarded: signed up and attributed) or not
        yet. Ids only, no personal data."""
        limit = _limit(limit)
        start = decode_cursor(after, 2) if after else ["", ""]
        rows = self.db.fetch_all(
            "SELECT customer_id, channel, signed_up_at, attributed_at, onboarded_at, do_not_contact"
            f" FROM {self.t.customers} WHERE partner_id = %s AND attributed_at IS NOT NULL"
            " AND (attributed_at > %s OR (attributed_at = %s AND customer_id > %s))"
            " ORDER BY attributed_at, customer_id LIMIT %s",
            (partner, start[0], start[0], start[1], limit + 1),
        )
        items = [
            {"customer_id": customer_id, "channel": channel, "kind": "resold" if channel == "resell" else "referred",
             "signed_up_at": _iso(signed_up_at), "attributed_at": _iso(attributed_at), "onboarded_at": _iso(onboarded_at),
             "qualified": onboarded_at is not None, "do_not_contact": bool(do_not_contact), "_key": [attributed_at, customer_id]}
            for customer_id, channel, signed_up_at, attributed_at, onboarded_at, do_not_contact in rows
        ]
        self._add_earnings(partner, items[:limit])
        return _page(items, limit, lambda item: item.pop("_key"), strip="_key")

    def _add_earnings(self, partner_id: str, items: list[dict[str, Any]]) -> None:
        """Per customer: per currency its commissionable ``revenue`` and the ``commission``
        it earned the partner (earned less clawed back and costs deducted), and
        ``commission_until``: when its commission period ends (its first payment plus the
        partner's level's period today; null: for life, or no payment yet)."""
        ids = [item["customer_id"] for item in items]
        if not ids:
            return
        marks = ", ".join("%s" for _ in ids)
        revenue = self.db.fetch_all(
            f"SELECT customer_id, currency, SUM(base_minor) FROM {self.t.line_details}"
            f" WHERE partner_id = %s AND source = 'payment' AND customer_id IN ({marks}) GROUP BY customer_id, currency",
            (partner_id, *ids),
        )
        commission = self.db.fetch_all(
            "SELECT COALESCE(pay.customer_id, cost.customer_id), l.currency, SUM(CASE WHEN l.bucket = %s"
            " THEN l.amount_minor ELSE -l.amount_minor END)"
            f" FROM {self.t.lines} l LEFT JOIN {self.t.line_details} pay ON pay.source_id = l.payment_id AND pay.source = 'payment'"
            f" LEFT JOIN {self.t.line_details} cost ON cost.source_id = l.source_id AND cost.source = 'cost'"
            f" WHERE l.partner_id = %s AND l.bucket IN (%s, %s, %s) AND COALESCE(pay.customer_id, cost.customer_id) IN ({marks})"
            " GROUP BY COALESCE(pay.customer_id, cost.customer_id), l.currency",
            (EARNED, partner_id, EARNED, CLAWED_BACK, DEDUCTED, *ids),
        )
        first_paid = dict(self.db.fetch_all(f"SELECT customer_id, paid_at FROM {self.t.first_paid} WHERE customer_id IN ({marks})",
                                            tuple(ids)))
        months = self._period_months(partner_id)
        figures: dict[str, dict[str, dict[str, str]]] = {}
        for customer_id, currency, units in revenue:
            figures.setdefault(customer_id, {}).setdefault(currency, {})["revenue"] = str(from_minor(units, currency))
        for customer_id, currency, units in commission:
            figures.setdefault(customer_id, {}).setdefault(currency, {})["commission"] = str(from_minor(units, currency))
        for item in items:
            earned = figures.get(item["customer_id"], {})
            item["earnings"] = {c: {name: f.get(name, str(from_minor(0, c))) for name in ("revenue", "commission")}
                                for c, f in sorted(earned.items())}
            paid = first_paid.get(item["customer_id"])
            ends = add_months(from_ts(paid), months) if paid and months and item["channel"] != "resell" else None
            item["first_paid_at"] = _iso(paid)
            item["commission_until"] = ends.isoformat() if ends else None

    def _period_months(self, partner_id: str) -> int | None:
        """The commission period of the partner's level today, in months (None: for life)."""
        now = datetime.now(UTC)
        rows = self.db.fetch_all(
            f"SELECT l.level, p.program_id FROM {self.t.partner_levels} l JOIN {self.t.partners} p ON p.partner_id = l.partner_id"
            " WHERE l.partner_id = %s AND l.effective_at <= %s ORDER BY l.effective_at DESC, l.position DESC LIMIT 1",
            (partner_id, ts(now)),
        )
        if not rows:
            return None
        [(level, program_id)] = rows
        levels = terms_on(self.db, self.t, program_id, now).levels
        return levels[level].period_months if level in levels else None

    # -- payout requests -------------------------------------------------------------

    def payout_requests(
        self, *, program: str | None = None, partner: str | None = None, limit: int = DEFAULT_LIMIT, after: str | None = None,
    ) -> Page:
        """Partners' open payout requests, oldest first (finance's queue; with ``partner``,
        one partner's): a request is open until a payout is recorded for that partner
        and currency after it."""
        limit = _limit(limit)
        where, params = [f"a.event_type = '{PAYOUT_REQUESTED}'"], []
        if program:
            where.append("p.program_id = %s")
            params.append(program)
        if partner:
            where.append("a.partner_id = %s")
            params.append(partner)
        position = int(decode_cursor(after, 1)[0]) if after else 0
        items: list[dict[str, Any]] = []
        while len(items) <= limit:
            rows = self.db.fetch_all(
                f"SELECT a.position, a.partner_id, p.program_id, a.effective_at, a.details FROM {self.t.audit} a"
                f" JOIN {self.t.partners} p ON p.partner_id = a.partner_id WHERE {' AND '.join(where)} AND a.position > %s"
                " ORDER BY a.position LIMIT %s",
                (*params, position, limit + 1),
            )
            paid = self._last_payouts({row[1] for row in rows})
            for request_position, partner_id, program_id, requested_at, details in rows:
                request = json.loads(details)
                if paid.get((partner_id, request["currency"]), 0) < int(request_position):
                    items.append({
                        "partner_id": partner_id, "program_id": program_id, "currency": request["currency"],
                        "amount": request["amount"], "statement_id": request["statement_id"],
                        "requested_at": from_ts(requested_at).isoformat(), "position": int(request_position),
                    })
            if len(rows) <= limit:
                break
            position = int(rows[-1][0])
        return _page(items, limit, lambda item: [str(item["position"])])

    def _last_payouts(self, partner_ids: set[str]) -> dict[tuple[str, str], int]:
        """(partner, currency) -> the log position of its latest payout."""
        if not partner_ids:
            return {}
        marks = ", ".join("%s" for _ in partner_ids)
        rows = self.db.fetch_all(
            f"SELECT partner_id, currency, MAX(position) FROM {self.t.lines} WHERE bucket = '{PAID}'"
            f" AND partner_id IN ({marks}) GROUP BY partner_id, currency",
            tuple(sorted(partner_ids)),
        )
        return {(partner_id, currency): int(last) for partner_id, currency, last in rows}

    # -- a month's totals (the finance console) --------------------------------------

    def statement_totals(self, *, period: str, program: str | None = None) -> dict[str, dict[str, Any]]:
        """A month's issued statements added up per currency: how many, and the sums of
        their opening, closing and due (what the month's statements CSV adds up to)."""
        if not _is_period(period):
            raise BadListing("period", f"{period!r} is not a month (YYYY-MM)")
        where, params = ["period = %s"], [period]
        if program:
            where.append("program_id = %s")
            params.append(program)
        rows = self.db.fetch_all(f"SELECT currency, document FROM {self.t.statements} WHERE {' AND '.join(where)}", params)
        sums: dict[str, dict[str, Any]] = {}
        for currency, document in rows:
            figures = json.loads(document)
            total = sums.setdefault(currency, {"statements": 0, "opening": Decimal(0), "closing": Decimal(0), "due": Decimal(0)})
            total["statements"] += 1
            for figure in ("opening", "closing", "due"):
                total[figure] += Decimal(figures[figure])
        return {
            currency: {name: value if name == "statements" else str(value) for name, value in total.items()}
            for currency, total in sorted(sums.items())
        }

    def payouts_due_totals(self, *, program: str | None = None) -> dict[str, dict[str, Any]]:
        """Everything due now added up per currency: how many partners, and how much
        (the sum of ``payouts_due``'s rows over every page)."""
        where, params = [f"b.bucket = '{DUE}' AND b.amount_minor > 0"], []
        if program:
            where.append("p.program_id = %s")
            params.append(program)
        rows = self.db.fetch_all(
            f"SELECT b.currency, COUNT(*), SUM(b.amount_minor) FROM {self.t.balances} b"
            f" JOIN {self.t.partners} p ON p.partner_id = b.partner_id WHERE {' AND '.join(where)}"
            " GROUP BY b.currency ORDER BY b.currency",
            params,
        )
        return {currency: {"partners": int(count), "due": str(from_minor(units, currency))} for currency, count, units in rows}

    def payees(self, partner_ids: list[str], on: datetime | None = None) -> dict[str, dict[str, Any] | None]:
        """How each partner is paid, for one page of payouts in one read: the method, the
        masked account, the account holder, and why it cannot be paid now (``blocked``:
        no payout details, or no tax form while its program asks for one), or None for a
        partner the ledger does not know. The full account stays sealed: see
        ``payout_accounts``."""
        on = on or datetime.now(UTC)
        partners = self._partners(sorted(set(partner_ids)))
        terms: dict[str, Terms] = {}
        found: dict[str, dict[str, Any] | None] = {}
        for partner_id, partner in partners.items():
            if partner is None:
                found[partner_id] = None
                continue
            if partner.program_id not in terms:
                terms[partner.program_id] = terms_on(self.db, self.t, partner.program_id, on)
            blocked = []
            if not partner.payout_method:
                blocked.append("no payout details on file")
            if terms[partner.program_id].payout.requires_tax_form and partner.tax_form is None:
                blocked.append("no tax form on file")
            found[partner_id] = {
                "method": partner.payout_method, "account": partner.payout_account_masked, "bic": partner.payout_bic,
                "holder": self._holder(partner), "blocked": "; ".join(blocked) or None,
            }
        return found

    def _holder(self, partner: Partner) -> str | None:
        """Who the account is paid to: the legal name on the partner's tax form, else its
        company (payout details name no holder of their own)."""
        legal_name = None if partner.forgotten else self.vault.unseal(partner.tax_legal_name)
        return legal_name or readable_profile(self.vault, partner, ("company",)).get("company")

    def payout_accounts(self, partner_ids: list[str]) -> dict[str, str]:
        """Each partner's full payout account, unsealed (``[forgotten]`` once forgotten).
        Personal data: the consoles record a ``reveal_payout_account`` before showing one."""
        partners = self._partners(sorted(set(partner_ids)))
        return {
            partner_id: FORGOTTEN if partner.forgotten else (self.vault.unseal(partner.payout_account) or "")
            for partner_id, partner in partners.items() if partner is not None and partner.payout_account
        }

    # -- helpers ---------------------------------------------------------------------

    def _level_on(self) -> str:
        """SQL for the level of partner ``p`` on a date (one ``%s``): the latest change effective by then."""
        return (
            f"SELECT l.level FROM {self.t.partner_levels} l WHERE l.partner_id = p.partner_id"
            " AND l.effective_at <= %s ORDER BY l.effective_at DESC, l.position DESC LIMIT 1"
        )

    def _partners(self, partner_ids: list[str]) -> dict[str, Partner]:
        """The aggregates of one page of partners, in one read."""
        events = self.store.load_many([Partner.id_for(partner_id) for partner_id in partner_ids])
        partners = {}
        for partner_id in partner_ids:
            aggregate: Any = None
            for envelope in events.get(Partner.id_for(partner_id), []):
                aggregate = envelope.mutate(aggregate)
            partners[partner_id] = aggregate
        return partners

    def _onboarded(self, partner_ids: list[str], on: datetime) -> dict[str, list[datetime]]:
        if not partner_ids:
            return {}
        marks = ", ".join("%s" for _ in partner_ids)
        rows = self.db.fetch_all(
            f"SELECT partner_id, onboarded_at FROM {self.t.customers}"
            f" WHERE partner_id IN ({marks}) AND onboarded_at IS NOT NULL AND onboarded_at <= %s",
            (*partner_ids, ts(on)),
        )
        found: dict[str, list[datetime]] = {}
        for partner_id, onboarded_at in rows:
            found.setdefault(partner_id, []).append(from_ts(onboarded_at))
        return found


def _page(items: list[dict[str, Any]], limit: int, key: Any, strip: str | None = None) -> Page:
    more = len(items) > limit
    items = items[:limit]
    cursor = encode_cursor(key(dict(items[-1]))) if more and items else None
    if strip:
        for item in items:
            item.pop(strip, None)
    return Page(items, cursor)


def _iso(stored: str | None) -> str | None:
    return from_ts(stored).isoformat() if stored else None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise BadListing("limit", f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _one_of(field: str, value: str | None, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise BadListing(field, f"{value!r} is not one of {', '.join(allowed)}")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _is_period(period: str) -> bool:
    try:
        datetime.strptime(period, "%Y-%m")
    except ValueError:
        return False
    return len(period) == 7


__all__ = ["BadListing", "Listings", "Page"]
