"""Read queries: each figure derived in exactly one place, with ``as_of`` (business
time) and ``known_at`` (recorded time) honoured everywhere."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, NotRequired, cast

from pydantic import Field
from typing_extensions import TypedDict  # pydantic reads typing's TypedDict only from Python 3.12

from adapters.database import Database
from adapters.event_store import EventStore
from adapters.vault import Vault
from events.partner import Profile
from events.program import Terms
from events.revenue import PaymentRecorded
from ledger.calendar import as_utc, month_end, months_ended, next_period, period_of
from ledger.money import round_money
from ledger.partner import Partner
from ledger.policy import effective_rate
from ledger.privacy import FORGOTTEN
from ledger.program import Program
from ledger.referral import shown_code
from ledger.status import partner_status
from projections.addresses_view import partners_at
from projections.columns import FAR_FUTURE, from_minor, from_ts, ts
from projections.line_details_view import SOURCE_OF_KIND
from projections.money import ADJUSTED, CLAWED_BACK, DEDUCTED, DISCOUNT, DUE, EARNED, PAID
from projections.runner import Tables


class NotFound(LookupError):
    """Something asked for does not exist; ``field`` names the parameter that named it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# -- the documents queries return ------------------------------------------------------
# Typed dicts: callers read them as the dicts they are (the CLI prints them as JSON), and
# FastAPI takes them as ``response_model`` (pydantic validates and documents them). Each
# declares its keys in the order the HTTP API has always written them.


class BalanceFigures(TypedDict):
    earned: str
    clawed_back: str
    deducted: str
    adjusted: str
    lifetime_commission: str
    paid: str
    balance: str
    due: str
    discount: str


class Balance(TypedDict):
    partner_id: str
    currencies: dict[str, BalanceFigures]


class Lock(TypedDict):
    until: str
    because: str
    in_force: bool


class Status(TypedDict):
    status: Annotated[str, Field(description="active, at_risk or locked")]
    onboarded_total: int
    onboarded_in_window: int
    locked_until: str | None
    average_per_year: str
    locks: Annotated[list[Lock], Field(description="every lock reached by the date, ended ones included")]
    target_per_year: Annotated[int | None, Field(description="null: the program sets no target")]
    window_months: int
    lock_threshold: int | None


class StatementLine(TypedDict):
    kind: str
    amount: str
    effective_at: str
    source_id: str
    customer_id: str | None
    payment_id: str | None
    base: Annotated[str | None, Field(description="what the commission or deduction was worked out on")]
    rate: str | None


class Statement(TypedDict):
    statement_id: str
    partner_id: str
    period: str
    currency: str
    issued_at: str
    opening: str
    lines: list[StatementLine]
    closing: str
    due: str
    carried_forward_because: NotRequired[Annotated[list[str], Field(description="why nothing is due, when nothing is")]]


class MoneyEffect(TypedDict):
    bucket: str
    kind: str
    amount: str
    currency: str


class AuditEntry(TypedDict):
    position: int
    type: str
    effective_at: str
    recorded_at: str
    actor: str
    source: str
    money: list[MoneyEffect]
    event_id: str
    partner_id: str | None
    customer_id: str | None
    correlation_id: str | None
    details: Annotated[dict[str, Any], Field(description="the event's public fields, as on Kafka")]
    what: Annotated[str, Field(description="the event in words, with the figures it recorded")]
    reason: str | None


class Queries:
    def __init__(self, db: Database, store: EventStore, vault: Vault, t: Tables | None = None) -> None:
        self.db, self.store, self.vault = db, store, vault
        self.t = t or Tables()

    def _partner(self, partner_id: str, known_at: datetime | None) -> tuple[Partner, Program]:
        partner = self.store.load(Partner, partner_id, known_at)
        if partner is None:
            raise NotFound(f"partner {partner_id!r} does not exist", "partner_id")
        program = self.store.load(Program, partner.program_id, known_at)
        assert program is not None
        return partner, program

    # -- balance ---------------------------------------------------------------------

    def balance(self, partner_id: str, as_of: datetime | None = None, known_at: datetime | None = None) -> Balance:
        if as_of is None and known_at is None:
            return self._current_balance(partner_id)
        rows = self.db.fetch_all(
            f"SELECT currency, bucket, SUM(amount_minor) FROM {self.t.lines}"
            " WHERE partner_id = %s AND effective_at <= %s AND recorded_at <= %s GROUP BY currency, bucket",
            (partner_id, _bound(as_of), _bound(known_at)),
        )
        if not rows:
            self.known_partner(partner_id, known_at)
        rows += [(currency, DUE, due) for currency, due in self._due(partner_id, as_of, known_at).items()]
        return balance_document(partner_id, rows)

    def _current_balance(self, partner_id: str) -> Balance:
        """Now, as far as the ledger knows: the running totals, one indexed read."""
        rows = self.db.fetch_all(f"SELECT currency, bucket, amount_minor FROM {self.t.balances} WHERE partner_id = %s", (partner_id,))
        if not rows:
            self.known_partner(partner_id, None)
        return balance_document(partner_id, rows)

    def known_partner(self, partner_id: str, known_at: datetime | None = None) -> None:
        """Not found unless the ledger knew the partner (at ``known_at``): one indexed read."""
        if not self.db.fetch_all(f"SELECT 1 FROM {self.t.partners} WHERE partner_id = %s AND applied_known <= %s",
                          (partner_id, _bound(known_at))):
            raise NotFound(f"partner {partner_id!r} does not exist", "partner_id")

    def _due(self, partner_id: str, as_of: datetime | None, known_at: datetime | None) -> dict[str, int]:
        """Per currency: the latest statement's amount due less payouts recorded since."""
        bounds = (_bound(as_of), _bound(known_at))
        latest = self.db.fetch_all(
            f"SELECT currency, position, due_minor FROM {self.t.statements} s WHERE partner_id = %s"
            " AND effective_at <= %s AND recorded_at <= %s AND position = (SELECT MAX(position)"
            f" FROM {self.t.statements} WHERE partner_id = s.partner_id AND currency = s.currency"
            " AND effective_at <= %s AND recorded_at <= %s)",
            (partner_id, *bounds, *bounds),
        )
        due = {}
        for currency, position, due_minor in latest:
            # A release after the statement made its carried-forward balance due.
            released = self.db.fetch_all(
                f"SELECT r.position, r.due_minor FROM {self.t.statement_releases} r JOIN {self.t.statements} s"
                " ON s.statement_id = r.statement_id WHERE s.position = %s AND r.effective_at <= %s AND r.recorded_at <= %s"
                " ORDER BY r.position DESC LIMIT 1",
                (position, *bounds),
            )
            if released:
                [(position, due_minor)] = released
            [(paid,)] = self.db.fetch_all(
                f"SELECT COALESCE(SUM(amount_minor), 0) FROM {self.t.lines} WHERE partner_id = %s AND currency = %s"
                f" AND bucket = '{PAID}' AND position > %s AND effective_at <= %s AND recorded_at <= %s",
                (partner_id, currency, position, *bounds),
            )
            due[currency] = int(due_minor) - int(paid)
        return due

    # -- statements ------------------------------------------------------------------

    def statements(
        self, partner_id: str, period: str, as_of: datetime | None = None, known_at: datetime | None = None
    ) -> list[Statement]:
        self.known_partner(partner_id, known_at)
        rows = self.db.fetch_all(
            f"SELECT document FROM {self.t.statements} WHERE partner_id = %s AND period = %s"
            " AND effective_at <= %s AND recorded_at <= %s ORDER BY currency",
            (partner_id, period, _bound(as_of), _bound(known_at)),
        )
        return self._with_line_details([json.loads(row[0]) for row in rows])

    def _with_line_details(self, documents: list[dict[str, Any]]) -> list[Statement]:
        """Each statement line with what it is about: ``customer_id``, ``payment_id``, the
        ``base`` it was earned on and the ``rate`` (null where a line has none: an
        adjustment; a reversal's or void's base)."""
        wanted = sorted({(line["source_id"], SOURCE_OF_KIND[line["kind"]]) for d in documents for line in d["lines"]
                         if line["kind"] in SOURCE_OF_KIND})
        details: dict[tuple[str, str], tuple[Any, ...]] = {}
        for start in range(0, len(wanted), 300):
            chunk = wanted[start:start + 300]
            rows = self.db.fetch_all(
                "SELECT d.source_id, d.source, COALESCE(d.payment_id, p.payment_id), COALESCE(d.customer_id, p.customer_id),"
                " d.currency, d.base_minor, COALESCE(d.rate, p.rate)"
                f" FROM {self.t.line_details} d LEFT JOIN {self.t.line_details} p"
                " ON p.source_id = d.payment_id AND p.source = 'payment' AND d.source = 'reversal'"
                f" WHERE {' OR '.join('(d.source_id = %s AND d.source = %s)' for _ in chunk)}",
                tuple(value for pair in chunk for value in pair),
            )
            details.update(((row[0], row[1]), row[2:]) for row in rows)
        for document in documents:
            for line in document["lines"]:
                payment_id, customer_id, currency, base, rate = details.get(
                    (line["source_id"], SOURCE_OF_KIND.get(line["kind"], "")), (None, None, None, None, None))
                shows_base = line["kind"] in ("commission", "cost_deduction") and base is not None
                line.update(customer_id=customer_id, payment_id=payment_id,
                            base=str(from_minor(base, currency)) if shows_base else None, rate=rate)
        return cast(list[Statement], documents)  # the stored documents, their lines now complete

    # -- status ----------------------------------------------------------------------

    def status(self, partner_id: str, on: datetime | None = None, known_at: datetime | None = None) -> Status:
        on = on or datetime.now(UTC)
        partner = self.store.load(Partner, partner_id, known_at)
        if partner is None:
            raise NotFound(f"partner {partner_id!r} does not exist")
        # The customers' onboarding dates and the program's terms in one statement: a
        # status is two round trips to the database (the partner's events, this).
        rows = self.db.fetch_all(
            f"SELECT 0, onboarded_at, 0, NULL FROM {self.t.customers}"
            " WHERE partner_id = %s AND onboarded_at IS NOT NULL AND onboarded_known <= %s"
            f" UNION ALL SELECT 1, effective_at, position, terms FROM {self.t.program_terms}"
            " WHERE program_id = %s AND recorded_at <= %s ORDER BY 1, 2, 3",
            (partner_id, _bound(known_at), partner.program_id, _bound(known_at)),
        )
        terms = [row[1:] for row in rows if row[0] == 1]
        status = partner_status(
            on=on,
            approved_at=partner.approved_at,
            onboarded=[from_ts(row[1]) for row in rows if row[0] == 0],
            terms=_terms_in_force(partner.program_id, terms, on).status,
            active_until=partner.active_until.at(on),
        )
        return cast(Status, status.as_dict())  # the domain's figures, as the documents say them

    def terms(self, program_id: str, on: datetime | None = None, known_at: datetime | None = None) -> dict[str, Any]:
        """A program's terms in force on ``on`` (default now), as JSON: what a partner's
        status, payouts and duties are measured against."""
        return terms_on(self.db, self.t, program_id, on or datetime.now(UTC), known_at).model_dump(mode="json")

    # -- payouts ---------------------------------------------------------------------

    def payouts(self, partner_id: str, limit: int = 24) -> list[dict[str, Any]]:
        """The payouts recorded to a partner, newest first (at most ``limit``)."""
        rows = self.db.fetch_all(
            f"SELECT source_id, currency, amount_minor, effective_at FROM {self.t.lines}"
            f" WHERE partner_id = %s AND bucket = '{PAID}' ORDER BY effective_at DESC, position DESC LIMIT %s",
            (partner_id, limit),
        )
        return [
            {"payout_id": payout_id, "currency": currency, "amount": str(from_minor(units, currency)),
             "paid_at": from_ts(effective_at).isoformat()}
            for payout_id, currency, units, effective_at in rows
        ]

    # -- partner ---------------------------------------------------------------------

    def partner(self, partner_id: str, known_at: datetime | None = None, *, with_code: bool = False) -> dict[str, Any]:
        """The partner's record; its private code only ``with_code`` (admins and the partner itself)."""
        now = datetime.now(UTC)
        partner, program = self._partner(partner_id, known_at)
        rate = effective_rate(partner, program, now) if partner.is_approved else None
        earns_promo = rate is not None and partner.promo_rate is not None and partner.rate_override_on(now) is None
        profile = readable_profile(self.vault, partner)
        if profile:
            profile["contact_email"] = _mask_email(profile["contact_email"])
        return {
            "partner_id": partner_id,
            "program_id": partner.program_id,
            "state": partner.state,
            "level": partner.level_on(now),
            "rate": None if rate is None else str(rate),
            "promo": partner.promo_rate is not None,
            # The promo rate only while the partner earns it (an admin's own rate overrides it).
            "promo_rate": str(partner.promo_rate) if earns_promo else None,
            "tax_form": partner.tax_form,
            "training_completed": partner.training_completed_at is not None,
            "meetings": {
                "year": now.year,
                "held": partner.meetings_in_year(now.year),
                "required": program.terms_on(now).status.meetings_per_year,
            },
            "tax_form_details": _tax_form_details(self.vault, partner),
            "payout_method": (
                {"method": partner.payout_method, "account": partner.payout_account_masked, "bic": partner.payout_bic}
                if partner.payout_method else None
            ),
            "terminated_at": partner.terminated_at.isoformat() if partner.terminated_at else None,
            "termination_reason": partner.termination_reason,
            "profile": profile,
            "referral_link": partner.referral_link,
            "notices": partner.notices,
        } | ({"partner_code": partner_code(self.vault, partner)} if with_code else {})

    def contact_email(self, partner_id: str) -> str | None:
        """The partner's contact e-mail in full (documents mask it): only for the admin
        who must send a newly approved partner its invite link. None once forgotten."""
        partner, _ = self._partner(partner_id, None)
        email = readable_profile(self.vault, partner, ("contact_email",)).get("contact_email")
        return None if partner.forgotten or email is None else str(email)

    def partners_reached_at(self, email: str) -> list[str]:
        """The partners whose contact address this is (case and spaces ignored)."""
        return partners_at(self.db, self.t, self.vault.fingerprint(email))

    # -- resale ----------------------------------------------------------------------

    def resale(self, partner_id: str, on: datetime | None = None) -> dict[str, Any]:
        """A reseller's month by month resale: its resold customers' payments, the margin
        it kept (its discount) and the wholesale it owes. A month's report is those
        payments; from the month its first customer was resold to the last month ended
        by ``on``, a month without one is ``not_reported`` (not "nothing owed")."""
        on = on or datetime.now(UTC)
        self.known_partner(partner_id, None)
        [(first,)] = self.db.fetch_all(
            f"SELECT MIN(attributed_at) FROM {self.t.customers} WHERE partner_id = %s AND channel = 'resell'", (partner_id,)
        )
        figures: dict[str, dict[str, dict[str, Any]]] = {}
        rows = self.db.fetch_all(
            f"SELECT effective_at, details FROM {self.t.audit} WHERE partner_id = %s AND event_type = %s"
            " AND effective_at <= %s ORDER BY position",
            (partner_id, PaymentRecorded.TOPIC, ts(on)),
        )
        for effective_at, details in rows:
            payment = json.loads(details)
            earning = payment["earning"]
            if earning["kind"] != "discount":
                continue
            month = figures.setdefault(effective_at[:7], {}).setdefault(
                payment["currency"], {"payments": 0, "list_price": Decimal(0), "margin": Decimal(0), "wholesale": Decimal(0)})
            month["payments"] += 1
            month["list_price"] += sum((Decimal(line["amount"]) for line in payment["lines"]), Decimal(0))
            month["margin"] += Decimal(earning["amount"])
            month["wholesale"] += Decimal(earning["wholesale"] or 0)
        months = []
        period = period_of(from_ts(first)) if first else None
        while period is not None and month_end(period) < on:
            reported = figures.get(period, {})
            months.append({
                "period": period,
                "state": "reported" if reported else "not_reported",
                "currencies": {c: {k: v if k == "payments" else str(v) for k, v in f.items()} for c, f in sorted(reported.items())},
            })
            period = next_period(period)
        return {"partner_id": partner_id, "months": months}

    # -- periods ---------------------------------------------------------------------

    def periods(self, program_id: str, known_at: datetime | None = None) -> dict[str, Any]:
        """A program's closed months (in order) and the next one to close. Before the
        first close, ``next`` is the program's first month (any ended month may be the
        first to close; later ones close strictly in order)."""
        program = self.store.load(Program, program_id, known_at)
        if program is None:
            raise NotFound(f"program {program_id!r} does not exist", "program_id")
        assert program.defined_at is not None
        next_month = program.next_period_to_close or period_of(program.defined_at)
        return {
            # Ended months waiting, oldest first: they close one after another, in order.
            "ready_to_close": months_ended(next_month, datetime.now(UTC)),
            "program_id": program_id,
            "closed": [
                {"period": c.period, "closed_at": c.closed_at.isoformat(), "statements": c.statements}
                for c in program.closed_periods
            ],
            "last_closed": program.last_closed_period,
            "next": next_month,
            "next_can_close_after": month_end(next_month).isoformat(),
        }

    # -- audit -----------------------------------------------------------------------

    def audit(
        self, *, partner_id: str | None = None, customer_id: str | None = None,
        as_of: datetime | None = None, known_at: datetime | None = None,
    ) -> list[AuditEntry]:
        column, key = ("partner_id", partner_id) if partner_id else ("customer_id", customer_id)
        rows = self.db.fetch_all(
            "SELECT position, event_id, event_type, partner_id, customer_id, effective_at, recorded_at,"
            f" actor, source, correlation_id, money, details FROM {self.t.audit}"
            f" WHERE {column} = %s AND effective_at <= %s AND recorded_at <= %s ORDER BY position",
            (key, _bound(as_of), _bound(known_at)),
        )
        names = ("position", "event_id", "type", "partner_id", "customer_id", "effective_at",
                 "recorded_at", "actor", "source", "correlation_id", "money", "details")
        trail: list[AuditEntry] = []
        for row in rows:
            entry: Any = dict(zip(names, row, strict=True))
            entry["position"] = int(entry["position"])
            entry["money"], entry["details"] = json.loads(entry["money"]), json.loads(entry["details"])
            entry["what"] = what_happened(entry["type"], entry["details"])
            entry["reason"] = reason_given(entry["details"])
            trail.append(entry)
        return trail


# The id that names what an event is about, most specific first.
_SUBJECTS = ("statement_id", "payout_id", "reversal_id", "payment_id", "cost_id", "adjustment_id", "period",
             "customer_id", "partner_id", "program_id")


def what_happened(event_type: str, details: dict[str, Any]) -> str:
    """An audit line in words, with the figures it recorded: ``payment recorded pay1``,
    ``partner level changed p1 to Gold``, ``customer claimed c1 by p1 via link``."""
    noun, _, verb = event_type.partition(".")
    subject = next((str(details[key]) for key in _SUBJECTS if details.get(key)), "")
    said = f"{noun} {verb.replace('_', ' ')} {subject}".strip()
    figures = _FIGURES.get(event_type)
    extra = figures(details) if figures else ""
    return f"{said} {extra}".strip()


def _percent(rate: Any) -> str:
    return f"{(Decimal(str(rate)) * 100).normalize():f} %"


def _payout_figures(d: dict[str, Any]) -> str:
    return f"of {d.get('amount')} {d.get('currency')} against {', '.join(d.get('statement_ids') or [])}"


# What each kind of event adds to its line: the figures it recorded (never personal data:
# the details are the public fields, as on Kafka).
_FIGURES: dict[str, Any] = {
    "partner.level_changed": lambda d: f"to {d['level']}",
    "partner.application_approved": lambda d: f"at level {d.get('level')}" + (" (promo rate)" if d.get("promo") else ""),
    "partner.commission_rate_set":
        lambda d: f"to {_percent(d['rate'])}" if d.get("rate") is not None else "cleared: the level's rate applies",
    "partner.tax_form_submitted": lambda d: f"({d.get('form')}" + (f", {d['country']}" if d.get("country") else "")
    + (", signed PDF" if d.get("signed_form") else "") + ")",
    "partner.payout_details_set": lambda d: f"({d.get('method')}" + (f", BIC {d['bic']}" if d.get("bic") else "") + ")",
    "partner.profile_updated": lambda d: "(contact e-mail or website)",
    "statement.released": lambda d: f"due {d.get('due')} {d.get('currency')}",
    "partner.payout_account_revealed": lambda d: f"in the {d.get('shown_in')}",
    "partner.sign_in_link_issued":
        lambda d: f"(invite {d.get('invite_id')}, valid until {str(d.get('expires_at'))[:16].replace('T', ' ')} UTC)",
    "partner.active_until_set": lambda d: f"until {d['until']}" if d.get("until") else "cleared: the status follows the figures",
    "customer.claimed": lambda d: f"by {d.get('partner_id')} via {d.get('channel')}",
    "customer.claim_rejected": lambda d: f"by {d.get('partner_id')} via {d.get('channel')}",
    "payment.commission_reviewed": lambda d: f"{d.get('decision')}d" if d.get("decision") == "release" else "voided",
    "payout.recorded": _payout_figures,
    "payout.requested": lambda d: f"of {d['amount']} {d.get('currency')}" if d.get("amount") else f"of all due in {d.get('currency')}",
    "statement.issued": lambda d: f"closing {d.get('closing')} {d.get('currency')}, due {d.get('due')} {d.get('currency')}",
    "adjustment.recorded": lambda d: f"of {d.get('amount')} {d.get('currency')}",
}


def reason_given(details: dict[str, Any]) -> str | None:
    """Why it happened, as the event recorded it: an admin's reason, why a payment
    earned nothing or was held, why a statement carried its balance forward."""
    earning = details.get("earning") or {}
    reasons = [
        details.get("reason"), earning.get("reason"),
        f"on hold for review: {earning['hold_reason']}" if earning.get("hold_reason") else None,
        *details.get("carried_forward_because", []),
    ]
    return "; ".join(str(r) for r in reasons if r) or None


def terms_on(db: Database, t: Tables, program_id: str, on: datetime, known_at: datetime | None = None) -> Terms:
    """A program's terms in force on a date, as the ledger knew them at ``known_at``
    (default: all it knows), from read model ``program_terms``; before the first terms,
    the first terms. Two changes effective at once: the one recorded last."""
    rows = db.fetch_all(
        f"SELECT effective_at, position, terms FROM {t.program_terms}"
        " WHERE program_id = %s AND recorded_at <= %s ORDER BY effective_at, position",
        (program_id, _bound(known_at)),
    )
    return _terms_in_force(program_id, rows, on)


def _terms_in_force(program_id: str, rows: Sequence[Sequence[Any]], on: datetime) -> Terms:
    """Of a program's (effective_at, position, terms) rows in that order, the terms in
    force on ``on``: the last one effective by then, else the first."""
    if not rows:
        raise NotFound(f"program {program_id!r} has no terms")
    when = ts(as_utc(on))
    chosen = rows[0]
    for row in rows:
        if row[0] <= when:
            chosen = row
    return _parsed_terms(chosen[2])


@lru_cache(maxsize=1024)
def _parsed_terms(document: str) -> Terms:
    """Terms never change once recorded: parse each version once."""
    return Terms.model_validate_json(document)


def _bound(moment: datetime | None) -> str:
    return ts(as_utc(moment)) if moment is not None else FAR_FUTURE


def balance_document(partner_id: str, rows: list[Any]) -> Balance:
    """DESIGN.md's balance object from (currency, bucket, amount in minor units) rows."""
    sums: dict[str, dict[str, Decimal]] = {}
    for currency, bucket, units in rows:
        sums.setdefault(currency, {})[bucket] = from_minor(units, currency)
    return {"partner_id": partner_id, "currencies": {c: balance_figures(c, s) for c, s in sorted(sums.items())}}


def balance_figures(currency: str, sums: dict[str, Decimal]) -> BalanceFigures:
    def get(bucket: str) -> Decimal:
        return round_money(sums.get(bucket, Decimal(0)), currency)

    lifetime = get(EARNED) - get(CLAWED_BACK) - get(DEDUCTED) + get(ADJUSTED)
    return BalanceFigures(
        earned=str(get(EARNED)), clawed_back=str(get(CLAWED_BACK)), deducted=str(get(DEDUCTED)),
        adjusted=str(get(ADJUSTED)), lifetime_commission=str(lifetime), paid=str(get(PAID)),
        balance=str(lifetime - get(PAID)), due=str(get(DUE)), discount=str(get(DISCOUNT)),
    )


def readable_profile(vault: Vault, partner: Partner, fields: Iterable[str] = Profile.PERSONAL) -> dict[str, Any]:
    """A partner's profile with its personal ``fields`` (default: all of them) unsealed,
    or ``[forgotten]`` once the partner was forgotten (also for applications recorded
    before those fields were sealed, whose plain text the immutable log still holds).
    Each unsealed field is one key read: name only the fields shown. Personal fields
    not named stay sealed."""
    profile = partner.profile.model_dump() if partner.profile else {}
    for field in fields:
        if profile.get(field) is not None:
            profile[field] = FORGOTTEN if partner.forgotten else vault.unseal(profile[field])
    return profile


def _tax_form_details(vault: Vault, partner: Partner) -> dict[str, Any] | None:
    """The latest tax form as the partner handed it in, masked: the form, when, the
    legal name's initials, the country, the tax id's last digits, the signed file's size."""
    if partner.tax_form is None:
        return None
    assert partner.tax_form_handed_in_at is not None
    name = FORGOTTEN if partner.forgotten else vault.unseal(partner.tax_legal_name)
    signed = partner.signed_form
    return {
        "form": partner.tax_form, "handed_in_at": partner.tax_form_handed_in_at.isoformat(),
        "legal_name": _mask_name(name), "country": partner.tax_country, "tax_id": partner.tax_id_masked,
        "signed_form": {"media_type": signed.media_type, "size": signed.size} if signed else None,
    }


def _mask_name(name: str | None) -> str | None:
    """``Ada Lovelace`` -> ``A*** L***``: enough to recognise, not to copy."""
    if name is None or name == FORGOTTEN:
        return name
    return " ".join(f"{word[:1]}***" for word in name.split())


def _mask_email(email: str | None) -> str | None:
    if email is None or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def partner_code(vault: Vault, partner: Partner) -> str | None:
    """The partner's current code as it reads it out, or None (none issued; forgotten)."""
    code = vault.unseal(partner.partner_code)
    return None if code is None or code == FORGOTTEN else shown_code(code)
