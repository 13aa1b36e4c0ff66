"""A seeded, streaming generator of partner-program histories.

``generate(seed, size)`` yields command dicts (the JSONL of ``ledger apply``) in
effective-time order. Every command carries an explicit ``at``, and all randomness
comes from one ``random.Random(seed)`` consumed in a fixed order, so the same seed and
size always give byte-identical output.

It is a small discrete-event simulation: a heap of things due to happen (a partner's
application, a customer's next monthly payment, a refund two weeks after a payment,
a month-end close...). Handling one emits the commands dated at that moment and
schedules what follows from it. Memory is bounded by the number of partners and
live customers, never by the number of commands, so the ``M`` size streams in
constant memory.

The simulation keeps just enough of the ledger's rules in mind (who is approved,
who is attributed, which payments are held for review) that every command it
emits is accepted, except the ones meant to be refused: duplicate or late claims,
claims by rejected or terminated partners, leads from untrained partners once the
program requires training (all ``claim_rejected``).
"""

from __future__ import annotations

import calendar
import heapq
import json
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schwifty import IBAN

Command = dict[str, Any]

MINUTE = 60
HOUR = 3_600
DAY = 86_400
MONTH = 30.44 * DAY
# The demo seller's website (a reserved example domain): its sign-up page receives ?ref=<link>.
LANDING_SITE = "https://seller.example.com"


@dataclass(frozen=True)
class Size:
    """How much history to generate."""

    start: tuple[int, int]  # (year, month) the programs are defined
    months: int  # length of the history
    partners: tuple[int, int, int]  # applications per program, in ``PROGRAMS`` order
    apply_months: int  # partners apply during the first ``apply_months`` months
    direct_per_month: float  # customers signing up with no partner, per month
    acquisition: float  # multiplier on every partner's customers-per-month rate
    churn: float  # monthly probability that a paying customer leaves
    # Leave work waiting at the end, for the consoles to show: applications not yet
    # decided and a self-referral's commission still held for review.
    open_desk: bool = False


SIZES: dict[str, Size] = {
    # A few hundred events: for tests.
    "tiny": Size(start=(2024, 1), months=14, partners=(4, 3, 4), apply_months=5,
                 direct_per_month=0.2, acquisition=0.25, churn=0.08),
    # The three presets, a few hundred partners, thousands of customers, 20 months.
    "demo": Size(start=(2024, 1), months=20, partners=(140, 60, 100), apply_months=12,
                 direct_per_month=20.0, acquisition=1.0, churn=0.03, open_desk=True),
    # About 100 000 stored events.
    "S": Size(start=(2024, 1), months=24, partners=(150, 65, 115), apply_months=14,
              direct_per_month=25.0, acquisition=1.0, churn=0.03),
    # About 1 000 000 stored events.
    "M": Size(start=(2023, 1), months=36, partners=(780, 330, 560), apply_months=24,
              direct_per_month=120.0, acquisition=1.0, churn=0.03),
}


@dataclass(frozen=True)
class _Program:
    program_id: str
    preset: str
    prefix: str  # of partner ids
    ladder: tuple[str, ...]  # levels, lowest first
    promote_at: tuple[int, ...]  # onboarded customers a partner needs for each level
    channels: tuple[tuple[str, ...], tuple[int, ...]]  # claim channels and their weights
    product: str  # what its customers buy (see ``_Simulation._lines``)


PROGRAMS = (
    _Program("refer-resell", "refer-resell", "rr", ("Registered", "Silver", "Gold", "Platinum"), (0, 5, 15, 30),
             (("link", "code", "lead", "resell"), (40, 15, 10, 35)), "subscription"),
    _Program("sales-partner", "sales-partner", "sp", ("Standard",), (0,),
             (("link", "code", "lead"), (40, 30, 30)), "platform"),
    _Program("referral-tiers", "referral-tiers", "rt", ("Sales Partner", "Elite", "Master"), (0, 8, 20),
             (("link", "code", "lead"), (35, 25, 40)), "tiers"),
)

# Customers per month: (rate range, weight). Most partners bring a few customers a
# year; a handful of stars bring enough to reach the lock threshold (50).
_ACQUISITION = (((0.1, 0.4), 40), ((0.5, 1.0), 35), ((1.0, 2.0), 20), ((3.0, 5.0), 5))

_PLANS = {  # monthly list prices in cents
    "subscription": (2900, 4900, 9900, 19900, 49900),
    "platform": (15000, 30000, 60000, 120000),
    "tiers": (7900, 15900, 34900, 79900),
}
_TAX_BP = {  # tax rates in basis points, by currency
    "USD": (0, 0, 0, 625, 725, 800, 875),
    "EUR": (1900, 2000, 0, 1900, 2000),
    "GBP": (2000, 2000, 0),
}
_PLACES = (
    ("New York", "US"), ("Austin", "US"), ("Chicago", "US"), ("Denver", "US"), ("Seattle", "US"),
    ("Atlanta", "US"), ("Toronto", "CA"), ("Berlin", "DE"), ("Munich", "DE"), ("Hamburg", "DE"),
    ("Paris", "FR"), ("Lyon", "FR"), ("Amsterdam", "NL"), ("Madrid", "ES"), ("Milan", "IT"),
    ("London", "GB"), ("Manchester", "GB"), ("Dublin", "IE"), ("Sydney", "AU"), ("Sao Paulo", "BR"),
)
# A bank per country with IBANs (bank code, account digits): a partner there paid by
# bank transfer gets a valid IBAN (its BIC told by schwifty), so its EUR payouts land
# in finance's SEPA file.
_IBAN_BANKS = {
    "DE": ("37040044", 10), "FR": ("3000600001", 11), "NL": ("ABNA", 10), "ES": ("21000418", 10),
    "IT": ("0542811101", 12), "IE": ("AIBK931152", 8), "GB": ("NWBK601613", 8),
}
_HOME_CURRENCY = {"DE": "EUR", "FR": "EUR", "NL": "EUR", "ES": "EUR", "IT": "EUR", "IE": "EUR", "GB": "GBP"}
_WORDS_A = ("North", "Blue", "Bright", "Swift", "Silver", "Cedar", "Summit", "Harbor", "Pixel", "Lumen",
            "Vertex", "Atlas", "Nimbus", "Copper", "Granite", "Maple", "Orbit", "Prism", "Quartz", "Tidal")
_WORDS_B = ("Digital", "Labs", "Partners", "Consulting", "Systems", "Works", "Growth", "Cloud", "Studio",
            "Solutions", "Networks", "Analytics", "Commerce", "Media", "Logic")
_FIRST = ("anna", "ben", "carla", "david", "elif", "felix", "grace", "hugo", "ines", "jonas", "kai",
          "lena", "marco", "nora", "omar", "paula", "quinn", "rosa", "sam", "tara")
_LAST = ("meyer", "smith", "garcia", "rossi", "dubois", "kowalski", "nguyen", "berg", "silva", "khan",
         "okafor", "tanaka", "murphy", "jensen", "costa")
_TRADES = ("Bakery", "Dental", "Logistics", "Fitness", "Legal", "Retail", "Travel", "Clinic", "Garage", "Hotel")
_BUSINESS = ("agency", "consultancy", "system integrator", "managed service provider", "freelancer", "reseller")
_MARKETS = ("SMB", "mid-market", "enterprise", "e-commerce", "healthcare", "education", "public sector")


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _month_start(index: int) -> int:
    return calendar.timegm((index // 12, index % 12 + 1, 1, 0, 0, 0))


def _period(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _iso(t: int) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Partner:
    __slots__ = ("company", "country", "currency", "customers", "domain", "level", "n", "override", "partner_id",
                 "program", "promo", "rate", "role", "state", "trained_at")

    def __init__(self, partner_id: str, n: int, program: _Program, role: str) -> None:
        self.partner_id, self.n, self.program, self.role = partner_id, n, program, role
        self.state = "new"  # new, applied, approved, rejected, terminated
        self.company = self.domain = self.country = self.currency = ""
        self.level = 0  # index into the program's ladder
        self.rate = 0.0  # customers per month
        self.override = False
        self.promo = False
        self.trained_at: int | None = None
        self.customers = 0  # successfully claimed


class _Customer:
    __slots__ = ("channel", "claimant", "company", "currency", "customer_id", "day", "email", "first_month",
                 "max_payments", "paid", "partner", "payments", "plan", "product", "review", "second", "tax_bp")

    def __init__(self, customer_id: str, claimant: _Partner | None, channel: str | None) -> None:
        self.customer_id, self.claimant, self.channel = customer_id, claimant, channel
        self.partner: _Partner | None = None  # set once a claim succeeds
        self.product = self.currency = self.email = self.company = ""
        self.plan = self.tax_bp = 0
        self.day = self.second = self.first_month = 0  # billing: day of month, second of day, first month
        self.payments = 0
        self.paid = False
        self.max_payments: int | None = None
        self.review: str | None = None  # decision for self-referral payments


Handler = Callable[..., object]


class _Simulation:
    def __init__(self, seed: int, size: Size, include_closes: bool, until: tuple[int, int] | None = None) -> None:
        self.seed, self.r = seed, random.Random(seed)
        self.size = size
        self.include_closes = include_closes
        # ``until``: the history's months end just before this (year, month); else they start at the size's start.
        self.first_month = _month_index(*until) - size.months if until else _month_index(*size.start)
        self.t0 = _month_start(self.first_month)
        self.end = _month_start(self.first_month + size.months)
        self._heap: list[tuple[int, int, Handler, tuple[Any, ...]]] = []
        self._seq = 0
        self._out: list[Command] = []
        self._counters: dict[str, int] = {}
        self._seen: set[str] = set()
        self.partners: list[_Partner] = []  # everyone who has applied
        self.approved: dict[str, list[_Partner]] = {p.program_id: [] for p in PROGRAMS}
        self.promo_slots = 3  # sales-partner preset: 50 % for the first 3 approved
        self.leads_need_training_from: int | None = None  # referral-tiers, once terms change
        self.paying: list[_Customer] = []  # the latest customers who paid (a lead for one is refused)

    # -- plumbing --------------------------------------------------------------------

    def _id(self, prefix: str, width: int = 7) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}-{n:0{width}d}"

    def first(self, feature: str) -> bool:
        """True the first time a feature is asked for: rare events happen at least once,
        so even the tiny history shows each of them."""
        if feature in self._seen:
            return False
        self._seen.add(feature)
        return True

    def schedule(self, t: int, handler: Handler, *args: Any) -> None:
        if t >= self.end:
            return  # after the end of the history
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, handler, args))

    def emit(self, t: int, command_type: str, **fields: Any) -> None:
        self._out.append({"type": command_type, "at": _iso(t), **fields})

    def later(self, t: int, min_days: float, max_days: float) -> int:
        """A moment in office hours (08:00-19:59 UTC) some days after ``t``."""
        moment = t + int(self.r.uniform(min_days, max_days) * DAY)
        office = moment - moment % DAY + self.r.randint(8 * HOUR, 20 * HOUR - 1)
        return office if office > t else office + DAY

    def run(self) -> Iterator[Command]:
        self._setup()
        heap = self._heap
        while heap:
            t, _, handler, args = heapq.heappop(heap)
            handler(t, *args)
            if self._out:
                yield from self._out
                self._out.clear()

    # -- the cast ----------------------------------------------------------------------

    def _setup(self) -> None:
        r, size = self.r, self.size
        for offset, program in enumerate(PROGRAMS):
            self.schedule(self.t0 + offset, self._define, program)
        apply_span = size.apply_months * MONTH
        for program, count in zip(PROGRAMS, size.partners, strict=True):
            # The first applicants of each program play a scripted part, so that even
            # the tiny history shows every feature; the rest are drawn at random.
            moments = sorted(self.t0 + DAY + int(apply_span * r.random() ** 1.3) for _ in range(count))
            for k, moment in enumerate(moments):
                role = self._role(program, k)
                n = self._counters["partner"] = self._counters.get("partner", 0) + 1
                partner = _Partner(f"{program.prefix}-{k + 1:05d}", n, program, role)
                self.schedule(moment - moment % DAY + r.randint(8 * HOUR, 20 * HOUR - 1), self._apply, partner)
        if size.direct_per_month > 0:
            self.schedule(self.later(self.t0, 1, 10), self._direct_arrival)
        # Program administration: referral-tiers starts requiring training for leads,
        # the sales-partner launch promo is closed early.
        self.schedule(self.later(_month_start(self.first_month + max(2, size.months * 2 // 5)), 0, 3),
                      self._require_training_for_leads)
        self.schedule(self.later(_month_start(self.first_month + 4), 0, 3), self._close_promo)
        if size.open_desk:
            self._open_desk(size)
        if self.include_closes:
            for month in range(self.first_month, self.first_month + self.size.months):
                self._seq += 1
                heapq.heappush(self._heap, (_month_start(month + 1), self._seq, self._close, (month,)))

    def _open_desk(self, size: Size) -> None:
        """Two late applicants per program, still waiting at the end, and one late
        self-referral nobody has reviewed yet. Drawn from a random stream of their own,
        so the rest of the history is the one the same seed always gave."""
        r = random.Random(f"open desk {self.seed}")
        for program, count in zip(PROGRAMS, size.partners, strict=True):
            for k in range(count, count + 2):
                n = self._counters["partner"] = self._counters.get("partner", 0) + 1
                moment = self.end - r.randint(3 * DAY, 20 * DAY)
                self.schedule(moment - moment % DAY + r.randint(8 * HOUR, 20 * HOUR - 1), self._apply,
                              _Partner(f"{program.prefix}-{k + 1:05d}", n, program, "pending"))
        self.schedule(self.end - 40 * DAY, self._unreviewed_self_referral)

    def _unreviewed_self_referral(self, t: int) -> None:
        partner = next(p for p in self.approved["referral-tiers"] if p.state == "approved")
        customer = self._new_customer(t, partner, "link", email=f"finance@{partner.domain}")
        customer.max_payments = 3

    def _role(self, program: _Program, k: int) -> str:
        scripted = {0: "self_referral", 1: "rejected", 2: "active_until"}
        if program.program_id != "sales-partner":
            scripted[3] = "terminated"
        if k in scripted:
            return scripted[k]
        roll = self.r.random()
        for role, share in (("rejected", 0.05), ("self_referral", 0.01), ("active_until", 0.02), ("terminated", 0.002)):
            if roll < share:
                return role
            roll -= share
        return "regular"

    # -- programs ----------------------------------------------------------------------

    def _define(self, t: int, program: _Program) -> None:
        self.emit(t, "define_program", program_id=program.program_id, preset=program.preset)
        # Where partners' referral links (/r/<link>) send visitors: the seller's sign-up page.
        self.emit(t, "change_program_terms", program_id=program.program_id,
                  terms_patch={"landing_url": f"{LANDING_SITE}/{program.program_id}/signup"})

    def _require_training_for_leads(self, t: int) -> None:
        self.emit(t, "change_program_terms", program_id="referral-tiers", terms_patch={"training_required_for_leads": True})
        self.leads_need_training_from = t

    def _close_promo(self, t: int) -> None:
        self.emit(t, "close_promo", program_id="sales-partner")
        self.promo_slots = 0

    def _close(self, t: int, month: int) -> None:
        for program in PROGRAMS:
            self.emit(t, "close_period", program_id=program.program_id, period=_period(month))

    # -- partners ----------------------------------------------------------------------

    def _apply(self, t: int, p: _Partner) -> None:
        r = self.r
        p.company = f"{r.choice(_WORDS_A)} {r.choice(_WORDS_B)}"
        p.domain = f"{p.company.lower().replace(' ', '-')}-{p.n}.example"
        city, p.country = r.choice(_PLACES)
        p.currency = _HOME_CURRENCY.get(p.country, "USD")
        p.state = "applied"
        self.partners.append(p)
        clients = r.randint(0, 200)
        self.emit(t, "submit_application", partner_id=p.partner_id, program_id=p.program.program_id, profile={
            "company": p.company, "contact_email": f"{r.choice(_FIRST)}.{r.choice(_LAST)}@{p.domain}",
            "website": f"https://www.{p.domain}", "city": city, "country": p.country,
            "business_type": r.choice(_BUSINESS), "team_size": r.randint(1, 60), "client_count": clients,
            "focus_market": r.choice(_MARKETS), "expected_pipeline": f"{r.randint(2, 40)} customers in 12 months",
        })
        if r.random() < 0.3:
            self.schedule(self.later(t, 0, 3), self._meeting, p)
        self.schedule(self.later(t, 1, 10), self._decide, p)

    def _decide(self, t: int, p: _Partner) -> None:
        if p.role == "pending":
            return  # the admin has not got to it yet
        r, program = self.r, p.program
        if p.role == "rejected":
            reason = r.choice(("no verifiable customer base", "competitor of the vendor", "incomplete application",
                               "outside the supported markets"))
            self.emit(t, "reject_application", partner_id=p.partner_id, reason=reason)
            p.state = "rejected"
            if r.random() < 0.7:  # tries to claim a customer anyway: refused
                self.schedule(self.later(t, 3, 30), self._new_customer, p, "link")
            return
        level, rate = 0, None
        if program.program_id == "sales-partner" and r.random() < 0.25:
            rate = r.choice(("0.20", "0.25", "0.30"))  # configured per partner by admins
        elif len(program.ladder) > 1 and r.random() < 0.1:
            level = 1  # an established partner starts one level up
        command: Command = {"partner_id": p.partner_id, "level": program.ladder[level]}
        if rate is not None:
            command["rate"] = rate
            p.override = True
        self.emit(t, "approve_application", **command)
        p.state, p.level = "approved", level
        if program.program_id == "sales-partner" and rate is None and self.promo_slots > 0:
            self.promo_slots -= 1
            p.promo = True
        self.approved[program.program_id].append(p)
        [(low, high)] = r.choices([band for band, _ in _ACQUISITION], [w for _, w in _ACQUISITION])
        p.rate = r.uniform(low, high) * self.size.acquisition
        if r.random() < 0.85:
            self.schedule(self.later(t, 1, 30), self._tax_form, p)
        if r.random() < 0.75:
            self.schedule(self.later(t, 2, 40), self._payout_details, p)
        if r.random() < (0.85 if program.program_id == "referral-tiers" else 0.6):
            self.schedule(self.later(t, 1, 60), self._training, p)
        self.schedule(self.later(t, 20, 40), self._tick, p)
        first_arrival = self._next_arrival(t, p.rate)
        if self.first(f"early {program.program_id}"):  # the first partner gets going at once
            first_arrival = min(first_arrival, self.later(t, 1, 20))
        self.schedule(first_arrival, self._partner_arrival, p)
        if p.role == "self_referral":
            self.schedule(self.later(t, 10, 40), self._self_referral, p)
        elif p.role == "active_until":
            self.schedule(self.later(t, 30, 150), self._active_until, p)
        elif p.role == "terminated":
            self.schedule(self.later(t, 60, 200), self._terminate, p)

    def _tax_form(self, t: int, p: _Partner) -> None:
        form = "W-9" if p.country == "US" else self.r.choice(("W-8BEN", "W-8BEN-E", "W-8BEN-E"))
        self.emit(t, "submit_tax_form", partner_id=p.partner_id, form=form)

    def _payout_details(self, t: int, p: _Partner) -> None:
        r = self.r
        if r.random() < 0.8:
            method, account = _bank_account(p.country, r.randint(10, 99), r.randint(10**15, 10**16 - 1))
        else:
            account = f"payouts@{p.domain}"
            method = "paypal"
        self.emit(t, "set_payout_details", partner_id=p.partner_id, method=method, account=account)

    def _training(self, t: int, p: _Partner) -> None:
        if p.state == "approved" and p.trained_at is None:
            self.emit(t, "complete_training", partner_id=p.partner_id)
            p.trained_at = t

    def _meeting(self, t: int, p: _Partner) -> None:
        self.emit(t, "record_meeting", partner_id=p.partner_id)

    def _tick(self, t: int, p: _Partner) -> None:
        """A partner manager's monthly look at the account."""
        if p.state != "approved":
            return
        r, program = self.r, p.program
        if r.random() < 0.2:
            self.emit(t, "record_meeting", partner_id=p.partner_id)
        if p.level + 1 < len(program.ladder) and (
            p.customers >= program.promote_at[p.level + 1] or self.first(f"promote {program.program_id}")
        ):
            p.level += 1
            self.emit(t, "change_level", partner_id=p.partner_id, level=program.ladder[p.level])
        if program.program_id == "sales-partner":
            if p.promo and not p.override and r.random() < 0.05:
                # A promo holder keeps 50 % until an admin sets another rate.
                self.emit(t, "set_commission_rate", partner_id=p.partner_id, rate="0.30")
                p.override = True
            elif not p.override and (r.random() < 0.02 or self.first("override")):
                self.emit(t, "set_commission_rate", partner_id=p.partner_id, rate=r.choice(("0.25", "0.30")))
                p.override = True
            elif p.override and not p.promo and (r.random() < 0.03 or self.first("override")):
                self.emit(t, "set_commission_rate", partner_id=p.partner_id, rate=None)
                p.override = False
        elif not p.override and r.random() < 0.005:
            self.emit(t, "set_commission_rate", partner_id=p.partner_id, rate="0.30")  # a negotiated deal
            p.override = True
        if r.random() < 0.03 or self.first("adjustment"):
            if r.random() < 0.7:
                amount = r.randint(25, 500) * 100
                reason = r.choice(("quarterly performance bonus", "conference referral spiff", "launch bonus"))
            else:
                amount = -r.randint(500, 8000)
                reason = r.choice(("correction: duplicate invoice credited", "correction: wrong plan billed"))
            self.emit(t, "adjust_commission", adjustment_id=self._id("adj", 6), partner_id=p.partner_id,
                      amount=_money(amount) if amount > 0 else "-" + _money(-amount), currency=p.currency,
                      reason=reason)
        self.schedule(self.later(t, 27, 33), self._tick, p)

    def _active_until(self, t: int, p: _Partner) -> None:
        if p.state != "approved":
            return
        until = datetime.fromtimestamp(t + int(self.r.uniform(300, 700) * DAY), UTC).date()
        self.emit(t, "set_active_until", partner_id=p.partner_id, until=until.isoformat())

    def _terminate(self, t: int, p: _Partner) -> None:
        if p.state != "approved":
            return
        reason = self.r.choice(("breach of the partner agreement", "partner asked to leave the program"))
        self.emit(t, "terminate_partner", partner_id=p.partner_id, reason=reason)
        p.state = "terminated"
        self.schedule(self.later(t, 5, 40), self._new_customer, p, "link")  # a claim that is refused

    # -- customers ---------------------------------------------------------------------

    def _next_arrival(self, t: int, per_month: float) -> int:
        return self.later(t, 0, 0) + int(self.r.expovariate(per_month) * MONTH)

    def _partner_arrival(self, t: int, p: _Partner) -> None:
        if p.state != "approved":
            return
        channels, weights = p.program.channels
        channel = self.r.choices(channels, weights)[0]
        if "resell" in channels and self.first("resell"):
            channel = "resell"
        self._new_customer(t, p, channel)
        self.schedule(self._next_arrival(t, p.rate), self._partner_arrival, p)

    def _direct_arrival(self, t: int) -> None:
        self._new_customer(t, None, None)
        self.schedule(self._next_arrival(t, self.size.direct_per_month), self._direct_arrival)

    def _self_referral(self, t: int, p: _Partner) -> None:
        """The partner signs up its own company: same e-mail domain, held for review."""
        if p.state == "approved":
            c = self._new_customer(t, p, "link", email=f"{self.r.choice(('it', 'ops', 'admin'))}@{p.domain}")
            c.max_payments = self.r.randint(3, 8)
            c.review = self.r.choice(("release", "release", "void"))

    def _new_customer(self, t: int, claimant: _Partner | None, channel: str | None, email: str | None = None) -> _Customer:
        r = self.r
        c = _Customer(self._id("cus"), claimant, channel)
        c.product = claimant.program.product if claimant else r.choice(tuple(_PLANS))
        home = claimant.currency if claimant else "USD"
        c.currency = home if r.random() < 0.8 else "USD"
        c.plan = r.choice(_PLANS[c.product])
        c.tax_bp = r.choice(_TAX_BP[c.currency])
        c.company = f"{r.choice(_WORDS_A)} {r.choice(_TRADES)}"
        if email is None:
            n = c.customer_id.removeprefix("cus-").lstrip("0")
            if r.random() < 0.15:
                email = f"{r.choice(_FIRST)}.{r.choice(_LAST)}.{n}@gmail.com"
            else:
                email = f"{r.choice(_FIRST)}@{c.company.lower().replace(' ', '-')}-{n}.example"
        c.email = email
        if claimant is not None and channel == "lead":
            # A submitted lead: the customer signs up later and is attributed to the lead's partner.
            self._lead(t, c, claimant)
            self.schedule(self.later(t, 1, 10), self._sign_up, c)
        else:
            self._sign_up(t, c)
            if claimant is not None:
                self.schedule(t + r.randint(MINUTE, HOUR), self._claim, c, claimant)
        return c

    def _sign_up(self, t: int, c: _Customer) -> None:
        p = c.partner
        if c.channel == "lead" and p is not None and p.state != "approved":  # the lead's partner left meanwhile
            c.partner, p.customers = None, p.customers - 1
        self.emit(t, "sign_up_customer", customer_id=c.customer_id, email=c.email, company=c.company)
        first = self.later(t, 7, 30)  # after the trial
        year, month, day, *_ = datetime.fromtimestamp(first, UTC).timetuple()
        c.first_month, c.second = _month_index(year, month), first % DAY
        c.day = min(day, 28)
        self.schedule(self._billing_time(c, 0), self._pay, c)

    def _claim(self, t: int, c: _Customer, p: _Partner) -> None:
        channel = c.channel if c.claimant is p and c.channel else "link"
        self.emit(t, "claim_customer", customer_id=c.customer_id, partner_id=p.partner_id, channel=channel)
        if not self._claim_qualifies(t, c, p, channel):
            return
        c.partner = p
        p.customers += 1
        r = self.r
        if channel == "resell" and (r.random() < 0.3 or self.first("do_not_contact")):
            self.schedule(self.later(t, 0, 5), self._do_not_contact, c)
        if r.random() < 0.03:  # another partner claims the same customer: refused
            others = self.approved[p.program.program_id]
            other = others[r.randrange(len(others))]
            if other is not p:
                self.schedule(self.later(t, 1, 20), self._claim, c, other)

    def _lead(self, t: int, c: _Customer, p: _Partner) -> None:
        r = self.r
        note = r.choice(("met at the trade fair", "asked for a demo", "switching from a competitor", "referred by a customer"))
        self.emit(t, "submit_lead", lead_id=self._id("lead", 6), partner_id=p.partner_id, company=c.company, email=c.email,
                  note=note)
        if self._claim_qualifies(t, c, p, "lead"):  # else refused: the customer comes on its own
            c.partner = p
            p.customers += 1
        if self.paying and (r.random() < 0.03 or self.first("lead for a customer")):
            self.schedule(self.later(t, 0, 2), self._lead_for_a_customer, p, self.paying[r.randrange(len(self.paying))])

    def _lead_for_a_customer(self, t: int, p: _Partner, known: _Customer) -> None:
        """A tip about a company that already pays: refused (purchased before)."""
        if p.state == "approved":
            self.emit(t, "submit_lead", lead_id=self._id("lead", 6), partner_id=p.partner_id, company=known.company,
                      email=known.email, note="they mentioned they need more seats")

    def _claim_qualifies(self, t: int, c: _Customer, p: _Partner, channel: str) -> bool:
        """The ledger's qualification rules, as far as this history can break them."""
        if c.partner is not None or c.paid or p.state != "approved":
            return False
        needs_training = (channel == "lead" and p.program.program_id == "referral-tiers"
                          and self.leads_need_training_from is not None and t >= self.leads_need_training_from)
        return not needs_training or (p.trained_at is not None and p.trained_at <= t)

    def _do_not_contact(self, t: int, c: _Customer) -> None:
        self.emit(t, "set_do_not_contact", customer_id=c.customer_id, value=True)

    def _billing_time(self, c: _Customer, k: int) -> int:
        month = c.first_month + k
        return calendar.timegm((month // 12, month % 12 + 1, c.day, 0, 0, 0)) + c.second

    def _lines(self, c: _Customer) -> list[tuple[str, int]]:
        """This month's revenue lines, (kind, cents), by what the customer buys."""
        r, first = self.r, c.payments == 0
        if r.random() < 0.02:
            c.plan = min(c.plan * 2, 250000)  # upgraded
        if c.product == "subscription":
            lines = [("subscription", c.plan)]
            if first and r.random() < 0.2:
                lines.append(("setup_fee", r.choice((9900, 19900, 49900))))
        elif c.product == "platform":
            lines = [("platform_fee", c.plan)]
            if r.random() < 0.55:
                lines.append(("message_overage", int(c.plan * r.uniform(0.03, 0.4))))
            if first and r.random() < 0.3:
                lines.append(("setup_fee", r.choice((25000, 50000))))
        else:
            lines = [("subscription", c.plan)]
            if first and r.random() < 0.15:
                lines.append(("hardware", r.randint(250, 1500) * 100))
            if first and r.random() < 0.2:
                lines.append(("setup_fee", 19900))
        return lines

    def _pay(self, t: int, c: _Customer) -> None:
        r = self.r
        lines = self._lines(c)
        base = sum(cents for _, cents in lines)
        tax = (base * c.tax_bp + 5000) // 10000  # half-up
        payment_id = self._id("inv", 8)
        self.emit(t, "record_payment", payment_id=payment_id, customer_id=c.customer_id, currency=c.currency,
                  lines=[{"kind": kind, "amount": _money(cents)} for kind, cents in lines], tax=_money(tax))
        c.payments += 1
        first_payment, c.paid = not c.paid, True
        if first_payment:
            self.paying = [*self.paying[-49:], c]
        paid = base + tax
        refunded = 0
        if r.random() < 0.025 or self.first("refund"):
            refunded = paid if r.random() < 0.5 else max(1, int(paid * r.uniform(0.1, 0.9)))
            self.schedule(self.later(t, 2, 25), self._reverse, "refund", payment_id, refunded)
        if (r.random() < 0.008 or (not refunded and self.first("chargeback"))) and paid - refunded > 0:
            self.schedule(self.later(t, 20, 60), self._reverse, "chargeback", payment_id, paid - refunded)
        if c.partner is not None and (r.random() < 0.04 or self.first("cost")):
            self.schedule(self.later(t, 1, 20), self._cost, c)
        if c.review is not None and c.partner is not None:
            self.schedule(self.later(t, 2, 10), self._review, payment_id, c.review)
        if first_payment and c.partner is None and r.random() < 0.06 and self.partners:
            # A partner claims a customer who already pays: refused.
            late = self.partners[r.randrange(len(self.partners))]
            self.schedule(self.later(t, 3, 20), self._claim, c, late)
        if c.max_payments is not None and c.payments >= c.max_payments:
            return
        if r.random() < self.size.churn:
            return
        self.schedule(self._billing_time(c, c.payments), self._pay, c)

    def _reverse(self, t: int, kind: str, payment_id: str, cents: int) -> None:
        key = "refund_id" if kind == "refund" else "chargeback_id"
        self.emit(t, f"record_{kind}", **{key: self._id("re" if kind == "refund" else "cb", 6)},
                  payment_id=payment_id, amount=_money(cents))

    def _cost(self, t: int, c: _Customer) -> None:
        r = self.r
        self.emit(t, "record_cost", cost_id=self._id("cost", 6), customer_id=c.customer_id,
                  amount=_money(r.randint(25, 400) * 100 + r.choice((0, 50, 99))), currency=c.currency,
                  kind=r.choice(("marketing", "customer_development")))

    def _review(self, t: int, payment_id: str, decision: str) -> None:
        reason = ("customer verified as a separate business" if decision == "release"
                  else "partner's own company: not commissionable")
        self.emit(t, "review_commission", payment_id=payment_id, decision=decision, reason=reason)


def generate(seed: int, size: str, include_closes: bool = True, until: tuple[int, int] | None = None) -> Iterator[Command]:
    """Commands of a sample history, in effective-time order (see the module docstring).

    ``size`` is one of ``SIZES``; ``include_closes`` adds a ``close_period`` per program
    at the start of each month for the month before; ``until`` (year, month): the history
    ends with the month before it (``python -m demo``: this month, so the last full month
    is the last of the history), instead of starting at the size's ``start``."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    return _Simulation(seed, SIZES[size], include_closes, until).run()


def to_jsonl(command: Command) -> str:
    return json.dumps(command, separators=(",", ":")) + "\n"


def write_jsonl(path: str | Path, commands: Iterable[Command]) -> int:
    """Write commands as JSONL (one compact object a line); returns how many."""
    count = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        for command in commands:
            out.write(to_jsonl(command))
            count += 1
    return count


def _bank_account(country: str, branch: int, number: int) -> tuple[str, str]:
    """(method, account) of a partner paid by bank transfer: an IBAN where its country
    has them, else a local account number, which no payment file pays (SEPA pays EUR
    only): finance pays those by other means."""
    if country not in _IBAN_BANKS:
        return "bank_transfer", f"{country}-{branch}-{number}"
    bank, digits = _IBAN_BANKS[country]
    return "iban", IBAN.generate(country, bank_code=bank, account_code=str(number)[-digits:]).compact
