"""Each program document of ``shared/seeds`` told as a story through ``ledger apply``,
then read back through ``ledger balance|status|partner --json``.

Every expected figure is worked out by hand in the comments next to it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests import builders as b


def run_story(ledger: Any, tmp_path: Path, commands: list[dict[str, Any]]) -> tuple[int, list[dict[str, Any]]]:
    """Write the commands as JSONL, ``ledger apply`` them, return the exit code and one
    result per command (in order)."""
    path = tmp_path / "story.jsonl"
    path.write_text("".join(json.dumps(command) + "\n" for command in commands), encoding="utf-8")
    code, out = ledger.cli("apply", str(path))
    results = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(results) == len(commands), out
    return code, results


def by_key(commands: list[dict[str, Any]], results: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Results of the commands that carry ``key`` (e.g. payment_id), by its value."""
    return {c[key]: r for c, r in zip(commands, results, strict=True) if key in c and c["type"] != "record_refund"}


def usd(balance: dict[str, Any]) -> dict[str, str]:
    return balance["currencies"]["USD"]


def figures(earned: str, clawed_back: str = "0.00", deducted: str = "0.00", adjusted: str = "0.00",
            discount: str = "0.00", lifetime: str | None = None) -> dict[str, str]:
    lifetime = lifetime or earned
    return {
        "earned": earned, "clawed_back": clawed_back, "deducted": deducted, "adjusted": adjusted,
        "lifetime_commission": lifetime, "paid": "0.00", "balance": lifetime, "due": "0.00", "discount": discount,
    }


# The sales-partner program's own status rules, stated with every status.
SALES_PARTNER_RULES = {"target_per_year": 10, "window_months": 24, "lock_threshold": 50}


def tax_form(partner_id: str, form: str, at: str) -> dict[str, Any]:
    return {"type": "submit_tax_form", "partner_id": partner_id, "form": form, "at": at}


# ---------------------------------------------------------------------------------------
# refer-resell: one account, two modes
# ---------------------------------------------------------------------------------------


def test_refer_resell_one_partner_refers_one_customer_and_resells_to_another(ledger: Any, tmp_path: Path) -> None:
    story = [
        b.program("rr", preset="refer-resell", at="2023-01-01T00:00:00Z"),
        b.application("acme", "rr", at="2023-01-02T00:00:00Z"),
        b.approve("acme", level="Gold", at="2023-01-03T00:00:00Z"),  # Gold: 25 % commission, 30 % discount
        b.application("rival", "rr", at="2023-01-02T00:00:00Z"),
        b.approve("rival", at="2023-01-03T00:00:00Z"),  # default level: Registered
        # Mode 1, refer: the customer signs up through acme's affiliate link.
        *b.customer("ref1", "acme", channel="link", at="2023-01-10T00:00:00Z"),
        # Each customer can only be attributed to one partner: rival's later code is refused.
        b.claim("ref1", "rival", channel="code", at="2023-01-11T00:00:00Z"),
        # Mode 2, resell: acme creates its customer's own account in the reseller dashboard.
        b.signup("res1", at="2023-01-12T00:00:00Z"),
        b.claim("res1", "acme", channel="resell", at="2023-01-12T00:00:00Z"),
        # Only a resold customer can be shielded from the vendor's contact.
        {"type": "set_do_not_contact", "customer_id": "res1", "value": True, "at": "2023-01-13T00:00:00Z"},
        {"type": "set_do_not_contact", "customer_id": "ref1", "value": True, "at": "2023-01-13T00:00:00Z"},
        # Referred: 25 % of the subscription (tax never): 0.25 x 100.00 = 25.00.
        b.payment("pay-ref-1", "ref1", {"subscription": "100.00"}, tax="19.00", at="2023-02-01T00:00:00Z"),
        # Resold at list price 300.00: no commission; acme's 30 % margin is 90.00 and it owes 210.00.
        b.payment("pay-res-1", "res1", {"subscription": "300.00"}, tax="57.00", at="2023-02-01T00:00:00Z"),
        # Half of the referred payment (paid 119.00) is refunded: 59.50 / 119.00 = 1/2 of its 25.00 -> 12.50.
        b.refund("ref-r1", "pay-ref-1", "59.50", at="2023-02-15T00:00:00Z"),
        # Three years later the referred customer still earns ("for life"): 0.25 x 120.00 = 30.00;
        # the setup line is not subscription revenue and earns nothing.
        b.payment("pay-ref-2", "ref1", {"subscription": "120.00", "setup": "80.00"}, tax="38.00",
                  at="2026-02-01T00:00:00Z"),
    ]
    code, results = run_story(ledger, tmp_path, story)
    assert code == 1  # two commands were (rightly) refused
    refused = [(c["type"], c.get("customer_id"), r["error"]["code"]) for c, r in zip(story, results, strict=True) if not r["ok"]]
    assert refused == [
        ("claim_customer", "ref1", "claim_rejected"),
        ("set_do_not_contact", "ref1", "invalid"),
    ]

    payments = by_key(story, results, "payment_id")
    first = payments["pay-ref-1"]["earning"]
    assert (first["kind"], first["partner_id"], first["rate"], first["base"], first["amount"]) == (
        "commission", "acme", "0.25", "100.00", "25.00")
    resold = payments["pay-res-1"]["earning"]
    assert (resold["kind"], resold["amount"], resold["wholesale"], resold["rate"]) == ("discount", "90.00", "210.00", "0.30")
    later = payments["pay-ref-2"]["earning"]
    assert (later["kind"], later["base"], later["amount"]) == ("commission", "120.00", "30.00")
    [refund] = [r for c, r in zip(story, results, strict=True) if c["type"] == "record_refund"]
    assert refund["clawback"] == "12.50"

    # earned 25.00 + 30.00 = 55.00; clawed back 12.50; lifetime 42.50; discount 90.00 kept apart.
    assert ledger.cli_json("balance", "acme") == {
        "partner_id": "acme",
        "currencies": {"USD": figures("55.00", clawed_back="12.50", lifetime="42.50", discount="90.00")},
    }
    # Before the third year's payment only the first year's figures count.
    assert usd(ledger.cli_json("balance", "acme", "--as-of", "2025-12-31"))["lifetime_commission"] == "12.50"
    assert ledger.cli_json("balance", "rival") == {"partner_id": "rival", "currencies": {}}

    partner = ledger.cli_json("partner", "acme")
    assert {k: partner[k] for k in ("program_id", "state", "level", "rate", "promo")} == {
        "program_id": "rr", "state": "approved", "level": "Gold", "rate": "0.25", "promo": False,
    }
    assert partner["profile"]["contact_email"] == "o***@acme.example"

    # The do-not-contact flag is on the resold customer only, for downstream consumers.
    trail = ledger.cli_json("audit", "--customer", "res1")
    assert [e["details"].get("value") for e in trail if e["type"] == "customer.do_not_contact_set"] == [True]
    assert not [e for e in ledger.cli_json("audit", "--customer", "ref1") if e["type"] == "customer.do_not_contact_set"]
    rejected = [e for e in ledger.cli_json("audit", "--customer", "ref1") if e["type"] == "customer.claim_rejected"]
    assert [(e["details"]["partner_id"], e["details"]["rejected"]) for e in rejected] == [("rival", True)]


# ---------------------------------------------------------------------------------------
# sales-partner: 50 % for the first three, 20 % standard, status and the 50-tenant lock
# ---------------------------------------------------------------------------------------


def test_sales_partner_promo_rates_revenue_kinds_and_status(ledger: Any, tmp_path: Path) -> None:
    story: list[dict[str, Any]] = [b.program("sp", preset="sales-partner", at="2024-01-01T00:00:00Z")]
    for partner_id in ("p1", "p2", "p3", "p4"):
        story.append(b.application(partner_id, "sp", at="2024-01-02T00:00:00Z"))
    # Approved one a day: p1, p2, p3 take the three promo slots, p4 gets the standard 20 %.
    for day, partner_id in enumerate(("p1", "p2", "p3", "p4"), start=3):
        story.append(b.approve(partner_id, at=f"2024-01-{day:02d}T00:00:00Z"))
    story += [
        *b.customer("t1", "p1", at="2024-01-10T00:00:00Z"),
        *b.customer("t2", "p2", at="2024-01-10T00:00:00Z"),
        *b.customer("t4", "p4", at="2024-01-10T00:00:00Z"),
        # p1 at 50 %: platform fee 100.00 + overage 20.00 = 120.00 -> 60.00; setup 500.00 and tax earn nothing.
        b.payment("sp-1", "t1", {"platform_fee": "100.00", "message_overage": "20.00", "setup": "500.00"},
                  tax="10.00", at="2024-02-01T00:00:00Z"),
        # p2 at 50 %: 100.00 -> 50.00.
        b.payment("sp-2", "t2", {"platform_fee": "100.00"}, at="2024-02-01T00:00:00Z"),
        # p4 at 20 %: (100.00 + 50.00) x 0.20 = 30.00; setup 100.00 excluded.
        b.payment("sp-4", "t4", {"platform_fee": "100.00", "message_overage": "50.00", "setup": "100.00"},
                  at="2024-02-01T00:00:00Z"),
        # A super admin configures p2 at 30 % from March: the override beats the promo rate.
        {"type": "set_commission_rate", "partner_id": "p2", "rate": "0.30", "at": "2024-03-01T00:00:00Z"},
        # p2 at 30 %: (100.00 + 10.00) x 0.30 = 33.00.
        b.payment("sp-2b", "t2", {"platform_fee": "100.00", "message_overage": "10.00"}, at="2024-04-01T00:00:00Z"),
    ]
    # p2 onboards 9 more tenants in 2024 (10 in its first year: active);
    # p1 onboards 49 more, one a day from 1 June: its 50th tenant is onboarded on 2024-07-19.
    for n in range(1, 10):
        story += b.customer(f"p2-t{n}", "p2", at=f"2024-{n + 1:02d}-15T00:00:00Z")
    for n in range(49):
        day = f"2024-{6 + (n >= 30):02d}-{(n % 30) + 1:02d}T00:00:00Z"  # 1-30 June, then 1-19 July
        story += b.customer(f"p1-t{n}", "p1", at=day)
    code, results = run_story(ledger, tmp_path, story)
    assert code == 0, [r for r in results if not r["ok"]]

    approvals = {r["partner_id"]: r["promo"] for r in results if r.get("type") == "approve_application"}
    assert approvals == {"p1": True, "p2": True, "p3": True, "p4": False}
    payments = by_key(story, results, "payment_id")
    assert {pid: (r["earning"]["rate"], r["earning"]["base"], r["earning"]["amount"]) for pid, r in payments.items()} == {
        "sp-1": ("0.50", "120.00", "60.00"),
        "sp-2": ("0.50", "100.00", "50.00"),
        "sp-4": ("0.20", "150.00", "30.00"),
        "sp-2b": ("0.30", "110.00", "33.00"),
    }

    assert usd(ledger.cli_json("balance", "p1")) == figures("60.00")
    assert usd(ledger.cli_json("balance", "p2")) == figures("83.00")  # 50.00 + 33.00
    assert usd(ledger.cli_json("balance", "p4")) == figures("30.00")
    assert ledger.cli_json("balance", "p3")["currencies"] == {}

    partners = {p: ledger.cli_json("partner", p) for p in ("p1", "p2", "p3", "p4")}
    assert {p: (d["rate"], d["promo"], d["level"]) for p, d in partners.items()} == {
        "p1": ("0.50", True, "Standard"),
        "p2": ("0.30", True, "Standard"),  # still a slot holder, but the admin's rate applies
        "p3": ("0.50", True, "Standard"),
        "p4": ("0.20", False, "Standard"),
    }

    # p1: 50 onboarded tenants; the 50th on 2024-07-19 locks the status until 2029-07-19.
    # On 2025-01-01 the tenure is under a year, counted as one: 50 / 1 = 50.00 a year.
    lock = {"until": "2029-07-19T00:00:00+00:00", "because": "50 customers onboarded by 2024-07-19: locked 5 years"}
    assert ledger.cli_json("status", "p1", "--on", "2025-01-01") == {
        "status": "locked", "onboarded_total": 50, "onboarded_in_window": 50,
        "average_per_year": "50.00", "locked_until": "2029-07-19T00:00:00+00:00", "locks": [{**lock, "in_force": True}],
        **SALES_PARTNER_RULES,
    }
    assert ledger.cli_json("status", "p1", "--on", "2029-07-18")["status"] == "locked"
    # The day after the lock ends: no tenant in the 24 months before, 0 / 2 years: at risk.
    # The lock is over (locked_until is null) and stays visible in the status history.
    after = ledger.cli_json("status", "p1", "--on", "2029-07-20")
    assert (after["status"], after["onboarded_in_window"], after["average_per_year"], after["locked_until"]) == (
        "at_risk", 0, "0.00", None)
    assert after["locks"] == [{**lock, "in_force": False}]

    # p2: 10 tenants in its first year (tenure < 1 year counts as one): 10.00 a year meets the target.
    assert ledger.cli_json("status", "p2", "--on", "2024-12-31") == {
        "status": "active", "onboarded_total": 10, "onboarded_in_window": 10,
        "average_per_year": "10.00", "locked_until": None, "locks": [], **SALES_PARTNER_RULES,
    }
    # Two years after approval the same 10 tenants are 10 / 2 = 5.00 a year: at risk.
    later = ledger.cli_json("status", "p2", "--on", "2026-01-04")
    assert (later["status"], later["onboarded_in_window"], later["average_per_year"]) == ("at_risk", 10, "5.00")
    # p4: one tenant in its first year: 1.00 a year, at risk.
    p4 = ledger.cli_json("status", "p4", "--on", "2024-12-31")
    assert (p4["status"], p4["onboarded_total"], p4["average_per_year"]) == ("at_risk", 1, "1.00")


# ---------------------------------------------------------------------------------------
# referral-tiers: commission periods by tier, costs, qualified leads, tax forms
# ---------------------------------------------------------------------------------------


def test_referral_tiers_periods_costs_qualified_leads_and_tax_form(ledger: Any, tmp_path: Path) -> None:
    story = [
        b.program("rt", preset="referral-tiers", at="2022-01-01T00:00:00Z"),
        b.application("master", "rt", at="2022-01-02T00:00:00Z"),
        b.approve("master", level="Master", at="2022-01-03T00:00:00Z"),  # 20 % for 36 months
        b.application("elite", "rt", at="2022-01-02T00:00:00Z"),
        b.approve("elite", level="Elite", at="2022-01-03T00:00:00Z"),  # 20 % for 24 months
        tax_form("master", "W-9", at="2022-01-04T00:00:00Z"),
        tax_form("elite", "W-8BEN", at="2022-01-04T00:00:00Z"),
        # An existing customer: signed up and bought before any referrer came along.
        b.signup("old", at="2022-01-05T00:00:00Z"),
        b.payment("old-1", "old", {"subscription": "500.00"}, at="2022-01-06T00:00:00Z"),
        *b.customer("cm", "master", channel="lead", at="2022-01-10T00:00:00Z"),
        *b.customer("ce", "elite", channel="lead", at="2022-01-10T00:00:00Z"),
        # Not qualified: a lead already submitted by another referrer ...
        b.claim("cm", "elite", channel="lead", at="2022-01-20T00:00:00Z"),
        # ... and a customer that has purchased before.
        b.claim("old", "master", channel="lead", at="2022-02-10T00:00:00Z"),
        # Master's customer, first paid 2022-02-01: the period ends 2025-02-01 (36 months).
        b.payment("cm-1", "cm", {"subscription": "1000.00"}, tax="80.00", at="2022-02-01T00:00:00Z"),  # 200.00
        b.payment("cm-2", "cm", {"subscription": "1000.00"}, at="2024-01-31T00:00:00Z"),  # 200.00
        b.payment("cm-3", "cm", {"subscription": "1000.00"}, at="2024-02-01T00:00:00Z"),  # 200.00
        b.payment("cm-4", "cm", {"subscription": "1000.00"}, at="2025-01-31T00:00:00Z"),  # 200.00 (last day in)
        b.payment("cm-5", "cm", {"subscription": "1000.00"}, at="2025-02-01T00:00:00Z"),  # 0: period over
        # Elite's customer, first paid 2022-02-01: the period ends 2024-02-01 (24 months).
        b.payment("ce-1", "ce", {"subscription": "1000.00"}, at="2022-02-01T00:00:00Z"),  # 200.00
        b.payment("ce-2", "ce", {"subscription": "1000.00"}, at="2024-01-31T00:00:00Z"),  # 200.00
        b.payment("ce-3", "ce", {"subscription": "1000.00"}, at="2024-02-01T00:00:00Z"),  # 0: period over
        # The non-qualified customer keeps paying: nobody earns from it.
        b.payment("old-2", "old", {"subscription": "500.00"}, at="2022-03-01T00:00:00Z"),
        # Marketing and customer-development costs reduce Net Revenue: 20 % of each is deducted.
        b.cost("cm-travel", "cm", "250.00", at="2022-03-01T00:00:00Z", kind="travel"),  # 50.00
        b.cost("cm-meals", "cm", "37.50", at="2022-03-02T00:00:00Z", kind="meals"),  # 7.50
        b.cost("ce-travel", "ce", "100.00", at="2024-03-01T00:00:00Z", kind="travel"),  # 0: after its period
        # A quarter of cm-2 (paid 1000.00) is refunded: 250.00 / 1000.00 x 200.00 = 50.00 back.
        b.refund("cm-2-r", "cm-2", "250.00", at="2024-02-15T00:00:00Z"),
        {"type": "adjust_commission", "adjustment_id": "bonus-1", "partner_id": "master", "amount": "25.00",
         "currency": "USD", "reason": "conference bonus", "at": "2024-03-01T00:00:00Z"},
    ]
    code, results = run_story(ledger, tmp_path, story)
    assert code == 1
    refused = [(c["customer_id"], c["partner_id"], r["error"]["code"]) for c, r in zip(story, results, strict=True) if not r["ok"]]
    assert refused == [("cm", "elite", "claim_rejected"), ("old", "master", "claim_rejected")]
    reasons = [r["error"]["message"] for r in results if not r["ok"]]
    assert "already attributed" in reasons[0] and "purchased before" in reasons[1]

    payments = by_key(story, results, "payment_id")
    earned = {pid: (r["earning"]["kind"], Decimal(r["earning"].get("amount", "0"))) for pid, r in payments.items()}
    none, full = ("none", Decimal(0)), ("commission", Decimal("200.00"))
    assert earned == {
        "old-1": none, "old-2": none,
        "cm-1": full, "cm-2": full, "cm-3": full, "cm-4": full, "cm-5": none,
        "ce-1": full, "ce-2": full, "ce-3": none,
    }
    assert payments["cm-5"]["earning"]["reason"] == "outside the commission period"
    assert payments["old-2"]["earning"]["reason"] == "customer is not attributed to a partner"
    costs = {c["cost_id"]: Decimal(r["deduction"]) for c, r in zip(story, results, strict=True) if c["type"] == "record_cost"}
    assert costs == {"cm-travel": Decimal("50.00"), "cm-meals": Decimal("7.50"), "ce-travel": Decimal("0")}

    # master: earned 4 x 200.00 = 800.00; clawed back 50.00; costs 57.50; bonus 25.00;
    # lifetime = 800.00 - 50.00 - 57.50 + 25.00 = 717.50.
    assert usd(ledger.cli_json("balance", "master")) == figures(
        "800.00", clawed_back="50.00", deducted="57.50", adjusted="25.00", lifetime="717.50")
    # elite: 2 x 200.00 = 400.00, nothing else.
    assert usd(ledger.cli_json("balance", "elite")) == figures("400.00")
    # As of the end of 2023 only the first payments and the 2022 costs counted:
    # master 200.00 - 57.50 = 142.50.
    assert usd(ledger.cli_json("balance", "master", "--as-of", "2023-12-31"))["lifetime_commission"] == "142.50"

    master = ledger.cli_json("partner", "master")
    assert {k: master[k] for k in ("state", "level", "rate", "promo", "tax_form", "training_completed")} == {
        "state": "approved", "level": "Master", "rate": "0.20", "promo": False, "tax_form": "W-9",
        "training_completed": False,
    }
    assert ledger.cli_json("partner", "elite")["tax_form"] == "W-8BEN"
    # The rejected lead is on the audit trail of the customer.
    trail = ledger.cli_json("audit", "--customer", "old")
    assert [(e["type"], e["details"].get("partner_id")) for e in trail if e["type"].startswith("customer.claim")] == [
        ("customer.claim_rejected", "master")]
