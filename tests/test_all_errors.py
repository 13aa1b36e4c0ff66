"""All errors at once: a refused command names every invalid field in one answer, so a
user fixes a line in one try; `error` is the first of them; nothing is recorded."""

from __future__ import annotations

import json

from tests import builders as b
from tests.conftest import Driver
from tests.robustness import jsonl

BAD_PAYMENT = {
    "type": "record_payment", "payment_id": "in_1", "customer_id": "c1",
    "currency": "US", "lines": [{"kind": "platform_fee", "amount": "-1.00"}], "tax": "abc",
}
BAD_FIELDS = ["currency", "lines.0.amount", "tax"]


def assert_every_problem_listed(result: dict) -> None:
    assert result["ok"] is False and result["type"] == "record_payment"
    assert [problem["field"] for problem in result["errors"]] == BAD_FIELDS
    for problem in result["errors"]:
        assert set(problem) == {"field", "code", "message"}
        assert problem["code"] == "invalid"
        assert problem["message"].startswith(problem["field"] + ":") and len(problem["message"]) > len(problem["field"]) + 5
    first = result["errors"][0]
    assert result["error"] == {"code": first["code"], "message": first["message"], "field": first["field"]}


def test_the_bus_lists_every_invalid_field(ledger: Driver):
    ledger.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1"))
    before = ledger.event_count()
    [result] = ledger.apply(BAD_PAYMENT)
    assert_every_problem_listed(result)
    assert ledger.event_count() == before


def test_nested_and_unknown_fields_are_listed_too(sqlite_ledger: Driver):
    application = b.application("p1")
    application["profile"] = {**application["profile"], "contact_email": "not-an-address", "team_size": -3}
    [result] = sqlite_ledger.apply({**application, "partner_id": "", "colour": "blue"})
    assert [p["field"] for p in result["errors"]] == ["partner_id", "profile.contact_email", "profile.team_size", "colour"]
    assert result["error"]["field"] == "partner_id"


def test_ledger_apply_lists_every_invalid_field_and_applies_the_rest(sqlite_ledger: Driver, tmp_path):
    commands = tmp_path / "commands.jsonl"
    lines = [b.program(), *b.partner("p1"), *b.customer("c1", "p1"), BAD_PAYMENT, b.payment("in_2", "c1")]
    commands.write_text(jsonl(lines))
    code, out = sqlite_ledger.cli("apply", str(commands))
    assert code == 1  # a command was refused
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["ok"] for r in results] == [True] * 5 + [False, True]
    assert_every_problem_listed(results[5])


def test_a_rule_refusal_has_one_problem_in_errors(sqlite_ledger: Driver):
    sqlite_ledger.ok(b.program())
    [result] = sqlite_ledger.apply(b.approve("nobody"))
    assert result["errors"] == [{**result["error"]}] and result["error"]["code"] == "not_found"
