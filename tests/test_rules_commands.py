"""DESIGN.md "Interfaces": validation, idempotency, `ledger apply`, JSON shapes,
masking, as_of / known_at."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from tests import builders as b

BALANCE_FIGURES = {"earned", "clawed_back", "deducted", "adjusted", "lifetime_commission", "paid", "balance", "due", "discount"}
PARTNER_KEYS = {"partner_id", "program_id", "state", "level", "rate", "promo", "tax_form", "training_completed", "profile",
                "meetings", "payout_method", "terminated_at", "termination_reason",
                "referral_link", "partner_code", "notices", "promo_rate", "tax_form_details"}


def base(ledger: Any) -> None:
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-02-01T00:00:00Z"))


def refused_cleanly(ledger: Any, command: dict[str, Any]) -> dict[str, Any]:
    before = ledger.event_count()
    [result] = ledger.apply(command)
    assert result["ok"] is False and set(result["error"]) == {"code", "message", "field"}, result
    assert ledger.event_count() == before, command
    return result["error"]


# -- validation ------------------------------------------------------------------------


BAD = [
    (b.cost("k1", "c1", "abc"), "amount"),
    (b.cost("k1", "c1", "NaN"), "amount"),
    (b.cost("k1", "c1", "-1.00"), "amount"),
    (b.refund("r1", "pay1", "-5.00"), "amount"),
    (b.refund("r1", "pay1", "0"), "amount"),
    (b.payment("pay2", "c1", {"subscription": "-1.00"}), "lines.0.amount"),
    (b.payment("pay2", "c1", {"subscription": "1.00"}, tax="-0.01"), "tax"),
    (b.payment("pay2", "c1", {"subscription": "1.00"}, currency="usd"), "currency"),
    ({**b.payment("pay2", "c1"), "lines": []}, "lines"),
    ({k: v for k, v in b.payment("pay2", "c1").items() if k != "customer_id"}, "customer_id"),
    ({k: v for k, v in b.refund("r1", "pay1", "1.00").items() if k != "refund_id"}, "refund_id"),
    (b.cmd("set_commission_rate", partner_id="p1", rate="1.5"), "rate"),
    (b.cmd("set_commission_rate", partner_id="p1"), "rate"),
    (b.claim("c9", "p1", channel="carrier-pigeon"), "channel"),
    ({**b.signup("c9"), "at": "yesterday"}, "at"),
    ({**b.signup("c9"), "colour": "blue"}, "colour"),
    (b.cmd("submit_tax_form", partner_id="p1", form="W-2"), "form"),
]


def test_validation_errors_name_the_field_and_record_nothing(ledger):
    base(ledger)
    for command, field in BAD:
        error = refused_cleanly(ledger, command)
        assert (error["code"], error["field"]) == ("invalid", field), (command, error)
        assert error["message"], command


def test_too_many_decimal_places_name_the_field_and_record_nothing(ledger):
    base(ledger)
    cases = [
        (b.cost("k1", "c1", "1.005"), "amount"),
        (b.payment("pay2", "c1", {"subscription": "10.005"}), "lines.0.amount"),
        (b.payment("pay2", "c1", {"subscription": "10.00"}, tax="0.001"), "tax"),
        (b.cmd("adjust_commission", adjustment_id="a1", partner_id="p1", amount="1.001", currency="USD", reason="x"), "amount"),
    ]
    for command, field in cases:
        error = refused_cleanly(ledger, command)
        assert "decimal places" in error["message"], error
        assert (error["code"], error["field"]) == ("invalid", field), (command, error)


def test_unknown_or_missing_command_type(ledger):
    base(ledger)
    error = refused_cleanly(ledger, {"type": "teleport", "partner_id": "p1"})
    assert (error["code"], error["field"]) == ("unknown_type", "type")
    error = refused_cleanly(ledger, {"partner_id": "p1"})
    assert error["field"] == "type"


def test_unknown_references_are_refused_with_their_field(ledger):
    base(ledger)
    assert refused_cleanly(ledger, b.payment("pay2", "ghost"))["field"] == "customer_id"
    assert refused_cleanly(ledger, b.cmd("change_level", partner_id="ghost", level="Gold"))["field"] == "partner_id"
    assert refused_cleanly(ledger, b.application("p9", program_id="ghost"))["field"] == "program_id"


# -- ledger apply ----------------------------------------------------------------------


def test_apply_exits_1_when_a_command_is_rejected_and_applies_the_others(ledger, tmp_path):
    path = tmp_path / "commands.jsonl"
    lines = [
        json.dumps(b.program(terms=b.terms())),
        "this is not json",
        json.dumps(b.application("p1")),
        json.dumps({"type": "teleport"}),
        "",
        json.dumps(b.approve("p1", "Gold")),
    ]
    path.write_text("\n".join(lines) + "\n")
    code, out = ledger.cli("apply", str(path))
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["ok"] for r in results] == [True, False, True, False, True]
    assert results[1]["error"]["code"] == "invalid_json"
    assert results[3]["error"]["code"] == "unknown_type"
    assert ledger.app.queries.partner("p1")["state"] == "approved"


def test_apply_exits_0_when_everything_applies(ledger, tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in [b.program(terms=b.terms()), *b.partner("p1")]) + "\n")
    code, out = ledger.cli("apply", str(path))
    assert code == 0 and len(out.splitlines()) == 3


# -- idempotency -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["payment_id", "refund_id", "chargeback_id", "cost_id", "adjustment_id"])
def test_same_key_same_content_returns_the_first_result_other_content_conflicts(ledger, key):
    base(ledger)
    first, other = {
        "payment_id": (b.payment("pay2", "c1", {"subscription": "50.00"}), b.payment("pay2", "c1", {"subscription": "60.00"})),
        "refund_id": (b.refund("r1", "pay1", "10.00"), b.refund("r1", "pay1", "11.00")),
        "chargeback_id": (b.chargeback("cb1", "pay1", "10.00"), b.chargeback("cb1", "pay1", "10.00", at="2025-03-01T00:00:00Z")),
        "cost_id": (b.cost("k1", "c1", "10.00"), b.cost("k1", "c1", "10.00", kind="ads")),
        "adjustment_id": (
            b.cmd("adjust_commission", adjustment_id="a1", partner_id="p1", amount="5.00", currency="USD", reason="bonus"),
            b.cmd("adjust_commission", adjustment_id="a1", partner_id="p1", amount="5.00", currency="USD", reason="other"),
        ),
    }[key]
    [result] = ledger.ok(first)
    balance, count = ledger.balance("p1"), ledger.event_count()
    assert ledger.ok({**first, "actor": "someone-else"}) == [result]  # who sent it is not content
    assert ledger.event_count() == count and ledger.balance("p1") == balance
    error = refused_cleanly(ledger, other)
    assert (error["code"], error["field"]) == ("conflict", key)
    assert ledger.balance("p1") == balance


def test_command_id_makes_any_command_idempotent(ledger):
    base(ledger)
    meeting = b.cmd("record_meeting", partner_id="p1", command_id="m1")
    [first] = ledger.ok(meeting)
    count = ledger.event_count()
    assert ledger.ok(meeting) == [first]
    assert ledger.event_count() == count
    error = refused_cleanly(ledger, b.cmd("record_meeting", partner_id="p2", command_id="m1"))
    assert (error["code"], error["field"]) == ("conflict", "command_id")
    [second] = ledger.ok(b.cmd("record_meeting", partner_id="p1"))  # no key: a new meeting
    assert second["meetings"] == first["meetings"] + 1


def test_idempotent_replay_within_one_batch(ledger):
    base(ledger)
    pay = b.payment("pay2", "c1", {"subscription": "50.00"})
    results = ledger.apply(pay, pay)
    assert results[0] == results[1] and results[0]["ok"]
    assert ledger.balance("p1")["earned"] == "30.00"


# -- query shapes and masking -----------------------------------------------------------


def test_balance_json_has_the_documented_keys_and_arithmetic(ledger):
    base(ledger)
    ledger.ok(b.refund("r1", "pay1", "25.00"), b.cost("k1", "c1", "10.00"),
              b.cmd("adjust_commission", adjustment_id="a1", partner_id="p1", amount="3.00", currency="USD", reason="bonus"))
    got = ledger.cli_json("balance", "p1")
    assert set(got) == {"partner_id", "currencies"} and got["partner_id"] == "p1"
    usd = got["currencies"]["USD"]
    assert set(usd) == BALANCE_FIGURES
    assert (usd["earned"], usd["clawed_back"], usd["deducted"], usd["adjusted"]) == ("20.00", "5.00", "2.00", "3.00")
    assert usd["lifetime_commission"] == "16.00" and usd["balance"] == "16.00" and usd["paid"] == "0.00"


def test_partner_json_has_the_documented_keys_and_masks_personal_data(ledger):
    account = "DE89370400440532013000"
    ledger.ok(b.program(preset="sales-partner"), *b.partner("p1", email="jane.doe@acme-partners.example"),
              b.cmd("set_payout_details", partner_id="p1", method="sepa", account=account))
    code, out = ledger.cli("partner", "p1", "--json")
    assert code == 0
    got = json.loads(out)
    assert set(got) == PARTNER_KEYS
    assert (got["state"], got["level"], got["rate"], got["promo"]) == ("approved", "Standard", "0.50", True)
    assert "jane.doe@acme-partners.example" not in out and "jane.doe" not in out
    assert got["profile"]["contact_email"] != "jane.doe@acme-partners.example"
    # the payout method is shown with the account masked: never the account itself
    assert account not in out and got["payout_method"] == {"method": "sepa", "account": "*" * 18 + "3000", "bic": None}
    _, table = ledger.cli("partner", "p1")
    assert "jane.doe" not in table and account not in table
    _, trail = ledger.cli("audit", "p1", "--json")
    assert "jane.doe" not in trail and account not in trail


def test_balance_as_of_and_known_at(ledger):
    base(ledger)  # pay1 on 2025-02-01: 20.00
    ledger.ok(b.payment("pay2", "c1", {"subscription": "50.00"}, at="2025-02-15T12:00:00Z"))
    time.sleep(0.01)
    known = datetime.now(UTC)
    time.sleep(0.01)
    ledger.ok(b.payment("pay3", "c1", {"subscription": "25.00"}, at="2025-01-20T00:00:00Z"))  # learnt late, backdated
    earned = lambda *args: ledger.cli_json("balance", "p1", *args)["currencies"]["USD"]["earned"]  # noqa: E731
    assert earned() == "35.00"
    assert earned("--as-of", "2025-02-14") == "25.00"
    assert earned("--as-of", "2025-02-15") == "35.00"  # a bare date is the whole day
    assert earned("--known-at", known.isoformat()) == "30.00"
    assert ledger.balance("p1", as_of=datetime(2025, 1, 31, tzinfo=UTC))["earned"] == "5.00"
    assert ledger.balance("p1", as_of=datetime(2025, 1, 31, tzinfo=UTC), known_at=known) == {}


# -- time, identity and audit -------------------------------------------------------------


def test_audit_trail_carries_times_actor_source_and_money(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"),
              {**b.payment("pay1", "c1", {"subscription": "100.00"}), "actor": "billing", "command_id": "corr-1"})
    trail = ledger.cli_json("audit", "p1")
    [paid] = [e for e in trail if e["type"] == "payment.recorded"]
    assert {"position", "event_id", "type", "effective_at", "recorded_at", "actor", "source", "correlation_id", "money"} <= set(paid)
    assert (paid["actor"], paid["source"], paid["correlation_id"]) == ("billing", "cli", "corr-1")
    assert paid["effective_at"].startswith("2025-02-01")
    assert paid["money"] == [{"bucket": "earned", "kind": "commission", "amount": "20.00", "currency": "USD"}]
    positions = [e["position"] for e in trail]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)


def test_forgetting_a_partner_shreds_personal_data_but_keeps_money(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1", email="jane@acme.example"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}))
    count = ledger.event_count()
    ledger.ok(b.cmd("forget_partner", partner_id="p1", reason="GDPR request"))
    assert ledger.event_count() == count + 1  # one more event, nothing rewritten
    profile = ledger.cli_json("partner", "p1")["profile"]
    assert "acme" not in json.dumps(profile["contact_email"])
    assert ledger.balance("p1")["earned"] == "20.00"
