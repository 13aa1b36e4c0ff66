"""Property tests over generated, realistic command sequences.

A scenario is a program with random terms, a few partners (approved, rejected or left
waiting), customers signed up and claimed through every channel, payments with random
lines and tax, refunds and chargebacks of random amounts (some larger than what is
left, some with too many decimals), costs, adjustments, reviews of held commissions,
redeliveries of the same payment and reuses of a payment id for another payment.

An independent model (``Model`` below, written from DESIGN.md, sharing no code with the
ledger) predicts every command's outcome and every balance. The ledger is then checked
against the model and against its own invariants:

(a) read models built incrementally equal read models replayed from scratch;
(b) a payment's clawbacks never exceed its earning and are never negative;
(c) one partner per customer, the first qualifying claim wins;
(d) promo holders never exceed the slots;
(e) every amount balances to the cent and has the currency's two decimals; earned
    balances sum to the earnings reported by ``record_payment``;
(f) applying the same command list again is a no-op;
(g) the same list applied in one batch (one transaction) gives the same results;
(h) balances as of a command's effective time, or as known right after it, are the
    model's balances at that point (business time and recorded time).

Each example gets its own SQLite file in a temporary directory (hypothesis and
function-scoped fixtures do not mix); a smaller variant runs on fresh PostgreSQL schemas.
"""

from __future__ import annotations

import calendar
import json
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from adapters.event_store import decode
from entrypoints.bootstrap import Ledger, bootstrap
from events.customer import ClaimRejected, CustomerClaimed
from events.program import PromoSlotTaken
from events.revenue import CommissionReviewed, PaymentRecorded, PaymentReversed
from projections.catalog import live_views
from projections.queries import Queries
from projections.runner import ProjectionRunner, Tables
from tests import builders as b
from tests.conftest import pg_schema
from tests.robustness import without_links

T0 = datetime(2025, 1, 1, tzinfo=UTC)
KINDS = ["subscription", "platform_fee", "message_overage", "setup", "hardware"]
RATES = ["0.10", "0.15", "0.175", "0.20", "0.25", "0.333", "0.35"]
DISCOUNTS = ["0.20", "0.25", "0.30", "0.333"]
FREE_MAIL = {"gmail.com"}  # the only shared-mailbox domain the generator uses
CENT = Decimal("0.01")
TWO_DECIMALS = re.compile(r"^-?\d+\.\d{2}$")
BUCKETS = ("earned", "clawed_back", "deducted", "adjusted", "discount")
KEY_FIELDS = {
    "record_payment": "payment_id", "record_refund": "refund_id", "record_chargeback": "chargeback_id",
    "record_cost": "cost_id", "adjust_commission": "adjustment_id",
}

SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)


# =========================================================================================
# The model: what DESIGN.md says should happen
# =========================================================================================


def cents(amount: int) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount) // 100}.{abs(amount) % 100:02d}"


def rnd(amount: Decimal) -> Decimal:
    """To the cent, half up (USD and EUR both have two decimals)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def plus_months(moment: datetime, months: int) -> datetime:
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


@dataclass
class Expect:
    ok: bool
    code: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # dotted result path -> expected value


@dataclass
class MPartner:
    partner_id: str
    email: str
    state: str = "applied"
    level: str | None = None
    override: Decimal | None = None
    promo_rate: Decimal | None = None
    trained: bool = False


@dataclass
class MCustomer:
    customer_id: str
    signed_up: bool = False
    email: str | None = None
    partner_id: str | None = None
    channel: str | None = None
    first_paid: datetime | None = None


@dataclass
class MPayment:
    payment_id: str
    currency: str
    paid: Decimal
    kind: str
    partner_id: str | None
    earned: Decimal
    held: bool
    reversed: Decimal = Decimal(0)
    clawed: Decimal = Decimal(0)
    voided: Decimal = Decimal(0)
    reviewed: bool = False

    @property
    def refundable(self) -> Decimal:
        return self.paid - self.reversed

    @property
    def earning_left(self) -> Decimal:
        return self.earned - self.clawed - self.voided


class Model:
    def __init__(self, terms: dict[str, Any]) -> None:
        self.terms = terms
        self.partners: dict[str, MPartner] = {}
        self.customers: dict[str, MCustomer] = {}
        self.payments: dict[str, MPayment] = {}
        self.receipts: dict[str, tuple[str, Expect]] = {}
        self.promo_holders: list[str] = []
        self.promo_closed = False
        # (partner, currency) -> bucket -> amount; currencies with at least one money line
        self.buckets: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        self.first_claim_accepted: dict[str, str] = {}

    # -- terms -----------------------------------------------------------------------------

    def level(self, name: str) -> dict[str, Any]:
        return self.terms["levels"][name]

    def commissionable(self, kind: str) -> bool:
        kinds = self.terms["commissionable_revenue"]
        return kinds == "*" or kind in kinds

    def promo_open(self) -> bool:
        promo = self.terms["promo"]
        return promo is not None and not self.promo_closed and len(self.promo_holders) < promo["slots"]

    def rate(self, partner: MPartner) -> Decimal:
        """Admin override, else the promo rate of a slot holder, else the level's rate."""
        if partner.override is not None:
            return partner.override
        if partner.promo_rate is not None:
            return partner.promo_rate
        assert partner.level is not None
        return Decimal(self.level(partner.level)["rate"])

    def self_referral(self, partner: MPartner, customer: MCustomer) -> bool:
        if customer.email is None:
            return False
        if customer.email.lower() == partner.email.lower():
            return True
        return domain(customer.email) == domain(partner.email) and domain(partner.email) not in FREE_MAIL

    def line(self, partner_id: str, currency: str, bucket: str, amount: Decimal) -> None:
        if amount:
            self.buckets[(partner_id, currency)][bucket] += amount

    # -- commands --------------------------------------------------------------------------

    def run(self, command: dict[str, Any]) -> Expect:
        """The command's own shape first (refused at the edge, before any key is looked
        up), then idempotency (the same key again returns the first result), then the rules."""
        if command["type"] == "record_payment" and any(Decimal(line["amount"]) == 0 for line in command["lines"]):
            return Expect(False, "invalid")  # a line of zero: `lines.N.amount: must be positive`
        keys = []
        if command["type"] in KEY_FIELDS:
            key_field = KEY_FIELDS[command["type"]]
            keys.append(f"{key_field.removesuffix('_id')}:{command[key_field]}")
        if "command_id" in command:
            keys.append(f"command:{command['command_id']}")
        fingerprint = json.dumps({k: v for k, v in command.items() if k not in ("command_id", "actor")}, sort_keys=True)
        for key in keys:
            if key in self.receipts:
                seen, first = self.receipts[key]
                return first if seen == fingerprint else Expect(False, "conflict")
        expect = getattr(self, command["type"])(command, datetime.fromisoformat(command["at"]))
        if expect.ok or expect.code == "claim_rejected":
            for key in keys:
                self.receipts[key] = (fingerprint, expect)
        return expect

    def define_program(self, c: dict[str, Any], at: datetime) -> Expect:
        return Expect(True)

    def submit_application(self, c: dict[str, Any], at: datetime) -> Expect:
        if c["partner_id"] in self.partners:
            return Expect(False, "conflict")
        self.partners[c["partner_id"]] = MPartner(c["partner_id"], c["profile"]["contact_email"])
        return Expect(True)

    def approve_application(self, c: dict[str, Any], at: datetime) -> Expect:
        partner = self.partners[c["partner_id"]]
        if partner.state != "applied":
            return Expect(False, "invalid_state")
        partner.state = "approved"
        partner.level = c.get("level") or self.terms["default_level"]
        partner.override = Decimal(c["rate"]) if c.get("rate") is not None else None
        if c.get("rate") is None and self.promo_open():
            self.promo_holders.append(partner.partner_id)
            partner.promo_rate = Decimal(self.terms["promo"]["rate"])
        return Expect(True, fields={"promo": partner.promo_rate is not None, "level": partner.level})

    def reject_application(self, c: dict[str, Any], at: datetime) -> Expect:
        partner = self.partners[c["partner_id"]]
        if partner.state != "applied":
            return Expect(False, "invalid_state")
        partner.state = "rejected"
        return Expect(True)

    def set_commission_rate(self, c: dict[str, Any], at: datetime) -> Expect:
        partner = self.partners[c["partner_id"]]
        if partner.state != "approved":
            return Expect(False, "invalid_state")
        partner.override = None if c["rate"] is None else Decimal(c["rate"])
        return Expect(True)

    def change_level(self, c: dict[str, Any], at: datetime) -> Expect:
        partner = self.partners[c["partner_id"]]
        if partner.state != "approved":
            return Expect(False, "invalid_state")
        partner.level = c["level"]
        return Expect(True)

    def complete_training(self, c: dict[str, Any], at: datetime) -> Expect:
        partner = self.partners[c["partner_id"]]
        if partner.trained:
            return Expect(False, "invalid_state")
        partner.trained = True
        return Expect(True)

    def close_promo(self, c: dict[str, Any], at: datetime) -> Expect:
        if self.promo_closed:
            return Expect(False, "invalid_state")
        self.promo_closed = True
        return Expect(True, fields={"promo_holders": list(self.promo_holders)})

    def sign_up_customer(self, c: dict[str, Any], at: datetime) -> Expect:
        customer = self.customers.setdefault(c["customer_id"], MCustomer(c["customer_id"]))
        if customer.signed_up:
            return Expect(False, "conflict")
        customer.signed_up, customer.email = True, c.get("email")
        return Expect(True)

    def claim_customer(self, c: dict[str, Any], at: datetime) -> Expect:
        partner = self.partners[c["partner_id"]]
        customer = self.customers.setdefault(c["customer_id"], MCustomer(c["customer_id"]))
        qualifies = (
            customer.partner_id is None
            and customer.first_paid is None  # never paid (purchased) before the claim
            and partner.state == "approved"
            and not (c["channel"] == "lead" and self.terms["training_required_for_leads"] and not partner.trained)
        )
        if not qualifies:
            return Expect(False, "claim_rejected")
        customer.partner_id, customer.channel = partner.partner_id, c["channel"]
        self.first_claim_accepted[customer.customer_id] = partner.partner_id
        return Expect(True, fields={"partner_id": partner.partner_id})

    def set_do_not_contact(self, c: dict[str, Any], at: datetime) -> Expect:
        customer = self.customers[c["customer_id"]]
        if c["value"] and customer.channel != "resell":
            return Expect(False, "invalid")
        return Expect(True)

    def record_payment(self, c: dict[str, Any], at: datetime) -> Expect:
        customer = self.customers[c["customer_id"]]
        currency = c["currency"]
        lines = [(line["kind"], Decimal(line["amount"])) for line in c["lines"]]
        list_price = sum((amount for _, amount in lines), Decimal(0))
        paid = list_price + Decimal(c["tax"])
        base = sum((amount for kind, amount in lines if self.commissionable(kind)), Decimal(0))
        first_paid = min(customer.first_paid or at, at)
        customer.first_paid = first_paid
        fields: dict[str, Any] = {"earning.kind": "none"}
        kind, earned, held, partner_id = "none", Decimal(0), False, customer.partner_id
        if partner_id is not None:
            partner = self.partners[partner_id]
            assert partner.level is not None
            level = self.level(partner.level)
            if customer.channel == "resell":
                # Resold: no commission; the partner's discount (its margin) and the wholesale.
                kind, earned = "discount", rnd(Decimal(level["discount"]) * base)
                fields = {"earning.kind": kind, "earning.amount": earned, "earning.wholesale": list_price - earned,
                          "earning.rate": Decimal(level["discount"])}
                self.line(partner_id, currency, "discount", earned)
            elif level["period_months"] is None or at < plus_months(first_paid, level["period_months"]):
                rate = self.rate(partner)
                kind, earned, held = "commission", rnd(rate * base), self.self_referral(partner, customer)
                fields = {"earning.kind": kind, "earning.amount": earned, "earning.rate": rate,
                          "earning.base": base, "earning.hold_reason": "self_referral" if held else None}
                self.line(partner_id, currency, "earned", earned)
        self.payments[c["payment_id"]] = MPayment(c["payment_id"], currency, paid, kind, partner_id, earned, held)
        return Expect(True, fields=fields)

    def _reverse(self, c: dict[str, Any], id_field: str) -> Expect:
        payment = self.payments.get(c["payment_id"])
        if payment is None:
            return Expect(False, "not_found")
        amount = Decimal(c["amount"])
        if amount != rnd(amount) or amount > payment.refundable:
            return Expect(False, "invalid")
        if payment.kind == "none":
            clawback = Decimal(0)
        elif amount == payment.refundable:
            clawback = payment.earning_left  # the last reversal takes exactly what is left
        else:
            share = rnd(payment.earned * amount / payment.paid)
            clawback = min(share, payment.earning_left)
        payment.reversed += amount
        payment.clawed += clawback
        if payment.partner_id is not None:
            bucket = "discount" if payment.kind == "discount" else "clawed_back"
            self.line(payment.partner_id, payment.currency, bucket, -clawback if bucket == "discount" else clawback)
        return Expect(True, fields={"clawback": clawback})

    def record_refund(self, c: dict[str, Any], at: datetime) -> Expect:
        return self._reverse(c, "refund_id")

    def record_chargeback(self, c: dict[str, Any], at: datetime) -> Expect:
        return self._reverse(c, "chargeback_id")

    def review_commission(self, c: dict[str, Any], at: datetime) -> Expect:
        payment = self.payments[c["payment_id"]]
        if not payment.held or payment.reviewed:
            return Expect(False, "invalid_state")
        payment.reviewed = True
        voided = payment.earning_left if c["decision"] == "void" else Decimal(0)
        payment.voided += voided
        assert payment.partner_id is not None
        self.line(payment.partner_id, payment.currency, "clawed_back", voided)
        return Expect(True, fields={"voided": voided})

    def record_cost(self, c: dict[str, Any], at: datetime) -> Expect:
        customer = self.customers[c["customer_id"]]
        deduction = Decimal(0)
        if customer.partner_id is not None and customer.channel != "resell":
            partner = self.partners[customer.partner_id]
            assert partner.level is not None
            period = self.level(partner.level)["period_months"]
            if period is None or customer.first_paid is None or at < plus_months(customer.first_paid, period):
                deduction = rnd(self.rate(partner) * Decimal(c["amount"]))
                self.line(partner.partner_id, c["currency"], "deducted", deduction)
        return Expect(True, fields={"deduction": deduction})

    def adjust_commission(self, c: dict[str, Any], at: datetime) -> Expect:
        self.line(c["partner_id"], c["currency"], "adjusted", Decimal(c["amount"]))
        return Expect(True, fields={"amount": Decimal(c["amount"])})

    # -- expected read side --------------------------------------------------------------

    def balances(self) -> dict[str, dict[str, dict[str, str]]]:
        expected: dict[str, dict[str, dict[str, str]]] = {p: {} for p in self.partners}
        for (partner_id, currency), sums in self.buckets.items():
            lifetime = sums["earned"] - sums["clawed_back"] - sums["deducted"] + sums["adjusted"]
            figures = {bucket: sums[bucket] for bucket in BUCKETS} | {
                "lifetime_commission": lifetime, "paid": Decimal(0), "balance": lifetime, "due": Decimal(0),
            }
            expected[partner_id][currency] = {k: format(rnd(v), "f") for k, v in figures.items()}
        return expected


# =========================================================================================
# The generator: realistic sequences, steered by the model so refusals are meaningful
# =========================================================================================


@dataclass
class Scenario:
    terms: dict[str, Any]
    commands: list[dict[str, Any]]
    expects: list[Expect]
    model: Model
    # The model's balances after each command (for time travel: as_of / known_at).
    snapshots: list[dict[str, Any]] = field(default_factory=list)

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        lines = "\n".join(
            f"  {json.dumps(c)}  -> {'ok' if e.ok else e.code}" for c, e in zip(self.commands, self.expects, strict=True)
        )
        return f"Scenario(terms={json.dumps(self.terms)},\n commands=[\n{lines}\n])"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # hypothesis's printer
        printer.text(repr(self))


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 40) -> Scenario:
    terms = {
        "currency": "USD", "currencies": ["EUR"],
        "levels": {
            "Life": {"rate": draw(st.sampled_from(RATES)), "discount": draw(st.sampled_from(DISCOUNTS)), "period_months": None},
            "Year": {"rate": draw(st.sampled_from(RATES)), "discount": draw(st.sampled_from(DISCOUNTS)), "period_months": 12},
        },
        "default_level": "Life",
        "commissionable_revenue": draw(st.one_of(
            st.just("*"), st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True))),
        "promo": draw(st.one_of(st.none(), st.builds(lambda n: {"rate": "0.50", "slots": n}, st.integers(0, 3)))),
        "training_required_for_leads": draw(st.booleans()),
    }
    model = Model(terms)
    commands: list[dict[str, Any]] = []
    expects: list[Expect] = []
    snapshots: list[dict[str, Any]] = []
    clock = [T0]
    payment_commands: list[dict[str, Any]] = []

    def add(command: dict[str, Any], *, keep_time: bool = False) -> Expect:
        if not keep_time:
            clock[0] += timedelta(hours=draw(st.integers(1, 45 * 24)))
            command["at"] = clock[0].isoformat().replace("+00:00", "Z")
        command["command_id"] = f"cmd-{len(commands)}"
        commands.append(command)
        expect = model.run(command)
        expects.append(expect)
        snapshots.append(model.balances())
        return expect

    add(b.program("prog", terms=terms))
    partner_count = draw(st.integers(1, 4))
    for i in range(partner_count):
        email = draw(st.sampled_from([f"owner@p{i}.example", f"p{i}.owner@gmail.com"]))
        add(b.application(f"p{i}", "prog", email=email))

    # Most applications are decided at once, in a random order (the order takes the promo slots).
    for partner_id in draw(st.permutations(sorted(model.partners))):
        decision = draw(st.sampled_from(["approve", "approve", "approve", "approve", "reject", "wait"]))
        if decision == "approve":
            command = b.approve(partner_id, level=draw(st.sampled_from([None, "Life", "Year"])))
            command["rate"] = draw(st.one_of(st.none(), st.none(), st.sampled_from(RATES)))
            add(command)
        elif decision == "reject":
            add({"type": "reject_application", "partner_id": partner_id, "reason": "not a fit"})

    def money(low: int, high: int) -> str:
        return cents(draw(st.integers(low, high)))

    def signup_email(customer_id: str, partner_id: str | None = None) -> str | None:
        """Mostly the customer's own address; sometimes its partner's (a self-referral)."""
        partner_email = model.partners[partner_id or draw(st.sampled_from(sorted(model.partners)))].email
        return draw(st.sampled_from([
            None, None, f"ops@{customer_id}.example", f"ops@{customer_id}.example", f"boss@{domain(partner_email)}",
            partner_email, "team@gmail.com",
        ]))

    for _ in range(draw(st.integers(3, max_steps))):
        partners = model.partners
        applied = [p for p, m in partners.items() if m.state == "applied"]
        approved = [p for p, m in partners.items() if m.state == "approved"]
        customers = sorted(model.customers)
        attributed = [c for c, m in model.customers.items() if m.partner_id is not None]
        paid = sorted(model.payments)
        held = [p for p, m in model.payments.items() if m.held]
        actions = ["onboard", "onboard", "signup", "claim", "adjust"]
        actions += ["approve", "approve", "reject"] if applied else []
        actions += ["rate", "level"] if approved else []
        actions += ["train"] if any(not m.trained for m in partners.values()) else []
        actions += ["close_promo"] if terms["promo"] is not None else []
        actions += ["pay", "pay", "pay", "pay", "pay", "cost"] if customers else []
        actions += ["dnc"] if attributed else []
        actions += ["refund", "refund", "chargeback", "redeliver", "reuse_id"] if paid else []
        actions += ["review", "review"] if held else []
        action = draw(st.sampled_from(actions))

        if action == "approve":
            command = b.approve(draw(st.sampled_from(applied)), level=draw(st.sampled_from([None, "Life", "Year"])))
            command["rate"] = draw(st.one_of(st.none(), st.none(), st.sampled_from(RATES)))
            add(command)
        elif action == "reject":
            add({"type": "reject_application", "partner_id": draw(st.sampled_from(applied)), "reason": "not a fit"})
        elif action == "rate":
            add({"type": "set_commission_rate", "partner_id": draw(st.sampled_from(approved)),
                 "rate": draw(st.one_of(st.none(), st.sampled_from(RATES)))})
        elif action == "level":
            add({"type": "change_level", "partner_id": draw(st.sampled_from(approved)),
                 "level": draw(st.sampled_from(["Life", "Year"]))})
        elif action == "train":
            add({"type": "complete_training", "partner_id": draw(st.sampled_from(sorted(partners)))})
        elif action == "close_promo":
            add({"type": "close_promo", "program_id": "prog"})
        elif action == "onboard":
            # A new customer signs up and a partner (usually an approved one) claims it,
            # the claim first for a submitted lead, the sign-up first otherwise.
            customer_id = f"c{len(model.customers)}"
            partner_id = draw(st.sampled_from(approved * 3 + sorted(partners)))
            channel = draw(st.sampled_from(["link", "code", "lead", "resell"]))
            signup, claim = b.signup(customer_id, email=signup_email(customer_id, partner_id)), b.claim(customer_id, partner_id, channel)
            for command in ([claim, signup] if channel == "lead" else [signup, claim]):
                add(command)
        elif action == "signup":
            fresh = f"c{len(model.customers)}"
            customer_id = draw(st.sampled_from([fresh, fresh, *customers]))
            add(b.signup(customer_id, email=signup_email(customer_id)))
        elif action == "claim":
            fresh = f"c{len(model.customers)}"
            customer_id = draw(st.sampled_from([fresh, *customers]))
            add(b.claim(customer_id, draw(st.sampled_from(sorted(partners))),
                        channel=draw(st.sampled_from(["link", "code", "lead", "resell"]))))
        elif action == "dnc":
            add({"type": "set_do_not_contact", "customer_id": draw(st.sampled_from(attributed)),
                 "value": draw(st.booleans())})
        elif action == "pay":
            lines = draw(st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 50_000)), min_size=1, max_size=3))
            command = {
                "type": "record_payment", "payment_id": f"pay{len(payment_commands)}",
                "customer_id": draw(st.sampled_from(attributed * 4 + customers)),
                "currency": draw(st.sampled_from(["USD", "USD", "USD", "EUR"])),
                "lines": [{"kind": kind, "amount": cents(amount)} for kind, amount in lines],
                "tax": money(0, 5_000),
            }
            add(command)
            payment_commands.append(command)
        elif action == "redeliver":
            # The billing system delivers the same payment again (another command id).
            add(dict(draw(st.sampled_from(payment_commands))), keep_time=True)
        elif action == "reuse_id":
            # A different payment under an id that is already taken.
            original = draw(st.sampled_from(payment_commands))
            add({**original, "lines": [{"kind": "subscription", "amount": money(1, 9_999)}]})
        elif action in ("refund", "chargeback"):
            payment_id = draw(st.sampled_from(paid))
            left = int(model.payments[payment_id].refundable * 100)
            mode = draw(st.sampled_from(["all", "part", "part", "over", "precision"] if left else ["over", "precision"]))
            if mode == "all":
                amount = cents(left)
            elif mode == "part":
                amount = cents(draw(st.integers(1, left)))
            elif mode == "over":  # more than is left: must be refused
                amount = cents(left + draw(st.integers(1, 10_000)))
            else:  # a fraction of a cent: must be refused
                amount = f"{draw(st.integers(0, 99))}.{draw(st.integers(0, 99)):02d}5"
            reversal_id = f"{action}{sum(c['type'] == f'record_{action}' for c in commands)}"
            add({"type": f"record_{action}", f"{action}_id": reversal_id, "payment_id": payment_id, "amount": amount})
        elif action == "review":
            add({"type": "review_commission", "payment_id": draw(st.sampled_from(held)),
                 "decision": draw(st.sampled_from(["release", "void"])), "reason": "checked the accounts"})
        elif action == "cost":
            add({"type": "record_cost", "cost_id": f"cost{len(commands)}", "customer_id": draw(st.sampled_from(customers)),
                 "amount": money(1, 20_000), "currency": draw(st.sampled_from(["USD", "USD", "EUR"])),
                 "kind": draw(st.sampled_from(["travel", "meals", "lodging", "entertainment"]))})
        elif action == "adjust":
            adjustment = draw(st.integers(-20_000, 20_000).filter(bool))
            add({"type": "adjust_commission", "adjustment_id": f"adj{len(commands)}",
                 "partner_id": draw(st.sampled_from(sorted(partners))), "amount": cents(adjustment),
                 "currency": draw(st.sampled_from(["USD", "USD", "EUR"])), "reason": "bonus"})
    return Scenario(terms, commands, expects, model, snapshots)


# =========================================================================================
# Running a scenario and checking the properties
# =========================================================================================


def normalised(result: dict[str, Any]) -> dict[str, Any]:
    """A result without its refusal message (which may quote amounts of the moment), its
    referral links (random draws) as present."""
    if result.get("ok"):
        return without_links(result)  # type: ignore[no-any-return]
    return {"ok": False, "code": result["error"]["code"], "field": result["error"]["field"]}


def lookup(result: dict[str, Any], path: str) -> Any:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def check_outcomes(scenario: Scenario, results: list[dict[str, Any]]) -> None:
    for index, (command, expect, result) in enumerate(zip(scenario.commands, scenario.expects, results, strict=True)):
        where = f"command #{index} {json.dumps(command)}: expected {expect}, got {result}"
        assert result["ok"] == expect.ok, where
        if not expect.ok:
            assert result["error"]["code"] == expect.code, where
        for path, wanted in expect.fields.items():
            actual = lookup(result, path)
            if isinstance(wanted, Decimal):
                assert actual is not None and Decimal(actual) == wanted, f"{path}: {where}"
            else:
                assert actual == wanted, f"{path}: {where}"


def all_balances(runtime: Ledger, partners: list[str], queries: Queries | None = None) -> dict[str, Any]:
    queries = queries or runtime.queries
    return {p: queries.balance(p)["currencies"] for p in partners}


def table_rows(runtime: Ledger, t: Tables) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every live read model's tables (in a stable order)."""
    rows = {}
    with runtime.db.connect() as conn, runtime.db.transaction(conn) as cursor:
        for view in live_views():
            for name in view.TABLES:
                cursor.execute(f"SELECT * FROM {getattr(t, name)}")
                rows[name] = sorted((tuple(row) for row in cursor.fetchall()), key=repr)
    return rows


def check_time_travel(runtime: Ledger, scenario: Scenario, known: list[datetime]) -> None:
    """(h) The balance as of a command's effective time, and as known right after it was
    applied, is the model's balance after that command (the clock only moves forward)."""
    latest = datetime.min.replace(tzinfo=UTC)
    checkpoints = []
    for index, command in enumerate(scenario.commands):
        at = datetime.fromisoformat(command["at"])
        if at > latest:  # not a redelivery carrying an old time
            checkpoints.append(index)
            latest = at
    for index in checkpoints[:: max(1, len(checkpoints) // 4)]:
        expected = scenario.snapshots[index]
        at = datetime.fromisoformat(scenario.commands[index]["at"])
        for partner_id, currencies in expected.items():
            assert runtime.queries.balance(partner_id, as_of=at)["currencies"] == currencies, (index, partner_id)
            assert runtime.queries.balance(partner_id, known_at=known[index])["currencies"] == currencies, (index, partner_id)


def check_replay_equals_live(runtime: Ledger, partners: list[str]) -> None:
    """(a) A fresh runner, from event zero, into scratch tables: identical read models."""
    replay = ProjectionRunner(runtime.db, runtime.store, live_views(), prefix="chk_")
    replay.setup()
    try:
        replay.catch_up()
        assert replay.positions() == runtime.read_models.positions()
        scratch = Queries(runtime.db, runtime.store, runtime.vault, Tables("chk_"))
        assert all_balances(runtime, partners, scratch) == all_balances(runtime, partners)
        assert table_rows(runtime, Tables("chk_")) == table_rows(runtime, Tables("proj_"))
    finally:
        replay.drop()


def check_event_invariants(runtime: Ledger, scenario: Scenario) -> None:
    payloads = [decode(n).payload for n in runtime.store.notifications(0, 1_000_000)]

    # (b) per payment: clawbacks (and voids) are never negative and never exceed the earning;
    #     reversals never exceed what was paid; a fully reversed payment keeps nothing.
    recorded = {p.payment_id: p for p in payloads if isinstance(p, PaymentRecorded)}
    taken: dict[str, Decimal] = defaultdict(Decimal)
    reversed_amount: dict[str, Decimal] = defaultdict(Decimal)
    for payload in payloads:
        if isinstance(payload, PaymentReversed):
            assert payload.clawback >= 0 and payload.amount > 0, payload
            taken[payload.payment_id] += payload.clawback
            reversed_amount[payload.payment_id] += payload.amount
        elif isinstance(payload, CommissionReviewed):
            assert payload.voided >= 0, payload
            taken[payload.payment_id] += payload.voided
    for payment_id, payment in recorded.items():
        assert 0 <= taken[payment_id] <= payment.earning.amount, (payment, taken[payment_id])
        assert reversed_amount[payment_id] <= payment.paid_amount, payment
        if reversed_amount[payment_id] == payment.paid_amount and payment.earning.kind != "none":
            assert taken[payment_id] == payment.earning.amount, payment
        assert payment.earning.amount >= 0 and payment.paid_amount >= 0

    # (c) one partner per customer; the accepted claim is the first one that qualified;
    #     a claim refused because of an attribution comes after that attribution.
    attributed: dict[str, str] = {}
    for payload in payloads:
        if isinstance(payload, CustomerClaimed):
            assert payload.customer_id not in attributed, payload
            attributed[payload.customer_id] = payload.partner_id
        elif isinstance(payload, ClaimRejected) and "already attributed" in payload.reason:
            assert payload.customer_id in attributed, payload
    assert attributed == scenario.model.first_claim_accepted
    claims = sum(1 for c in scenario.commands if c["type"] == "claim_customer")
    rejected_claims = sum(1 for p in payloads if isinstance(p, ClaimRejected))
    assert len(attributed) + rejected_claims == claims  # every claim is on the log, accepted or not
    # A customer is onboarded once signed up and attributed: the partners' counts agree.
    # (Status counts customers onboarded by its date: ask on the last command's date.)
    last = max(datetime.fromisoformat(c["at"]) for c in scenario.commands)
    for partner_id in scenario.model.partners:
        onboarded = sum(1 for c in scenario.model.customers.values() if c.partner_id == partner_id and c.signed_up)
        assert runtime.queries.status(partner_id, on=last)["onboarded_total"] == onboarded, partner_id

    # (d) never more promo holders than slots, and the holders are the model's.
    slots = [p.partner_id for p in payloads if isinstance(p, PromoSlotTaken)]
    promo = scenario.terms["promo"]
    assert len(slots) <= (promo["slots"] if promo else 0)
    assert len(set(slots)) == len(slots)
    assert slots == scenario.model.promo_holders
    holders = [p for p in scenario.model.partners if runtime.queries.partner(p)["promo"]]
    assert sorted(holders) == sorted(slots)


def check_balances(runtime: Ledger, scenario: Scenario, results: list[dict[str, Any]]) -> dict[str, Any]:
    partners = sorted(scenario.model.partners)
    balances = all_balances(runtime, partners)
    # The model's balances, to the cent.
    assert balances == scenario.model.balances()
    # (e) the identities of DESIGN.md, and two decimals on every figure.
    earned_total: dict[str, Decimal] = defaultdict(Decimal)
    for currencies in balances.values():
        for currency, figures in currencies.items():
            for name, value in figures.items():
                assert TWO_DECIMALS.match(value), (currency, name, value)
            f = {name: Decimal(value) for name, value in figures.items()}
            assert f["lifetime_commission"] == f["earned"] - f["clawed_back"] - f["deducted"] + f["adjusted"]
            assert f["balance"] == f["lifetime_commission"] - f["paid"]
            assert f["earned"] >= 0 and f["clawed_back"] >= 0 and f["deducted"] >= 0 and f["discount"] >= 0
            assert f["clawed_back"] <= f["earned"]
            earned_total[currency] += f["earned"]
    # Earned balances sum to the commissions reported by record_payment (each payment once).
    reported: dict[str, tuple[str, Decimal]] = {}
    for command, result in zip(scenario.commands, results, strict=True):
        if command["type"] == "record_payment" and result["ok"] and result["earning"]["kind"] == "commission":
            reported.setdefault(command["payment_id"], (command["currency"], Decimal(result["earning"]["amount"])))
    reported_total: dict[str, Decimal] = defaultdict(Decimal)
    for currency, amount in reported.values():
        reported_total[currency] += amount
    assert {c: v for c, v in earned_total.items() if v} == {c: v for c, v in reported_total.items() if v}
    return balances


def run_scenario(url: str, batch_url: str | None, scenario: Scenario) -> None:
    runtime = bootstrap(database_url=url)
    try:
        results, known = [], []
        for command in scenario.commands:  # one transaction per command, projections caught up each time
            results.append(runtime.bus.handle(command))
            known.append(datetime.now(UTC))
            runtime.read_models.catch_up()
        check_outcomes(scenario, results)
        balances = check_balances(runtime, scenario, results)
        check_time_travel(runtime, scenario, known)
        check_replay_equals_live(runtime, sorted(scenario.model.partners))
        check_event_invariants(runtime, scenario)

        # (f) the same list again: every command is a no-op returning its first result.
        events_before = runtime.store.max_position()
        again = list(runtime.bus.handle_many(scenario.commands))
        runtime.read_models.catch_up()
        assert [normalised(r) for r in again] == [normalised(r) for r in results]
        assert runtime.store.max_position() == events_before
        assert all_balances(runtime, sorted(scenario.model.partners)) == balances
    finally:
        runtime.close()

    if batch_url is None:
        return
    # (g) the whole list in one batch (one unit of work, one transaction): same outcome.
    batch = bootstrap(database_url=batch_url)
    try:
        batch_results = list(batch.bus.handle_many(scenario.commands, batch_size=len(scenario.commands)))
        batch.read_models.catch_up()
        assert [normalised(r) for r in batch_results] == [normalised(r) for r in results]
        assert batch.store.max_position() == events_before
        assert all_balances(batch, sorted(scenario.model.partners)) == balances
    finally:
        batch.close()


# =========================================================================================
# The tests
# =========================================================================================


@settings(SETTINGS, max_examples=40)
@given(scenario=scenarios())
def test_ledger_agrees_with_the_model_and_its_invariants_sqlite(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory(prefix="ledger-prop-") as tmp:
        run_scenario(f"sqlite:///{Path(tmp) / 'live.db'}", f"sqlite:///{Path(tmp) / 'batch.db'}", scenario)


def test_ledger_agrees_with_the_model_and_its_invariants_postgres(pg_available: bool) -> None:
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")

    @settings(SETTINGS, max_examples=5)
    @given(scenario=scenarios(max_steps=25))
    def check(scenario: Scenario) -> None:
        with pg_schema() as url:
            run_scenario(url, None, scenario)

    check()


# -- focused properties ------------------------------------------------------------------


@settings(SETTINGS, max_examples=40)
@given(
    paid_cents=st.integers(1, 100_000),
    tax_cents=st.integers(0, 20_000),
    rate=st.sampled_from(RATES),
    shares=st.lists(st.floats(0.01, 1.2), min_size=0, max_size=5),
    finish=st.booleans(),
    chargeback=st.booleans(),
)
# Thirds of 1.00 earned: 0.33 + 0.33, then the last third must take the remaining 0.34.
@example(paid_cents=300, tax_cents=0, rate="0.333", shares=[1 / 3, 1 / 3], finish=True, chargeback=False)
# Half-up at the edge: 0.175 x 10.10 = 1.7675 -> 1.77; a refund of 1.01 of 11.11 paid.
@example(paid_cents=1010, tax_cents=101, rate="0.175", shares=[0.0909, 2.0], finish=True, chargeback=True)
def test_clawbacks_track_the_refunded_share_and_never_exceed_the_earning(
    paid_cents: int, tax_cents: int, rate: str, shares: list[float], finish: bool, chargeback: bool
) -> None:
    """Refunds of random sizes against one payment (some larger than what is left):
    accepted exactly while they fit, each claws back its share of the payment's own
    commission, and the reversal that empties the payment takes exactly what is left."""
    terms = {"levels": {"Std": {"rate": rate}}, "default_level": "Std", "commissionable_revenue": ["subscription"]}
    model = Model({**terms, "promo": None, "training_required_for_leads": False,
                   "levels": {"Std": {"rate": rate, "discount": "0", "period_months": None}}})
    total = paid_cents + tax_cents
    commands = [b.program(terms=terms), *b.partner("p1"), *b.customer("c1", "p1"),
                b.payment("pay", "c1", {"subscription": cents(paid_cents)}, tax=cents(tax_cents))]
    expects = [model.run(c) for c in commands]
    # Refund amounts as shares of the paid amount (floats only pick the cents).
    for i, share in enumerate(shares):
        commands.append(b.refund(f"r{i}", "pay", cents(max(1, round(total * share)))))
        expects.append(model.run(commands[-1]))
    left = int(model.payments["pay"].refundable * 100)
    if finish and left:
        reverse = b.chargeback if chargeback else b.refund
        commands.append(reverse("last", "pay", cents(left)))
        expects.append(model.run(commands[-1]))
    with tempfile.TemporaryDirectory(prefix="ledger-prop-") as tmp:
        runtime = bootstrap(database_url=f"sqlite:///{Path(tmp) / 'ledger.db'}")
        try:
            results = list(runtime.bus.handle_many(commands))
            runtime.read_models.catch_up()
            check_outcomes(Scenario(terms, commands, expects, model), results)
            assert all_balances(runtime, ["p1"]) == model.balances()
            earned = Decimal(results[5]["earning"]["amount"])
            clawbacks = [Decimal(r["clawback"]) for r in results[6:] if r["ok"]]
            assert all(c >= 0 for c in clawbacks) and sum(clawbacks) <= earned
            if finish and left:
                assert sum(clawbacks) == earned  # nothing left on a fully reversed payment
        finally:
            runtime.close()


@settings(SETTINGS, max_examples=20)
@given(claim_day=st.integers(1, 60), pay_day=st.integers(1, 60), claim_recorded_first=st.booleans())
@example(claim_day=10, pay_day=32, claim_recorded_first=False)  # a lead entered late, dated before the purchase
def test_a_claim_qualifies_by_what_the_customer_had_done_by_the_claim_date(
    claim_day: int, pay_day: int, claim_recorded_first: bool
) -> None:
    """DESIGN: a claim does not qualify if the customer "has purchased before (it was a
    customer before the claim)". Whether the customer had purchased is a question about
    the claim's effective date, not about the order in which the ledger learnt the facts.

    Recorded first, the claim cannot know of a later-recorded, backdated payment: it
    qualifies. Recorded after the payment, it qualifies exactly when it is dated before
    that payment."""
    assume(claim_day != pay_day)
    claim = b.claim("c1", "p1", channel="lead", at=(T0 + timedelta(days=claim_day)).isoformat())
    pay = b.payment("pay1", "c1", {"subscription": "100.00"}, at=(T0 + timedelta(days=pay_day)).isoformat())
    # The partner is approved before any claim date, so only the purchase decides.
    approved = (T0 - timedelta(days=1)).isoformat()
    commands = [b.program(preset="referral-tiers", at=approved), b.application("p1", at=approved), b.approve("p1", at=approved),
                b.signup("c1", at=T0.isoformat())]
    commands += [claim, pay] if claim_recorded_first else [pay, claim]
    with tempfile.TemporaryDirectory(prefix="ledger-prop-") as tmp:
        runtime = bootstrap(database_url=f"sqlite:///{Path(tmp) / 'ledger.db'}")
        try:
            results = [runtime.bus.handle(command) for command in commands]
        finally:
            runtime.close()
    claim_result = results[4] if claim_recorded_first else results[5]
    should_qualify = claim_recorded_first or claim_day < pay_day
    assert claim_result["ok"] == should_qualify, (
        f"claim dated day {claim_day}, payment dated day {pay_day}, "
        f"{'claim' if claim_recorded_first else 'payment'} recorded first: {claim_result}"
    )


@settings(SETTINGS, max_examples=15)
@given(day=st.integers(10, 120), terminated_day=st.integers(10, 120), cost_cents=st.integers(1, 100_000))
@example(day=60, terminated_day=30, cost_cents=5_000)
def test_a_cost_deducts_exactly_when_a_payment_on_its_date_would_earn(day: int, terminated_day: int, cost_cents: int) -> None:
    """Costs reduce the Net Revenue commission is paid on, so a cost deducts rate x cost
    exactly on the dates a payment would earn commission. A partner terminated before
    the cost's date earns nothing on that date's revenue, so the cost deducts nothing."""
    assume(day != terminated_day)
    at = (T0 + timedelta(days=day)).isoformat()
    commands = [
        b.program(preset="referral-tiers"), *b.partner("p1"), *b.customer("c1", "p1"),
        {"type": "terminate_partner", "partner_id": "p1", "reason": "left the program",
         "at": (T0 + timedelta(days=terminated_day)).isoformat()},
        b.payment("pay", "c1", {"subscription": "100.00"}, at=at),
        b.cost("cost", "c1", cents(cost_cents), at=at),
    ]
    with tempfile.TemporaryDirectory(prefix="ledger-prop-") as tmp:
        runtime = bootstrap(database_url=f"sqlite:///{Path(tmp) / 'ledger.db'}")
        try:
            results = list(runtime.bus.handle_many(commands))
        finally:
            runtime.close()
    assert all(r["ok"] for r in results), results
    payment, cost = results[-2], results[-1]
    earns = payment["earning"]["kind"] == "commission"
    assert earns == (day < terminated_day), payment  # the customer was claimed on day 9
    expected = rnd(Decimal("0.20") * Decimal(cents(cost_cents))) if earns else Decimal(0)
    assert Decimal(cost["deduction"]) == expected, (
        f"cost on day {day}, partner terminated on day {terminated_day}: payment {payment['earning']}, cost {cost}")


@settings(SETTINGS, max_examples=10)
@given(forget=st.sampled_from(["partner", "customer"]), conflicts=st.integers(1, 3))
@example(forget="partner", conflicts=1)
def test_a_batch_replayed_after_a_conflict_gives_the_results_of_a_clean_run(forget: str, conflicts: int) -> None:
    """A version conflict with another writer replays the batch on fresh state: the
    replay must not see effects of the rolled-back attempt. Forgetting destroys a key
    in the vault, outside the event store's transaction, so a rolled-back forget must
    not leave the replayed batch unable to seal the personal data it carries."""
    from eventsourcing.persistence import IntegrityError

    from commands.unit_of_work import UnitOfWork

    forget_command = (
        {"type": "forget_partner", "partner_id": "p1", "reason": "erasure request"} if forget == "partner"
        else {"type": "forget_customer", "customer_id": "c1", "reason": "erasure request"}
    )
    commands = [
        b.program(preset="referral-tiers"), *b.partner("p1"), *b.customer("c1", "p1", email="it@c1.example"),
        b.payment("pay1", "c1", {"subscription": "100.00"}),
        {**forget_command, "at": "2025-03-01T00:00:00Z"},
    ]
    with tempfile.TemporaryDirectory(prefix="ledger-prop-") as tmp:
        clean = bootstrap(database_url=f"sqlite:///{Path(tmp) / 'clean.db'}")
        try:
            expected = list(clean.bus.handle_many(commands))
        finally:
            clean.close()
        assert all(r["ok"] for r in expected), expected

        runtime = bootstrap(database_url=f"sqlite:///{Path(tmp) / 'raced.db'}")
        commit = UnitOfWork.commit
        lost = [conflicts]

        def losing_commit(self: UnitOfWork) -> int:
            if lost[0]:  # another writer got there first
                lost[0] -= 1
                raise IntegrityError("simulated version conflict")
            return commit(self)

        try:
            UnitOfWork.commit = losing_commit  # type: ignore[method-assign]
            results = list(runtime.bus.handle_many(commands))
        finally:
            UnitOfWork.commit = commit  # type: ignore[method-assign]
            runtime.close()
    assert [normalised(r) for r in results] == [normalised(r) for r in expected], results


def test_personal_data_for_a_forgotten_partner_is_refused_not_an_internal_error(sqlite_ledger: Any) -> None:
    """After forgetting, new personal data for the same subject cannot be sealed: the
    command must be refused with a clear error, not fail inside the ledger."""
    sqlite_ledger.ok(b.program(preset="referral-tiers"), *b.partner("p1"),
                     {"type": "forget_partner", "partner_id": "p1", "reason": "erasure request"})
    error = sqlite_ledger.refused(
        {"type": "set_payout_details", "partner_id": "p1", "method": "iban", "account": "DE89370400440532013000"})
    assert error["code"] != "internal", error


def test_result_amounts_carry_the_currency_minor_unit(sqlite_ledger: Any) -> None:
    """Every money amount a command reports for USD has two decimals, zero included
    ("0.00", as the balances print it), so consumers can compare amounts as text."""
    results = sqlite_ledger.ok(
        b.program(preset="sales-partner"), *b.partner("p1"), *b.customer("c1", "p1"),
        b.signup("walk-in"),
        b.payment("pay-walk-in", "walk-in", {"platform_fee": "100.00"}),  # no partner: earns nothing
        b.refund("r-walk-in", "pay-walk-in", "10.00"),  # claws back nothing
        b.cost("cost-walk-in", "walk-in", "25.00"),  # deducts nothing
        b.payment("pay-setup", "c1", {"setup": "100.00"}),  # nothing commissionable: 0.00
    )
    amounts = {
        "earning of an unattributed payment": results[-4]["earning"].get("amount"),
        "clawback of a payment that earned nothing": results[-3]["clawback"],
        "deduction of a cost of an unattributed customer": results[-2]["deduction"],
        "commission on a payment with nothing commissionable": results[-1]["earning"]["amount"],
    }
    assert {k: v for k, v in amounts.items() if v is None or not TWO_DECIMALS.match(v)} == {}
