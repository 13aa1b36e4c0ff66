"""Command builders for tests: realistic defaults, override anything."""

from __future__ import annotations

from typing import Any

T0 = "2025-01-01T00:00:00Z"

# Statement tests' terms: one level at 20 %, payouts from 50.00 once a tax form is on file.
TERMS: dict[str, Any] = {
    "currency": "USD",
    "levels": {"Std": {"rate": "0.20"}},
    "commissionable_revenue": "*",
    "payout": {"minimum": "50.00", "hold_days": 0, "requires_tax_form": True},
}


def program(program_id: str = "prog", preset: str | None = "sales-partner", terms: dict[str, Any] | None = None, at: str = T0) -> dict[str, Any]:
    command: dict[str, Any] = {"type": "define_program", "program_id": program_id, "at": at}
    if terms is not None:
        command["terms"] = terms
    else:
        command["preset"] = preset
    return command


def application(partner_id: str, program_id: str = "prog", email: str | None = None, at: str = "2025-01-02T00:00:00Z") -> dict[str, Any]:
    return {
        "type": "submit_application", "partner_id": partner_id, "program_id": program_id, "at": at,
        "profile": {
            "company": f"{partner_id} GmbH", "contact_email": email or f"owner@{partner_id}.example",
            "website": f"https://{partner_id}.example", "city": "Berlin", "country": "DE",
            "business_type": "agency", "team_size": 4, "client_count": 12,
            "focus_market": "SMB", "expected_pipeline": "10 tenants",
        },
    }


def approve(partner_id: str, level: str | None = None, rate: str | None = None, at: str = "2025-01-03T00:00:00Z") -> dict[str, Any]:
    command: dict[str, Any] = {"type": "approve_application", "partner_id": partner_id, "at": at}
    if level:
        command["level"] = level
    if rate is not None:
        command["rate"] = rate
    return command


def partner(partner_id: str, program_id: str = "prog", level: str | None = None, rate: str | None = None, email: str | None = None) -> list[dict[str, Any]]:
    return [application(partner_id, program_id, email), approve(partner_id, level, rate)]


def signup(customer_id: str, email: str | None = None, at: str = "2025-01-10T00:00:00Z") -> dict[str, Any]:
    command: dict[str, Any] = {"type": "sign_up_customer", "customer_id": customer_id, "at": at}
    if email:
        command["email"] = email
    return command


def claim(customer_id: str, partner_id: str, channel: str = "link", at: str = "2025-01-10T00:00:00Z") -> dict[str, Any]:
    return {"type": "claim_customer", "customer_id": customer_id, "partner_id": partner_id, "channel": channel, "at": at}


def customer(customer_id: str, partner_id: str, channel: str = "link", at: str = "2025-01-10T00:00:00Z", email: str | None = None) -> list[dict[str, Any]]:
    return [signup(customer_id, email, at), claim(customer_id, partner_id, channel, at)]


def payment(payment_id: str, customer_id: str, lines: dict[str, str] | None = None, tax: str = "0.00",
            at: str = "2025-02-01T00:00:00Z", currency: str = "USD") -> dict[str, Any]:
    lines = lines or {"platform_fee": "100.00"}
    return {
        "type": "record_payment", "payment_id": payment_id, "customer_id": customer_id, "currency": currency,
        "lines": [{"kind": k, "amount": v} for k, v in lines.items()], "tax": tax, "at": at,
    }


def refund(refund_id: str, payment_id: str, amount: str, at: str = "2025-02-15T00:00:00Z") -> dict[str, Any]:
    return {"type": "record_refund", "refund_id": refund_id, "payment_id": payment_id, "amount": amount, "at": at}


def chargeback(chargeback_id: str, payment_id: str, amount: str, at: str = "2025-02-20T00:00:00Z") -> dict[str, Any]:
    return {"type": "record_chargeback", "chargeback_id": chargeback_id, "payment_id": payment_id, "amount": amount, "at": at}


def cost(cost_id: str, customer_id: str, amount: str, at: str = "2025-02-05T00:00:00Z", kind: str = "travel") -> dict[str, Any]:
    return {"type": "record_cost", "cost_id": cost_id, "customer_id": customer_id, "amount": amount, "currency": "USD", "kind": kind, "at": at}


def close(period: str, at: str, program_id: str = "prog") -> dict[str, Any]:
    return {"type": "close_period", "program_id": program_id, "period": period, "at": at}


def payout(payout_id: str, amount: str, statement_ids: list[str], partner_id: str = "p1") -> dict[str, Any]:
    return {"type": "record_payout", "payout_id": payout_id, "partner_id": partner_id, "amount": amount,
            "currency": "USD", "statement_ids": statement_ids}


def cmd(type_: str, **fields: Any) -> dict[str, Any]:
    """Any command: ``cmd("change_level", partner_id="p1", level="Gold", at=...)``."""
    return {"type": type_, **fields}


def terms(**overrides: Any) -> dict[str, Any]:
    """A small custom ``terms`` object (Gold 25 % lifetime, Silver 20 % for 24 months,
    every revenue kind, no promo); override any key."""
    base: dict[str, Any] = {
        "currency": "USD",
        "levels": {
            "Gold": {"rate": "0.25", "discount": "0.30", "period_months": None},
            "Silver": {"rate": "0.20", "discount": "0.25", "period_months": 24},
        },
        "default_level": "Silver",
        "commissionable_revenue": "*",
        "promo": None,
    }
    return {**base, **overrides}


LEVEL_TERMS = terms(status={"target_per_year": 1, "window_months": 12, "lock_threshold": 50, "lock_years": 5})


def listings_world(ledger: Any) -> None:
    """Program ``prog`` (Gold/Silver, 1 new customer a year keeps a partner active):
    p1 Gold with two customers, p2 Silver (Gold from March), p3 pending, p4 rejected,
    p5 terminated; a self-referred payment of p1 on hold; January closed."""
    ledger.ok(
        program(terms=LEVEL_TERMS),
        *partner("p1", level="Gold"), *partner("p2", level="Silver"),
        application("p3", at="2025-01-05T00:00:00Z"), application("p4", at="2025-01-04T00:00:00Z"),
        cmd("reject_application", partner_id="p4", reason="no website", at="2025-01-06T00:00:00Z"),
        *partner("p5"), cmd("terminate_partner", partner_id="p5", reason="fraud", at="2025-01-20T00:00:00Z"),
        cmd("change_level", partner_id="p2", level="Gold", at="2025-03-01T00:00:00Z"),
        *customer("c1", "p1"), *customer("c2", "p1", email="cfo@p1.example"),
        payment("pay1", "c1", at="2025-01-15T00:00:00Z"),
        payment("pay2", "c2", at="2025-01-16T00:00:00Z"),
        cmd("close_period", program_id="prog", period="2025-01", at="2025-02-01T01:00:00Z"),
    )


def before_the_grammar(command: dict[str, Any], **ids: str) -> Any:
    """``command`` as a log made before the id grammar may hold it: validated with its own
    ids, then given ``ids`` the edge now refuses (the bus takes a command model as it is),
    so the ledger records it as it would have then."""
    from commands.parsing import parse

    return parse(command).model_copy(update=ids)
