"""Table-driven unit tests of the commission policy (ledger/policy.py).

Pure functions of in-memory aggregates: each aggregate is built by applying catalogue
events in envelopes, exactly as the repository would rebuild it. No database, no I/O.
Figures are the partner programs' own (ledger/presets.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise
from typing import Any, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.base import Event, EventMeta
from events.customer import Channel, CustomerClaimed, CustomerFirstPaid, CustomerSignedUp
from events.partner import (
    ApplicationApproved,
    ApplicationSubmitted,
    CommissionRateSet,
    LevelChanged,
    PartnerTerminated,
    Profile,
)
from events.program import Level, PayoutTerms, ProgramDefined, ProgramTermsChanged, Terms
from events.revenue import Earning, RevenueLine
from ledger.aggregate import Aggregate, Envelope
from ledger.calendar import add_months
from ledger.customer import Customer
from ledger.partner import Partner
from ledger.policy import (
    clawback,
    commissionable_base,
    cost_deduction,
    effective_rate,
    in_commission_period,
    is_self_referral,
    payment_earning,
)
from ledger.presets import preset_terms
from ledger.program import Program

D = Decimal
AggregateT = TypeVar("AggregateT", bound=Aggregate)
Events = Sequence[tuple[str, Event]]

# -- in-memory aggregates ------------------------------------------------------------------


def at(text: str) -> datetime:
    """``2025-01-31`` or ``2025-01-31T10:30:00``, in UTC."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def build(aggregate: AggregateT, *events: tuple[str, Event]) -> AggregateT:
    """Apply each (effective date, payload) to the aggregate as the next envelope."""
    for when, payload in events:
        meta = EventMeta(effective_at=at(when), actor="t", source="cli", correlation_id="c")
        aggregate.apply(Envelope(aggregate.id, aggregate.version + 1, at(when), meta, payload))
    return aggregate


PROFILE = Profile(
    company="P1 GmbH", contact_email="sealed", city="Berlin", country="DE",
    business_type="agency", team_size=4, client_count=12,
)


def program(preset: str = "sales-partner", *, terms: Terms | None = None, changes: Events = ()) -> Program:
    defined = ProgramDefined(program_id="prog", terms=terms or preset_terms(preset), preset=preset)
    return build(Program(Program.id_for("prog")), ("2024-01-01", defined), *changes)


def partner(
    level: str = "Standard", *, approved: str = "2025-01-05", rate: str | None = None,
    promo: str | None = None, email_hash: str = "h:owner@p1.example", domain_hash: str | None = "h:p1.example",
    later: Events = (),
) -> Partner:
    return build(
        Partner(Partner.id_for("p1")),
        ("2025-01-02", ApplicationSubmitted(partner_id="p1", program_id="prog", profile=PROFILE,
                                            email_hash=email_hash, domain_hash=domain_hash)),
        (approved, ApplicationApproved(partner_id="p1", level=level, rate=None if rate is None else D(rate),
                                       promo_rate=None if promo is None else D(promo))),
        *later,
    )


def customer(
    *, channel: Channel = "link", attributed: str = "2025-01-10", first_paid: str | None = None,
    email_hash: str | None = "h:buyer@c1.example", domain_hash: str | None = "h:c1.example",
) -> Customer:
    events: list[tuple[str, Event]] = [
        ("2025-01-10", CustomerSignedUp(customer_id="c1", email_hash=email_hash, domain_hash=domain_hash)),
        (attributed, CustomerClaimed(customer_id="c1", partner_id="p1", program_id="prog", channel=channel)),
    ]
    if first_paid is not None:
        events.append((first_paid, CustomerFirstPaid(customer_id="c1", paid_at=at(first_paid))))
    return build(Customer(Customer.id_for("c1")), *events)


def lines(**amounts: str) -> list[RevenueLine]:
    return [RevenueLine(kind=kind, amount=D(amount)) for kind, amount in amounts.items()]


def rate_set(when: str, rate: str | None) -> tuple[str, Event]:
    return when, CommissionRateSet(partner_id="p1", rate=None if rate is None else D(rate))


def level_changed(when: str, level: str) -> tuple[str, Event]:
    return when, LevelChanged(partner_id="p1", level=level)


def terminated(when: str) -> tuple[str, Event]:
    return when, PartnerTerminated(partner_id="p1", reason="contract ended")


def with_level(preset: str, level: str, **changes: Any) -> Terms:
    """A preset whose ``level`` has some fields changed."""
    terms = preset_terms(preset)
    levels = dict(terms.levels)
    levels[level] = levels[level].model_copy(update=changes)
    return terms.model_copy(update={"levels": levels})


SALES_RATE_025 = with_level("sales-partner", "Standard", rate=D("0.25"))


def test_presets_carry_the_documented_figures() -> None:
    sales = preset_terms("sales-partner")
    assert sales.levels["Standard"] == Level(rate=D("0.20"), discount=D("0"), period_months=None)
    assert sales.promo is not None and (sales.promo.rate, sales.promo.slots) == (D("0.50"), 3)
    assert sales.commissionable_revenue == ["platform_fee", "message_overage"]
    tiers = preset_terms("referral-tiers")
    assert {name: (level.rate, level.period_months) for name, level in tiers.levels.items()} == {
        "Master": (D("0.20"), 36), "Elite": (D("0.20"), 24), "Sales Partner": (D("0.20"), 24),
    }
    resell = preset_terms("refer-resell")
    assert {name: (str(level.rate), str(level.discount), level.period_months) for name, level in resell.levels.items()} == {
        "Registered": ("0.15", "0.20", None), "Silver": ("0.20", "0.25", None),
        "Gold": ("0.25", "0.30", None), "Platinum": ("0.35", "0.35", None),
    }


# -- effective_rate --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "partner_kwargs", "changes", "on", "expected"),
    [
        pytest.param("sales-partner", {}, (), "2025-02-01", "0.20", id="sales-standard-20"),
        pytest.param("sales-partner", {"promo": "0.50"}, (), "2025-02-01", "0.50", id="sales-promo-holder-50"),
        pytest.param("sales-partner", {"promo": "0.50"}, (), "2030-02-01", "0.50", id="sales-promo-holder-keeps-50-years-later"),
        pytest.param("sales-partner", {"rate": "0.30"}, (), "2025-02-01", "0.30", id="sales-rate-set-at-approval"),
        pytest.param("sales-partner", {"promo": "0.50", "later": [rate_set("2025-03-01", "0.35")]}, (), "2025-03-01",
                     "0.35", id="override-wins-over-promo-from-its-date"),
        pytest.param("sales-partner", {"promo": "0.50", "later": [rate_set("2025-03-01", "0.35")]}, (), "2025-02-28T23:59:59",
                     "0.50", id="promo-before-the-override-date"),
        pytest.param("sales-partner", {"promo": "0.50", "later": [rate_set("2025-03-01", "0.35"), rate_set("2025-04-01", None)]},
                     (), "2025-04-01", "0.50", id="override-removed-falls-back-to-promo"),
        pytest.param("sales-partner", {"later": [rate_set("2025-03-01", "0.35"), rate_set("2025-04-01", None)]},
                     (), "2025-04-01", "0.20", id="override-removed-falls-back-to-level"),
        pytest.param("sales-partner", {"later": [rate_set("2025-03-01", "0.35"), rate_set("2025-04-01", None)]},
                     (), "2025-03-31T23:59:59", "0.35", id="override-in-force-until-removed"),
        pytest.param("sales-partner", {"later": [rate_set("2025-03-01", "0")]}, (), "2025-03-01", "0",
                     id="override-of-zero-is-a-rate-not-a-fallback"),
        pytest.param("sales-partner", {}, [("2025-06-01", ProgramTermsChanged(program_id="prog", terms=SALES_RATE_025))],
                     "2025-05-31T23:59:59", "0.20", id="level-rate-before-terms-change"),
        pytest.param("sales-partner", {}, [("2025-06-01", ProgramTermsChanged(program_id="prog", terms=SALES_RATE_025))],
                     "2025-06-01", "0.25", id="level-rate-after-terms-change"),
        pytest.param("sales-partner", {"promo": "0.50"}, [("2025-06-01", ProgramTermsChanged(program_id="prog", terms=SALES_RATE_025))],
                     "2025-06-01", "0.50", id="promo-holder-unaffected-by-terms-change"),
        pytest.param("refer-resell", {"level": "Registered"}, (), "2025-02-01", "0.15", id="resell-registered-15"),
        pytest.param("refer-resell", {"level": "Silver"}, (), "2025-02-01", "0.20", id="resell-silver-20"),
        pytest.param("refer-resell", {"level": "Gold"}, (), "2025-02-01", "0.25", id="resell-gold-25"),
        pytest.param("refer-resell", {"level": "Platinum"}, (), "2025-02-01", "0.35", id="resell-platinum-35"),
        pytest.param("refer-resell", {"level": "Registered", "later": [level_changed("2025-05-01", "Gold")]}, (),
                     "2025-04-30T23:59:59", "0.15", id="resell-level-before-change"),
        pytest.param("refer-resell", {"level": "Registered", "later": [level_changed("2025-05-01", "Gold")]}, (),
                     "2025-05-01", "0.25", id="resell-level-after-change"),
        pytest.param("referral-tiers", {"level": "Master"}, (), "2025-02-01", "0.20", id="tiers-master-20"),
        pytest.param("referral-tiers", {"level": "Elite"}, (), "2025-02-01", "0.20", id="tiers-elite-20"),
        pytest.param("referral-tiers", {"level": "Sales Partner"}, (), "2025-02-01", "0.20", id="tiers-sales-partner-20"),
        pytest.param("sales-partner", {}, (), "2025-01-04T23:59:59", None, id="no-level-before-approval"),
        pytest.param("sales-partner", {"later": [level_changed("2025-03-01", "Ghost")]}, (), "2025-03-01", None,
                     id="level-not-in-terms"),
    ],
)
def test_effective_rate(preset: str, partner_kwargs: dict[str, Any], changes: Events, on: str, expected: str | None) -> None:
    got = effective_rate(partner(**partner_kwargs), program(preset, changes=changes), at(on))
    assert (None if got is None else str(got)) == expected


# -- in_commission_period --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first_paid", "months", "on", "expected"),
    [
        pytest.param(None, 24, "2040-01-01", True, id="no-first-payment-yet"),
        pytest.param("2025-01-31", None, "2099-12-31", True, id="lifetime"),
        pytest.param("2025-01-31", 1, "2025-02-27T23:59:59.999999", True, id="jan31+1-last-instant-before-feb28"),
        pytest.param("2025-01-31", 1, "2025-02-28", False, id="jan31+1-clamps-to-feb28"),
        pytest.param("2025-01-31", 1, "2025-03-01", False, id="jan31+1-after-end"),
        pytest.param("2024-01-31", 1, "2024-02-28T23:59:59", True, id="leap-jan31+1-feb28-still-in"),
        pytest.param("2024-01-31", 1, "2024-02-29", False, id="leap-jan31+1-clamps-to-feb29"),
        pytest.param("2024-02-29", 12, "2025-02-27T23:59:59", True, id="feb29+12-before-end"),
        pytest.param("2024-02-29", 12, "2025-02-28", False, id="feb29+12-clamps-to-feb28"),
        pytest.param("2024-02-29", 48, "2028-02-28T23:59:59", True, id="feb29+48-before-next-leap-day"),
        pytest.param("2024-02-29", 48, "2028-02-29", False, id="feb29+48-lands-on-leap-day"),
        pytest.param("2025-01-15T10:30:00", 24, "2027-01-15T10:29:59.999999", True, id="elite-24-last-microsecond"),
        pytest.param("2025-01-15T10:30:00", 24, "2027-01-15T10:30:00", False, id="elite-24-end-is-exclusive"),
        pytest.param("2025-01-31", 36, "2028-01-30", True, id="master-36-day-before"),
        pytest.param("2025-01-31", 36, "2028-01-31", False, id="master-36-on-boundary"),
        pytest.param("2025-03-01", 24, "2025-02-01", True, id="payment-before-first-payment"),
    ],
)
def test_in_commission_period(first_paid: str | None, months: int | None, on: str, expected: bool) -> None:
    assert in_commission_period(None if first_paid is None else at(first_paid), months, at(on)) is expected


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))


@given(first_paid=moments, months=st.integers(min_value=1, max_value=120))
def test_commission_period_ends_exactly_at_first_payment_plus_months(first_paid: datetime, months: int) -> None:
    end = add_months(first_paid, months)
    assert in_commission_period(first_paid, months, end - timedelta(microseconds=1))
    assert not in_commission_period(first_paid, months, end)
    assert not in_commission_period(first_paid, months, end + timedelta(days=1))
    assert in_commission_period(first_paid, months, first_paid)


# -- commissionable_base -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "revenue", "expected"),
    [
        pytest.param("sales-partner", {"platform_fee": "100.00", "message_overage": "25.50"}, "125.50", id="sales-fee-plus-overage"),
        pytest.param("sales-partner", {"platform_fee": "100.00", "message_overage": "25.50", "setup_fee": "500.00",
                                       "hardware": "300.00", "tax": "19.00"}, "125.50", id="sales-setup-hardware-tax-never-count"),
        pytest.param("sales-partner", {"setup_fee": "500.00", "hardware": "300.00"}, "0", id="sales-nothing-commissionable"),
        pytest.param("sales-partner", {}, "0", id="no-lines"),
        pytest.param("sales-partner", {"platform_fee": "100.00", "message_overage": "-30.00"}, "70.00", id="credit-line-reduces"),
        pytest.param("referral-tiers", {"subscription": "80.00", "setup_fee": "20.00", "hardware": "0.05"}, "100.05", id="tiers-every-kind"),
        pytest.param("refer-resell", {"subscription": "200.00", "setup_fee": "50.00", "platform_fee": "10.00"}, "200.00",
                     id="resell-subscription-only"),
    ],
)
def test_commissionable_base(preset: str, revenue: dict[str, str], expected: str) -> None:
    assert str(commissionable_base(preset_terms(preset), lines(**revenue))) == expected


# -- payment_earning ----------------------------------------------------------------------------


def earn(
    *, preset: str = "sales-partner", partner_kwargs: dict[str, Any] | None = None,
    customer_kwargs: dict[str, Any] | None = None, paid: str = "2025-02-01", revenue: dict[str, str] | None = None,
    currency: str = "USD", self_referral: bool = False, terms: Terms | None = None, changes: Events = (),
) -> Earning:
    return payment_earning(
        partner=partner(**(partner_kwargs or {})), program=program(preset, terms=terms, changes=changes),
        customer=customer(**(customer_kwargs or {})), paid_at=at(paid), currency=currency,
        lines=lines(**(revenue if revenue is not None else {"platform_fee": "100.00", "message_overage": "25.50"})),
        self_referral=self_referral,
    )


@pytest.mark.parametrize(
    ("kwargs", "rate", "base", "amount"),
    [
        pytest.param({}, "0.20", "125.50", "25.10", id="sales-standard"),
        pytest.param({"partner_kwargs": {"promo": "0.50"}}, "0.50", "125.50", "62.75", id="sales-promo"),
        pytest.param({"partner_kwargs": {"promo": "0.50", "later": [rate_set("2025-01-20", "0.30")]}}, "0.30", "125.50", "37.65",
                     id="sales-override-over-promo"),
        pytest.param({"revenue": {"platform_fee": "100.00", "setup_fee": "999.00", "hardware": "450.00"}}, "0.20", "100.00", "20.00",
                     id="sales-setup-and-hardware-excluded"),
        pytest.param({"revenue": {"setup_fee": "999.00"}}, "0.20", "0", "0.00", id="sales-only-setup-fee"),
        pytest.param({"revenue": {"platform_fee": "0.025"}}, "0.20", "0.025", "0.01", id="usd-half-cent-rounds-up"),
        pytest.param({"revenue": {"platform_fee": "0.024"}}, "0.20", "0.024", "0.00", id="usd-below-half-cent-rounds-down"),
        pytest.param({"revenue": {"platform_fee": "0.025", "message_overage": "0.025"}}, "0.20", "0.050", "0.01",
                     id="usd-rounded-once-not-per-revenue-line"),
        pytest.param({"revenue": {"platform_fee": "0.125"}, "partner_kwargs": {"promo": "0.50"}}, "0.50", "0.125", "0.06",
                     id="usd-0.0625-rounds-down"),
        pytest.param({"revenue": {"platform_fee": "1233"}, "currency": "JPY", "partner_kwargs": {"promo": "0.50"}}, "0.50", "1233", "617",
                     id="jpy-0-decimals-half-up"),
        pytest.param({"revenue": {"platform_fee": "1232"}, "currency": "JPY"}, "0.20", "1232", "246", id="jpy-0-decimals-down"),
        pytest.param({"revenue": {"platform_fee": "1.225"}, "currency": "KWD", "partner_kwargs": {"promo": "0.50"}}, "0.50", "1.225", "0.613",
                     id="kwd-3-decimals-half-up"),
        pytest.param({"revenue": {"platform_fee": "10.000"}, "currency": "KWD"}, "0.20", "10.000", "2.000", id="kwd-3-decimals-exponent"),
        pytest.param({"preset": "refer-resell", "partner_kwargs": {"level": "Platinum"}, "revenue": {"subscription": "200.00", "setup_fee": "50.00"}},
                     "0.35", "200.00", "70.00", id="resell-referral-platinum-commission"),
        pytest.param({"preset": "refer-resell", "partner_kwargs": {"level": "Registered"}, "paid": "2045-02-01",
                      "customer_kwargs": {"first_paid": "2025-02-01"}, "revenue": {"subscription": "99.99"}},
                     "0.15", "99.99", "15.00", id="resell-referral-lifetime"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Master"}, "revenue": {"subscription": "80.00", "setup_fee": "20.00"}},
                     "0.20", "100.00", "20.00", id="tiers-every-kind-counts"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Master"}, "customer_kwargs": {"first_paid": "2025-01-31"},
                      "paid": "2028-01-30T23:59:59", "revenue": {"subscription": "50.00"}}, "0.20", "50.00", "10.00",
                     id="tiers-master-last-day-of-36-months"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Elite"}, "customer_kwargs": {"first_paid": "2025-01-31"},
                      "paid": "2027-01-30T23:59:59", "revenue": {"subscription": "50.00"}}, "0.20", "50.00", "10.00",
                     id="tiers-elite-last-day-of-24-months"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Sales Partner"}, "customer_kwargs": {"first_paid": "2024-02-29"},
                      "paid": "2026-02-27T23:59:59", "revenue": {"subscription": "50.00"}}, "0.20", "50.00", "10.00",
                     id="tiers-sales-partner-leap-day-before-clamped-end"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Elite"}, "paid": "2030-01-01",
                      "revenue": {"subscription": "50.00"}}, "0.20", "50.00", "10.00",
                     id="tiers-first-ever-payment-opens-the-period"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Elite"}, "customer_kwargs": {"first_paid": "2027-06-01"},
                      "paid": "2025-03-01", "revenue": {"subscription": "50.00"}}, "0.20", "50.00", "10.00",
                     id="tiers-backdated-payment-before-recorded-first-payment"),
        pytest.param({"terms": with_level("sales-partner", "Standard", period_months=1), "customer_kwargs": {"first_paid": "2025-01-31"},
                      "paid": "2025-02-27T23:59:59.999999"}, "0.20", "125.50", "25.10", id="one-month-period-jan31-before-feb28"),
        pytest.param({"partner_kwargs": {"later": [terminated("2025-06-01")]}, "paid": "2025-05-31T23:59:59.999999"}, "0.20", "125.50", "25.10",
                     id="just-before-termination"),
        pytest.param({"customer_kwargs": {"attributed": "2025-01-20"}, "paid": "2025-01-20"}, "0.20", "125.50", "25.10",
                     id="paid-at-the-attribution-instant"),
    ],
)
def test_payment_earns_commission(kwargs: dict[str, Any], rate: str, base: str, amount: str) -> None:
    earning = earn(**kwargs)
    assert (earning.kind, earning.partner_id, str(earning.rate), str(earning.base), str(earning.amount)) == (
        "commission", "p1", rate, base, amount,
    )
    assert (earning.reason, earning.wholesale, earning.hold_reason) == (None, None, None)
    assert earning.payable_at == at(kwargs.get("paid", "2025-02-01"))


NO_LEVEL = "partner had no level on the payment date"


@pytest.mark.parametrize(
    ("kwargs", "reason", "zero"),
    [
        pytest.param({"customer_kwargs": {"attributed": "2025-01-20"}, "paid": "2025-01-19T23:59:59"},
                     "paid before the customer was attributed", "0.00", id="before-attribution"),
        pytest.param({"customer_kwargs": {"attributed": "2025-01-20"}, "paid": "2025-01-19", "partner_kwargs": {"later": [terminated("2025-01-15")]}},
                     "paid before the customer was attributed", "0.00", id="before-attribution-checked-before-termination"),
        pytest.param({"partner_kwargs": {"later": [terminated("2025-06-01")]}, "paid": "2025-06-01"},
                     "partner terminated before this payment", "0.00", id="at-termination-instant"),
        pytest.param({"partner_kwargs": {"later": [terminated("2025-06-01")]}, "paid": "2026-01-01", "currency": "JPY"},
                     "partner terminated before this payment", "0", id="after-termination-jpy-zero"),
        pytest.param({"preset": "refer-resell", "partner_kwargs": {"level": "Gold", "later": [terminated("2025-06-01")]},
                      "customer_kwargs": {"channel": "resell"}, "paid": "2025-07-01", "revenue": {"subscription": "200.00"}},
                     "partner terminated before this payment", "0.00", id="resale-after-termination"),
        pytest.param({"partner_kwargs": {"approved": "2025-01-15"}, "paid": "2025-01-12", "currency": "KWD"},
                     NO_LEVEL, "0.000", id="before-approval-kwd-zero"),
        pytest.param({"partner_kwargs": {"later": [level_changed("2025-03-01", "Ghost")]}, "paid": "2025-03-01"},
                     NO_LEVEL, "0.00", id="level-not-in-terms"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Master"}, "customer_kwargs": {"first_paid": "2025-01-31"},
                      "paid": "2028-01-31", "revenue": {"subscription": "50.00"}},
                     "outside the commission period", "0.00", id="tiers-master-36-months-boundary"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Elite"}, "customer_kwargs": {"first_paid": "2025-01-31"},
                      "paid": "2027-01-31", "revenue": {"subscription": "50.00"}},
                     "outside the commission period", "0.00", id="tiers-elite-24-months-boundary"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Sales Partner"}, "customer_kwargs": {"first_paid": "2024-02-29"},
                      "paid": "2026-02-28", "revenue": {"subscription": "50.00"}},
                     "outside the commission period", "0.00", id="tiers-sales-partner-leap-day-clamped-boundary"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Elite"}, "customer_kwargs": {"first_paid": "2025-01-31"},
                      "paid": "2031-05-05", "revenue": {"subscription": "50.00"}},
                     "outside the commission period", "0.00", id="tiers-years-later"),
        pytest.param({"terms": with_level("sales-partner", "Standard", period_months=1), "customer_kwargs": {"first_paid": "2025-01-31"},
                      "paid": "2025-02-28"}, "outside the commission period", "0.00", id="one-month-period-jan31-clamps-to-feb28"),
    ],
)
def test_payment_earns_nothing_with_a_reason(kwargs: dict[str, Any], reason: str, zero: str) -> None:
    earning = earn(**kwargs)
    assert (earning.kind, earning.partner_id, earning.reason, str(earning.base), str(earning.amount), str(earning.rate)) == (
        "none", "p1", reason, zero, zero, "0",
    )
    assert (earning.payable_at, earning.wholesale) == (None, None)


def test_level_moved_to_period_limited_tier_counts_from_first_payment() -> None:
    # Master (36 months) until 2027-06-01, then Elite (24 months): a payment after the
    # level change is judged by the level in force on its own date.
    later = [level_changed("2027-06-01", "Elite")]
    master_then_elite = {"level": "Master", "later": later}
    kwargs: dict[str, Any] = {"preset": "referral-tiers", "partner_kwargs": master_then_elite,
                              "customer_kwargs": {"first_paid": "2025-01-31"}, "revenue": {"subscription": "50.00"}}
    assert str(earn(**kwargs, paid="2027-05-31").amount) == "10.00"
    assert earn(**kwargs, paid="2027-06-01").reason == "outside the commission period"


@pytest.mark.parametrize(
    ("level", "discount", "amount", "wholesale"),
    [
        pytest.param("Registered", "0.20", "40.00", "210.00", id="registered-20"),
        pytest.param("Silver", "0.25", "50.00", "200.00", id="silver-25"),
        pytest.param("Gold", "0.30", "60.00", "190.00", id="gold-30"),
        pytest.param("Platinum", "0.35", "70.00", "180.00", id="platinum-35"),
    ],
)
def test_resold_customer_earns_a_discount_never_commission(level: str, discount: str, amount: str, wholesale: str) -> None:
    # list price 250.00 = subscription 200.00 (discounted) + setup fee 50.00 (not discounted)
    earning = earn(
        preset="refer-resell", partner_kwargs={"level": level, "later": [rate_set("2025-01-20", "0.99")]},
        customer_kwargs={"channel": "resell", "first_paid": "2025-02-01"}, paid="2065-02-01",
        revenue={"subscription": "200.00", "setup_fee": "50.00"},
    )
    assert earning == Earning(
        kind="discount", partner_id="p1", rate=D(discount), base=D("200.00"), amount=D(amount), wholesale=D(wholesale),
    )
    assert (str(earning.amount), str(earning.wholesale)) == (amount, wholesale)


def test_resale_discount_rounds_half_up_once() -> None:
    # Silver: 25 % of 0.10 = 0.025 -> 0.03 (half-up; half-even would give 0.02)
    earning = earn(preset="refer-resell", partner_kwargs={"level": "Silver"}, customer_kwargs={"channel": "resell"},
                   revenue={"subscription": "0.10"})
    assert (earning.kind, str(earning.amount), str(earning.wholesale)) == ("discount", "0.03", "0.07")


def test_self_referral_commission_is_held_for_review() -> None:
    earning = earn(self_referral=True)
    assert earning == Earning(
        kind="commission", partner_id="p1", rate=D("0.20"), base=D("125.50"), amount=D("25.10"),
        payable_at=None, hold_reason="self_referral",
    )


@pytest.mark.parametrize(
    ("hold_days", "paid", "payable"),
    [
        pytest.param(0, "2025-02-01T09:15:00", "2025-02-01T09:15:00", id="no-hold"),
        pytest.param(30, "2025-02-01T09:15:00", "2025-03-03T09:15:00", id="thirty-days"),
        pytest.param(14, "2025-12-25", "2026-01-08", id="fourteen-days-over-new-year"),
    ],
)
def test_commission_payable_after_hold_days(hold_days: int, paid: str, payable: str) -> None:
    terms = preset_terms("sales-partner").model_copy(update={"payout": PayoutTerms(hold_days=hold_days)})
    assert earn(terms=terms, paid=paid).payable_at == at(payable)


# -- clawback ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("earned", "left", "paid", "refundable", "amount", "currency", "expected"),
    [
        pytest.param("20.00", "20.00", "100.00", "100.00", "100.00", "USD", "20.00", id="full-refund-takes-all"),
        pytest.param("20.00", "20.00", "100.00", "100.00", "50.00", "USD", "10.00", id="half-refund-half-commission"),
        pytest.param("20.00", "20.00", "100.00", "100.00", "33.33", "USD", "6.67", id="third-rounds-half-up"),
        pytest.param("20.00", "13.34", "100.00", "33.34", "33.34", "USD", "13.34", id="emptying-refund-takes-what-is-left"),
        pytest.param("20.00", "6.66", "100.00", "33.34", "33.34", "USD", "6.66", id="emptying-refund-less-than-its-share"),
        pytest.param("20.00", "5.00", "100.00", "60.00", "50.00", "USD", "5.00", id="share-capped-by-what-is-left"),
        pytest.param("20.00", "0.00", "100.00", "60.00", "50.00", "USD", "0.00", id="nothing-left-nothing-clawed"),
        pytest.param("20.00", "20.00", "119.00", "119.00", "59.50", "USD", "10.00", id="share-of-paid-amount-with-tax"),
        pytest.param("0.01", "0.01", "2.00", "2.00", "1.00", "USD", "0.01", id="half-cent-rounds-up"),
        pytest.param("0.01", "0.01", "3.00", "3.00", "1.00", "USD", "0.00", id="third-of-a-cent-rounds-down"),
        pytest.param("20.00", "20.00", "100.00", "100.00", "0.00", "USD", "0.00", id="zero-refund"),
        pytest.param("25", "25", "125", "125", "62", "JPY", "12", id="jpy-0-decimals"),
        pytest.param("25", "25", "125", "125", "64", "JPY", "13", id="jpy-12.8-rounds-up"),
        pytest.param("0.245", "0.245", "1.225", "1.225", "0.500", "KWD", "0.100", id="kwd-3-decimals"),
        pytest.param("0.245", "0.245", "1.225", "1.225", "0.613", "KWD", "0.123", id="kwd-0.1226-rounds-up"),
        pytest.param("0.00", "0.00", "0.00", "5.00", "1.00", "USD", "0", id="zero-paid-amount-no-division"),
    ],
)
def test_clawback(earned: str, left: str, paid: str, refundable: str, amount: str, currency: str, expected: str) -> None:
    got = clawback(earned=D(earned), earning_left=D(left), paid_amount=D(paid), refundable=D(refundable),
                   amount=D(amount), currency=currency)
    assert str(got) == expected


def refund_in_steps(earned: Decimal, paid: Decimal, steps: Sequence[Decimal], currency: str = "USD") -> list[Decimal]:
    left, refundable, taken = earned, paid, []
    for amount in steps:
        back = clawback(earned=earned, earning_left=left, paid_amount=paid, refundable=refundable, amount=amount, currency=currency)
        taken.append(back)
        left, refundable = left - back, refundable - amount
    return taken


def test_three_partial_refunds_claw_back_exactly_the_commission() -> None:
    assert [str(d) for d in refund_in_steps(D("20.00"), D("100.00"), [D("33.33"), D("33.33"), D("33.34")])] == ["6.67", "6.67", "6.66"]


@given(
    paid_cents=st.integers(min_value=1, max_value=10_000_000),
    earned_share=st.fractions(min_value=0, max_value=1),
    cuts=st.lists(st.floats(min_value=0, max_value=1, allow_nan=False), max_size=8),
)
def test_partial_refunds_never_claw_back_more_than_earned_and_the_last_empties_it(
    paid_cents: int, earned_share: Fraction, cuts: list[float]
) -> None:
    paid = D(paid_cents) / 100
    earned = (D(earned_share.numerator) / D(earned_share.denominator) * paid).quantize(D("0.01"))
    points = sorted({int(cut * paid_cents) for cut in cuts} | {0, paid_cents})
    steps = [D(b - a) / 100 for a, b in pairwise(points)]
    taken = refund_in_steps(earned, paid, steps)
    left = earned
    for back in taken:
        assert D(0) <= back <= left
        assert back == back.quantize(D("0.01"))
        left -= back
    assert sum(taken, D("0.00")) == earned
    assert left == 0


# -- cost_deduction ----------------------------------------------------------------------------


def deduct(
    *, preset: str = "sales-partner", partner_kwargs: dict[str, Any] | None = None,
    customer_kwargs: dict[str, Any] | None = None, cost_at: str = "2025-02-15", amount: str = "40.00", currency: str = "USD",
) -> tuple[str, str]:
    rate, deduction = cost_deduction(
        partner=partner(**(partner_kwargs or {})), program=program(preset), customer=customer(**(customer_kwargs or {})),
        cost_at=at(cost_at), amount=D(amount), currency=currency,
    )
    return str(rate), str(deduction)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({}, ("0.20", "8.00"), id="sales-standard"),
        pytest.param({"partner_kwargs": {"promo": "0.50"}}, ("0.50", "20.00"), id="sales-promo"),
        pytest.param({"partner_kwargs": {"promo": "0.50", "later": [rate_set("2025-02-01", "0.30")]}}, ("0.30", "12.00"), id="override"),
        pytest.param({"partner_kwargs": {"later": [rate_set("2025-03-01", "0.30")]}}, ("0.20", "8.00"), id="rate-in-force-on-cost-date"),
        pytest.param({"amount": "0.025"}, ("0.20", "0.01"), id="usd-half-up"),
        pytest.param({"amount": "1233", "currency": "JPY", "partner_kwargs": {"promo": "0.50"}}, ("0.50", "617"), id="jpy-half-up"),
        pytest.param({"amount": "1.225", "currency": "KWD", "partner_kwargs": {"promo": "0.50"}}, ("0.50", "0.613"), id="kwd-half-up"),
        pytest.param({"preset": "refer-resell", "partner_kwargs": {"level": "Gold"}, "customer_kwargs": {"channel": "resell"}},
                     ("0", "0.00"), id="resold-customer-none"),
        pytest.param({"preset": "refer-resell", "partner_kwargs": {"level": "Gold"}}, ("0.25", "10.00"), id="resell-referral-gold"),
        pytest.param({"partner_kwargs": {"later": [terminated("2025-02-15")]}}, ("0", "0.00"), id="at-termination-none"),
        pytest.param({"partner_kwargs": {"later": [terminated("2025-02-16")]}}, ("0.20", "8.00"), id="before-termination"),
        pytest.param({"customer_kwargs": {"attributed": "2025-02-16"}}, ("0", "0.00"), id="before-attribution-none"),
        pytest.param({"partner_kwargs": {"later": [level_changed("2025-02-01", "Ghost")]}}, ("0", "0.00"), id="level-not-in-terms-none"),
        pytest.param({"partner_kwargs": {"approved": "2025-03-01"}, "currency": "JPY"}, ("0", "0"), id="no-level-yet-jpy-zero"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Elite"}, "customer_kwargs": {"first_paid": "2025-01-31"},
                      "cost_at": "2027-01-30T23:59:59"}, ("0.20", "8.00"), id="tiers-elite-last-day-in-period"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Elite"}, "customer_kwargs": {"first_paid": "2025-01-31"},
                      "cost_at": "2027-01-31"}, ("0", "0.00"), id="tiers-elite-period-over"),
        pytest.param({"preset": "referral-tiers", "partner_kwargs": {"level": "Master"}, "cost_at": "2040-01-01"},
                     ("0.20", "8.00"), id="tiers-no-payment-yet-counts"),
    ],
)
def test_cost_deduction(kwargs: dict[str, Any], expected: tuple[str, str]) -> None:
    assert deduct(**kwargs) == expected


# -- is_self_referral --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partner_hashes", "customer_hashes", "expected"),
    [
        pytest.param(("h:owner@p1.example", "h:p1.example"), ("h:buyer@c1.example", "h:c1.example"), False, id="strangers"),
        pytest.param(("h:owner@p1.example", "h:p1.example"), ("h:owner@p1.example", "h:p1.example"), True, id="same-address"),
        pytest.param(("h:owner@p1.example", "h:p1.example"), ("h:buyer@p1.example", "h:p1.example"), True, id="same-company-domain"),
        pytest.param(("h:owner@gmail.com", None), ("h:buyer@gmail.com", None), False, id="free-mail-different-addresses"),
        pytest.param(("h:owner@gmail.com", None), ("h:owner@gmail.com", None), True, id="free-mail-same-address"),
        pytest.param(("h:owner@p1.example", "h:p1.example"), ("h:buyer@gmail.com", None), False, id="customer-free-mail"),
        pytest.param(("h:owner@gmail.com", None), ("h:buyer@c1.example", "h:c1.example"), False, id="partner-free-mail"),
        pytest.param(("h:owner@p1.example", "h:p1.example"), (None, None), False, id="customer-without-email"),
        pytest.param(("h:owner@p1.example", "h:p1.example"), (None, "h:p1.example"), False, id="no-email-hash-domain-alone-ignored"),
    ],
)
def test_is_self_referral(partner_hashes: tuple[str, str | None], customer_hashes: tuple[str | None, str | None], expected: bool) -> None:
    p = partner(email_hash=partner_hashes[0], domain_hash=partner_hashes[1])
    c = customer(email_hash=customer_hashes[0], domain_hash=customer_hashes[1])
    assert is_self_referral(p, c) is expected
