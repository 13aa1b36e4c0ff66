"""DESIGN.md "Revenue and commission", "Programs and terms": rates, bases, rounding,
periods, effective dating, promo slots, reversals, costs, resale, self-referral."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from tests import builders as b


def setup(ledger: Any, *, terms: dict[str, Any] | None = None, preset: str = "referral-tiers", level: str | None = None,
          rate: str | None = None, channel: str = "link", customer_email: str | None = None,
          partner_email: str | None = None) -> None:
    """Program ``prog``, approved partner ``p1``, customer ``c1`` claimed by p1 on 2025-01-10."""
    ledger.ok(
        b.program(terms=terms) if terms else b.program(preset=preset),
        *b.partner("p1", level=level, rate=rate, email=partner_email),
        *b.customer("c1", "p1", channel, email=customer_email),
    )


def earning(ledger: Any, command: dict[str, Any]) -> dict[str, Any]:
    [result] = ledger.ok(command)
    return result["earning"]


def pay(payment_id: str, at: str, amount: str = "100.00", kind: str = "subscription", customer: str = "c1", **kw: Any) -> dict[str, Any]:
    return b.payment(payment_id, customer, {kind: amount}, at=at, **kw)


# -- base, tax, kinds, rounding -------------------------------------------------------


def test_commission_is_rate_times_commissionable_base_and_tax_is_never_commissionable(ledger):
    setup(ledger, terms=b.terms())
    got = earning(ledger, b.payment("pay1", "c1", {"subscription": "100.00"}, tax="20.00"))
    assert (got["kind"], got["rate"], got["base"], got["amount"]) == ("commission", "0.20", "100.00", "20.00")
    assert ledger.balance("p1")["earned"] == "20.00"


def test_only_commissionable_revenue_kinds_earn(ledger):
    # sales-partner: platform_fee + message_overage; setup fees and hardware excluded.
    setup(ledger, preset="sales-partner", rate="0.20")
    lines = {"platform_fee": "100.00", "message_overage": "50.00", "setup": "200.00", "hardware": "300.00"}
    got = earning(ledger, b.payment("pay1", "c1", lines, tax="10.00"))
    assert (got["base"], got["amount"]) == ("150.00", "30.00")


def test_star_makes_every_revenue_kind_commissionable(ledger):
    setup(ledger, terms=b.terms(commissionable_revenue="*"))
    got = earning(ledger, b.payment("pay1", "c1", {"setup": "50.00", "hardware": "50.00"}, tax="9.99"))
    assert (got["base"], got["amount"]) == ("100.00", "20.00")


def test_commission_rounds_half_up_to_the_cent(ledger):
    setup(ledger, terms=b.terms(), level="Gold")  # 25 %
    assert earning(ledger, pay("pay1", "2025-02-01T00:00:00Z", "10.02"))["amount"] == "2.51"  # 2.505
    assert earning(ledger, pay("pay2", "2025-02-02T00:00:00Z", "10.06"))["amount"] == "2.52"  # 2.515
    assert earning(ledger, pay("pay3", "2025-02-03T00:00:00Z", "10.01"))["amount"] == "2.50"  # 2.5025
    assert ledger.balance("p1")["earned"] == "7.53"


def test_jpy_has_no_minor_unit(ledger):
    setup(ledger, terms=b.terms(currencies=["JPY"]), level="Gold")
    got = earning(ledger, pay("pay1", "2025-02-01T00:00:00Z", "1002", currency="JPY"))  # 250.5
    assert got["amount"] == "251"
    assert ledger.balance("p1", "JPY")["earned"] == "251"
    before = ledger.event_count()
    error = ledger.refused(pay("pay2", "2025-02-02T00:00:00Z", "100.5", currency="JPY"))
    assert error["field"] == "lines.0.amount" and "decimal places" in error["message"]
    assert ledger.event_count() == before


# -- effective dating -------------------------------------------------------------------


def test_level_change_applies_from_its_effective_date(ledger):
    setup(ledger, terms=b.terms())  # Silver 20 %
    ledger.ok(b.cmd("change_level", partner_id="p1", level="Gold", at="2025-03-01T00:00:00Z"))
    assert earning(ledger, pay("pay1", "2025-02-15T00:00:00Z"))["amount"] == "20.00"
    assert earning(ledger, pay("pay2", "2025-03-15T00:00:00Z"))["amount"] == "25.00"
    # a payment dated before the change but recorded after it still earns the old rate
    assert earning(ledger, pay("pay3", "2025-02-20T00:00:00Z"))["amount"] == "20.00"


def test_commission_is_decided_when_the_payment_is_recorded(ledger):
    # A later, backdated level change does not silently re-rate a recorded payment.
    setup(ledger, terms=b.terms())
    assert earning(ledger, pay("pay1", "2025-02-15T00:00:00Z"))["amount"] == "20.00"
    ledger.ok(b.cmd("change_level", partner_id="p1", level="Gold", at="2025-02-01T00:00:00Z"))
    assert ledger.balance("p1")["earned"] == "20.00"
    assert earning(ledger, pay("pay2", "2025-02-16T00:00:00Z"))["amount"] == "25.00"


def test_rate_override_is_effective_dated_and_null_removes_it(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(
        b.cmd("set_commission_rate", partner_id="p1", rate="0.30", at="2025-03-01T00:00:00Z"),
        b.cmd("set_commission_rate", partner_id="p1", rate=None, at="2025-04-01T00:00:00Z"),
    )
    assert earning(ledger, pay("feb", "2025-02-15T00:00:00Z"))["rate"] == "0.20"
    assert earning(ledger, pay("mar", "2025-03-15T00:00:00Z"))["rate"] == "0.30"
    assert earning(ledger, pay("apr", "2025-04-15T00:00:00Z"))["rate"] == "0.20"
    assert ledger.app.queries.partner("p1")["rate"] == "0.20"


def test_change_program_terms_applies_from_its_effective_date(ledger):
    setup(ledger, terms=b.terms())
    cheaper = b.terms(levels={"Silver": {"rate": "0.10", "discount": "0", "period_months": None}})
    ledger.ok(b.cmd("change_program_terms", program_id="prog", terms=cheaper, at="2025-06-01T00:00:00Z"))
    assert earning(ledger, pay("may", "2025-05-31T23:59:59Z"))["amount"] == "20.00"
    assert earning(ledger, pay("jun", "2025-06-01T00:00:00Z"))["amount"] == "10.00"


def test_presets_express_the_three_programs(ledger):
    ledger.ok(
        b.program("rr", preset="refer-resell"), b.program("sp", preset="sales-partner"), b.program("rt", preset="referral-tiers"),
        *b.partner("a", "rr"), *b.partner("p", "sp", rate="0.20"), *b.partner("t", "rt", level="Master"),
    )
    q = ledger.app.queries
    assert (q.partner("a")["level"], q.partner("a")["rate"]) == ("Registered", "0.15")
    assert q.partner("p")["rate"] == "0.20"
    assert (q.partner("t")["level"], q.partner("t")["rate"]) == ("Master", "0.20")


def test_hold_days_make_a_line_payable_later(ledger):
    setup(ledger, terms=b.terms(payout={"minimum": "0.00", "hold_days": 30}))
    got = earning(ledger, pay("pay1", "2025-02-01T00:00:00Z"))
    assert datetime.fromisoformat(got["payable_at"]) == datetime.fromisoformat("2025-03-03T00:00:00+00:00")


def test_omitted_terms_take_the_defaults(ledger):
    setup(ledger, terms={"levels": {"Only": {"rate": "0.10"}}, "default_level": "Only"})
    got = earning(ledger, b.payment("pay1", "c1", {"anything": "50.00"}, at="2025-02-01T00:00:00Z"))
    assert got["amount"] == "5.00"  # "*" by default, 0 hold days: payable at once
    assert datetime.fromisoformat(got["payable_at"]) == datetime.fromisoformat("2025-02-01T00:00:00+00:00")
    status = ledger.app.queries.status("p1", on=datetime.fromisoformat("2025-06-01T00:00:00+00:00"))
    assert status["status"] == "at_risk"  # target 10 a year by default; one onboarded


# -- promo -----------------------------------------------------------------------------


def test_promo_slots_go_to_the_first_n_approvals(ledger):
    ledger.ok(b.program(preset="sales-partner"))  # 50 % for the first 3
    promos = [ledger.ok(*b.partner(f"p{i}"))[1]["promo"] for i in range(1, 5)]
    assert promos == [True, True, True, False]
    q = ledger.app.queries
    assert (q.partner("p1")["promo"], q.partner("p1")["rate"]) == (True, "0.50")
    assert (q.partner("p4")["promo"], q.partner("p4")["rate"]) == (False, "0.20")
    ledger.ok(*b.customer("c1", "p1"))
    assert earning(ledger, b.payment("pay1", "c1", {"platform_fee": "100.00"}))["amount"] == "50.00"


def test_an_explicit_rate_at_approval_takes_no_promo_slot(ledger):
    ledger.ok(b.program(preset="sales-partner"))
    [_, approved] = ledger.ok(*b.partner("p0", rate="0.30"))
    assert approved["promo"] is False
    promos = [ledger.ok(*b.partner(f"p{i}"))[1]["promo"] for i in range(1, 5)]
    assert promos == [True, True, True, False]
    assert ledger.app.queries.partner("p0")["rate"] == "0.30"


def test_close_promo_stops_further_slots_and_holders_keep_theirs(ledger):
    ledger.ok(b.program(preset="sales-partner"), *b.partner("p1"))
    [closed] = ledger.ok(b.cmd("close_promo", program_id="prog"))
    assert closed["promo_holders"] == ["p1"]
    assert ledger.ok(*b.partner("p2"))[1]["promo"] is False
    assert ledger.app.queries.partner("p1")["rate"] == "0.50"
    assert ledger.app.queries.partner("p2")["rate"] == "0.20"
    assert ledger.refused(b.cmd("close_promo", program_id="prog"))["code"] == "invalid_state"


def test_promo_holder_keeps_promo_rate_unless_an_admin_sets_another(ledger):
    ledger.ok(b.program(preset="sales-partner"), *b.partner("p1"), *b.customer("c1", "p1"))
    ledger.ok(b.cmd("set_commission_rate", partner_id="p1", rate="0.25", at="2025-03-01T00:00:00Z"))
    assert earning(ledger, b.payment("feb", "c1", at="2025-02-15T00:00:00Z"))["rate"] == "0.50"
    assert earning(ledger, b.payment("mar", "c1", at="2025-03-15T00:00:00Z"))["rate"] == "0.25"


# -- commission period ------------------------------------------------------------------


def test_commission_period_counts_calendar_months_from_first_payment(ledger):
    one_month = b.terms(levels={"Short": {"rate": "0.20", "discount": "0", "period_months": 1}}, default_level="Short")
    setup(ledger, terms=one_month)
    assert earning(ledger, pay("first", "2025-01-31T00:00:00Z"))["amount"] == "20.00"
    assert earning(ledger, pay("inside", "2025-02-27T23:59:59Z"))["amount"] == "20.00"
    outside = earning(ledger, pay("outside", "2025-02-28T00:00:00Z"))  # Jan 31 + 1 month = Feb 28
    assert outside["kind"] == "none" and Decimal(outside.get("amount", "0")) == 0


def test_referral_tiers_master_36_months_elite_24_months(ledger):
    ledger.ok(
        b.program(preset="referral-tiers"),
        *b.partner("elite", level="Elite"), *b.partner("master", level="Master"),
        *b.customer("ce", "elite"), *b.customer("cm", "master"),
        pay("e0", "2025-02-01T00:00:00Z", customer="ce"), pay("m0", "2025-02-01T00:00:00Z", customer="cm"),
    )
    assert earning(ledger, pay("e1", "2027-01-31T00:00:00Z", customer="ce"))["kind"] == "commission"
    assert earning(ledger, pay("e2", "2027-02-01T00:00:00Z", customer="ce"))["kind"] == "none"
    assert earning(ledger, pay("m1", "2028-01-31T00:00:00Z", customer="cm"))["kind"] == "commission"
    assert earning(ledger, pay("m2", "2028-02-01T00:00:00Z", customer="cm"))["kind"] == "none"


def test_null_period_is_lifetime(ledger):
    setup(ledger, preset="refer-resell")
    ledger.ok(pay("first", "2025-02-01T00:00:00Z"))
    assert earning(ledger, pay("late", "2045-02-01T00:00:00Z"))["amount"] == "15.00"


def test_payment_dated_before_attribution_earns_nothing(ledger):
    setup(ledger, terms=b.terms())  # claimed 2025-01-10
    got = earning(ledger, pay("early", "2025-01-05T00:00:00Z"))
    assert got["kind"] == "none" and "attributed" in got["reason"]
    assert ledger.balance("p1").get("earned", "0.00") == "0.00"


def test_payments_after_termination_earn_nothing(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(b.cmd("terminate_partner", partner_id="p1", reason="left", at="2025-03-01T00:00:00Z"))
    assert earning(ledger, pay("after", "2025-03-02T00:00:00Z"))["kind"] == "none"
    assert earning(ledger, pay("before", "2025-02-15T00:00:00Z"))["amount"] == "20.00"
    assert ledger.app.queries.partner("p1")["state"] == "terminated"


# -- refunds and chargebacks ------------------------------------------------------------


def test_refund_claws_back_the_refunded_share_of_the_payment_commission(ledger):
    setup(ledger, terms=b.terms(commissionable_revenue=["platform_fee"]))
    ledger.ok(b.payment("pay1", "c1", {"platform_fee": "100.00", "setup": "50.00"}, tax="19.00"))  # paid 169, earned 20
    [result] = ledger.ok(b.refund("r1", "pay1", "84.50"))
    assert result["clawback"] == "10.00"
    bal = ledger.balance("p1")
    assert (bal["earned"], bal["clawed_back"], bal["lifetime_commission"]) == ("20.00", "10.00", "10.00")


def test_reversals_round_each_share_and_the_emptying_one_takes_the_rest(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(pay("pay1", "2025-02-01T00:00:00Z", "50.00"))  # earned 10.00
    ledger.ok(b.cmd("set_commission_rate", partner_id="p1", rate="0.90", at="2025-02-02T00:00:00Z"))  # not today's rate
    results = ledger.ok(
        b.refund("r1", "pay1", "10.00"), b.chargeback("cb1", "pay1", "10.00"),
        b.refund("r2", "pay1", "10.00"), b.refund("r3", "pay1", "20.00"),
    )
    assert [r["clawback"] for r in results] == ["2.00", "2.00", "2.00", "4.00"]
    # 1/3 shares: 3.333 -> 3.33, twice; the one emptying the payment takes the 3.34 left
    ledger.ok(pay("pay2", "2025-01-20T00:00:00Z", "50.00"))  # earned 10.00 at 20 %
    thirds = ledger.ok(b.refund("t1", "pay2", "16.67"), b.chargeback("t2", "pay2", "16.67"), b.refund("t3", "pay2", "16.66"))
    assert [r["clawback"] for r in thirds] == ["3.33", "3.33", "3.34"]
    bal = ledger.balance("p1")
    assert (bal["earned"], bal["clawed_back"], bal["lifetime_commission"]) == ("20.00", "20.00", "0.00")


def test_clawback_is_capped_at_what_is_left(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(b.payment("pay1", "c1", {"subscription": "0.10"}, tax="2.90"))  # paid 3.00, earned 0.02
    results = ledger.ok(
        b.refund("r1", "pay1", "1.00"), b.refund("r2", "pay1", "1.00"),  # 0.00667 -> 0.01 each
        b.refund("r3", "pay1", "0.99"),  # 0.0066 -> 0.01, but nothing is left
        b.refund("r4", "pay1", "0.01"),
    )
    assert [r["clawback"] for r in results] == ["0.01", "0.01", "0.00", "0.00"]
    assert ledger.balance("p1")["clawed_back"] == "0.02"


def test_refunds_beyond_the_paid_amount_are_rejected(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}, tax="19.00"))
    before = ledger.event_count()
    assert ledger.refused(b.refund("r1", "pay1", "119.01"))["field"] == "amount"
    ledger.ok(b.refund("r2", "pay1", "100.00"))
    assert ledger.refused(b.chargeback("cb1", "pay1", "19.01"))["field"] == "amount"
    ledger.ok(b.chargeback("cb2", "pay1", "19.00"))
    assert ledger.refused(b.refund("r3", "pay1", "0.01"))["field"] == "amount"
    assert ledger.balance("p1")["clawed_back"] == "20.00"
    assert ledger.event_count() > before


def test_refund_with_too_many_decimals_or_unknown_payment_is_rejected(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(pay("pay1", "2025-02-01T00:00:00Z"))
    before = ledger.event_count()
    error = ledger.refused(b.refund("r1", "pay1", "1.005"))
    assert error["field"] == "amount" and "decimal places" in error["message"]
    assert ledger.refused(b.refund("r2", "nope", "1.00"))["field"] == "payment_id"
    assert ledger.event_count() == before


# -- costs -----------------------------------------------------------------------------


def test_cost_deducts_rate_times_cost_at_the_rate_in_force_on_its_date(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(pay("pay1", "2025-02-01T00:00:00Z"))
    assert ledger.ok(b.cost("k1", "c1", "50.00", at="2025-02-05T00:00:00Z"))[0]["deduction"] == "10.00"
    ledger.ok(b.cmd("set_commission_rate", partner_id="p1", rate="0.40", at="2025-03-01T00:00:00Z"))
    assert ledger.ok(b.cost("k2", "c1", "50.00", at="2025-03-05T00:00:00Z"))[0]["deduction"] == "20.00"
    bal = ledger.balance("p1")
    assert (bal["earned"], bal["deducted"], bal["lifetime_commission"]) == ("20.00", "30.00", "-10.00")


def test_cost_outside_the_commission_period_deducts_nothing(ledger):
    setup(ledger, level="Elite")  # referral-tiers: 24 months
    ledger.ok(pay("pay1", "2025-02-01T00:00:00Z"))
    [late] = ledger.ok(b.cost("k1", "c1", "10.00", at="2027-02-01T00:00:00Z"))
    [inside] = ledger.ok(b.cost("k2", "c1", "10.00", at="2027-01-31T00:00:00Z"))
    assert Decimal(late["deduction"]) == 0 and inside["deduction"] == "2.00"
    assert ledger.balance("p1")["deducted"] == "2.00"


def test_cost_for_a_resold_customer_deducts_nothing(ledger):
    setup(ledger, preset="refer-resell", channel="resell")
    ledger.ok(pay("pay1", "2025-02-01T00:00:00Z"))
    [result] = ledger.ok(b.cost("k1", "c1", "10.00"))
    assert Decimal(result["deduction"]) == 0
    assert ledger.balance("p1")["deducted"] == "0.00"


# -- resale ----------------------------------------------------------------------------


def test_resold_customers_earn_the_discount_not_commission(ledger):
    setup(ledger, preset="refer-resell", level="Silver", channel="resell")  # Silver: 20 % / 25 %
    ledger.ok(*b.customer("c2", "p1", "link"))  # one account refers and resells
    got = earning(ledger, pay("pay1", "2025-02-01T00:00:00Z"))
    assert (got["kind"], got["amount"], got["wholesale"]) == ("discount", "25.00", "75.00")
    assert earning(ledger, pay("pay2", "2025-02-01T00:00:00Z", customer="c2"))["amount"] == "20.00"
    bal = ledger.balance("p1")
    assert (bal["discount"], bal["earned"], bal["lifetime_commission"]) == ("25.00", "20.00", "20.00")
    # a refund of a resold payment takes back the same share of the discount
    ledger.ok(b.refund("r1", "pay1", "40.00"))
    assert ledger.balance("p1")["discount"] == "15.00"


# -- self-referral and review -------------------------------------------------------------


def test_customer_on_the_partners_domain_is_held_as_self_referral(ledger):
    setup(ledger, terms=b.terms(), partner_email="owner@p1.example", customer_email="cfo@P1.example")
    got = earning(ledger, pay("pay1", "2025-02-01T00:00:00Z"))
    assert got["hold_reason"] == "self_referral" and got.get("payable_at") is None


def test_shared_free_mail_domain_is_no_self_referral_but_same_address_is(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1", email="joe@gmail.com"),
              *b.customer("other", "p1", email="ann@gmail.com"), *b.customer("same", "p1", email="Joe@gmail.com"))
    assert earning(ledger, pay("pay1", "2025-02-01T00:00:00Z", customer="other")).get("hold_reason") is None
    assert earning(ledger, pay("pay2", "2025-02-01T00:00:00Z", customer="same"))["hold_reason"] == "self_referral"


def test_review_release_keeps_and_void_claws_back_what_is_left(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"),
              *b.customer("c1", "p1", email="a@p1.example"), *b.customer("c2", "p1", email="b@p1.example"),
              pay("pay1", "2025-02-01T00:00:00Z"), pay("pay2", "2025-02-01T00:00:00Z", customer="c2"))
    ledger.ok(b.refund("r1", "pay2", "50.00"))  # 10.00 of pay2's 20.00 clawed back
    assert ledger.ok(b.cmd("review_commission", payment_id="pay1", decision="release", reason="ok"))[0]["voided"] in ("0", "0.00")
    assert ledger.ok(b.cmd("review_commission", payment_id="pay2", decision="void", reason="self"))[0]["voided"] == "10.00"
    bal = ledger.balance("p1")
    assert (bal["earned"], bal["clawed_back"], bal["lifetime_commission"]) == ("40.00", "20.00", "20.00")
    assert ledger.refused(b.cmd("review_commission", payment_id="pay1", decision="void", reason="again"))["code"] == "invalid_state"
    # once void, a refund has nothing left to claw back
    assert Decimal(ledger.ok(b.refund("r2", "pay2", "50.00"))[0]["clawback"]) == 0


def test_review_of_a_payment_not_on_hold_is_refused(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(pay("pay1", "2025-02-01T00:00:00Z"))
    error = ledger.refused(b.cmd("review_commission", payment_id="pay1", decision="release", reason="x"))
    assert (error["code"], error["field"]) == ("invalid_state", "payment_id")


# -- adjustments -----------------------------------------------------------------------


def test_manual_adjustments_carry_actor_and_reason(ledger):
    setup(ledger, terms=b.terms())
    ledger.ok(
        b.cmd("adjust_commission", adjustment_id="a1", partner_id="p1", amount="15.00", currency="USD", reason="bonus", actor="alice"),
        b.cmd("adjust_commission", adjustment_id="a2", partner_id="p1", amount="-5.00", currency="USD", reason="correction", actor="bob"),
    )
    bal = ledger.balance("p1")
    assert (bal["adjusted"], bal["lifetime_commission"], bal["balance"]) == ("10.00", "10.00", "10.00")
    trail = [e for e in ledger.app.queries.audit(partner_id="p1") if e["type"] == "adjustment.recorded"]
    assert [(e["actor"], e["details"]["reason"]) for e in trail] == [("alice", "bonus"), ("bob", "correction")]
    zero = b.cmd("adjust_commission", adjustment_id="a3", partner_id="p1", amount="0", currency="USD", reason="x")
    assert ledger.refused(zero)["field"] == "amount"
