"""Robustness suite, bad input: malformed and hostile commands, generated with
hypothesis from the commands' JSON Schemas (each command's pydantic model) and picked
by hand, through ``ledger apply`` and through the message bus. Each one gets a clear
refusal (a code other than ``internal``, the field at fault for anything shaped like a
command, its line number from ``apply``), no traceback, and leaves the event count
and every read model as they were."""

from __future__ import annotations

import hashlib
import json
import typing
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands import models as m
from tests import builders as b
from tests.robustness import case

COMMAND_MODELS: dict[str, type[m.Command]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls for cls in typing.get_args(typing.get_args(m.AnyCommand)[0])
}
_HOLE = "@@hostile@@"

# A well-formed instance of every command; one field of it is then made hostile.
VALID: dict[str, dict[str, Any]] = {
    "define_program": b.program("new", terms=b.terms()),
    "change_program_terms": b.cmd("change_program_terms", program_id="prog", terms=b.terms()),
    "close_promo": b.cmd("close_promo", program_id="prog"),
    "submit_application": b.application("p9"),
    "approve_application": b.cmd("approve_application", partner_id="p1", level="Gold", rate="0.2"),
    "reject_application": b.cmd("reject_application", partner_id="p1", reason="no fit"),
    "change_level": b.cmd("change_level", partner_id="p1", level="Gold"),
    "set_commission_rate": b.cmd("set_commission_rate", partner_id="p1", rate="0.3"),
    "submit_tax_form": b.cmd("submit_tax_form", partner_id="p1", form="W-9"),
    "set_payout_details": b.cmd("set_payout_details", partner_id="p1", method="sepa", account="DE0012345678"),
    "complete_training": b.cmd("complete_training", partner_id="p1"),
    "record_meeting": b.cmd("record_meeting", partner_id="p1", at="2025-03-01T00:00:00Z"),
    "set_active_until": b.cmd("set_active_until", partner_id="p1", until="2026-01-01"),
    "terminate_partner": b.cmd("terminate_partner", partner_id="p1", reason="ended"),
    "forget_partner": b.cmd("forget_partner", partner_id="p1", reason="erasure"),
    "sign_up_customer": {**b.signup("c9", email="x@y.example"), "company": "Y"},
    "claim_customer": b.claim("c1", "p1"),
    "set_do_not_contact": b.cmd("set_do_not_contact", customer_id="c1", value=True),
    "forget_customer": b.cmd("forget_customer", customer_id="c1", reason="erasure"),
    "record_payment": b.payment("pay9", "c1"),
    "record_refund": b.refund("r9", "pay1", "1.00"),
    "record_chargeback": b.chargeback("cb9", "pay1", "1.00"),
    "record_cost": b.cost("k9", "c1", "5.00"),
    "adjust_commission": b.cmd("adjust_commission", adjustment_id="a9", partner_id="p1", amount="5.00", currency="USD", reason="x"),
    "review_commission": b.cmd("review_commission", payment_id="pay1", decision="release", reason="ok"),
    "close_period": b.cmd("close_period", program_id="prog", period="2025-01"),
    "record_payout": b.cmd("record_payout", payout_id="po9", partner_id="p1", amount="1.00", currency="USD",
                           statement_ids=["prog/p1/USD/2025-01"]),
    "request_payout": b.cmd("request_payout", partner_id="p1", currency="USD", amount="1.00"),
    "submit_lead": b.cmd("submit_lead", lead_id="l1", partner_id="p1", company="Acme", email="ops@acme.example"),
    "create_resold_customer": b.cmd("create_resold_customer", partner_id="p1", customer_id="c9", company="Acme",
                                    email="ops@acme.example", do_not_contact=True),
    "rotate_partner_code": b.cmd("rotate_partner_code", partner_id="p1"),
    "reveal_payout_account": b.cmd("reveal_payout_account", partner_id="p1", shown_in="payouts page"),
    "set_notices": b.cmd("set_notices", partner_id="p1", notices=False),
    "update_profile": b.cmd("update_profile", partner_id="p1", contact_email="ops@p1.example", website="https://p1.example"),
    "issue_sign_in_link": b.cmd("issue_sign_in_link", partner_id="p1", invite_id="inv-1", expires_at="2025-03-01T00:00:00Z"),
}
# Hostile JSON text for a value, by the kind of value its schema asks for: none of
# them is valid for a field of that kind.
_DEEP_LIST, _DEEP_OBJECT = "[" * 40 + "]" * 40, '{"a":' * 40 + "1" + "}" * 40
_ANY = ["[]", "{}", _DEEP_LIST, _DEEP_OBJECT, '{"$gt": ""}']
HOSTILE: dict[str, list[str]] = {
    "string": ['"C\\u0000X"', json.dumps("x" * 100_000), '"\\u0007bell"', '"a\\u0085b"', '"\\ud800"', "12", "true", *_ANY],
    "decimal": ["1e309", "-1e309", "NaN", "Infinity", "-Infinity", '"NaN"', '"-Infinity"', '"1e309"',
                '"123456789012345678901234567890"', "123456789012345678901234567890", '"abc"', '"1.2.3"', *_ANY],
    "integer": ["1e309", "-1", '"many"', "12345678901234567890", "NaN", "1.5", '"C\\u0000"', *_ANY],
    "boolean": ['"maybe"', "2", '"C\\u0000"', *_ANY],
    "date-time": ["12345", "1.5", "true", '"2025-02-30T00:00:00Z"', '"0001-01-01T00:00:00Z"', '"9999-12-31T23:59:59Z"',
                  '"yesterday"', '"2025-13-01T00:00:00Z"', '"2025-03-01T00:00:00Z\\u0000"', *_ANY],
    "date": ["20250101", '"2025-02-30"', '"0001-01-01"', '"9999-12-31"', '"soon"', *_ANY],
    "array": ['"not a list"', "42", _DEEP_LIST, '["C\\u0000X"]', '[{"$gt": ""}]', "{}"],
    "object": ['"x"', "[]", "42", _DEEP_OBJECT, '{"k\\u0000": 1}'],
    "enum": ['"bogus"', '"C\\u0000"', "5", json.dumps("y" * 100_000), *_ANY],
}


# Free-text profile fields take a number as written (`"expected_pipeline": 12` is "12"):
# a number is not hostile there.
NUMBERS_WELCOME = {("profile", name) for name in m.ApplicationProfile.model_fields
                   if name not in ("contact_email", "team_size", "client_count")}


def _kind(schema: dict[str, Any]) -> str:
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    first = options[0]
    if "$ref" in first:
        return "object"
    if "const" in first or "enum" in first:
        return "enum"
    if first.get("format") in ("date-time", "date"):
        return str(first["format"])
    if first.get("type") == "number" or {"number", "string"} <= {o.get("type") for o in options}:
        return "decimal"
    return str(first.get("type", "object"))


def fields(command_type: str) -> list[tuple[tuple[str | int, ...], str]]:
    """(path, kind) of every field of a well-formed instance, nested ones included,
    from the command's JSON Schema."""
    schema = COMMAND_MODELS[command_type].model_json_schema()
    defs = schema.get("$defs", {})
    found: list[tuple[tuple[str | int, ...], str]] = []

    def walk(node: dict[str, Any], value: Any, path: tuple[str | int, ...]) -> None:
        for name, prop in node.get("properties", {}).items():
            if not isinstance(value, dict) or name not in value:
                continue
            kind = _kind(prop)
            found.append(((*path, name), kind))
            ref = next((o["$ref"] for o in prop.get("anyOf", [prop]) if "$ref" in o), None)
            items = prop.get("items", {})
            if ref is not None:
                walk(defs[ref.split("/")[-1]], value[name], (*path, name))
            elif "$ref" in items and value[name]:
                walk(defs[items["$ref"].split("/")[-1]], value[name][0], (*path, name, 0))

    walk(schema, VALID[command_type], ())
    return found


@st.composite
def hostile_lines(draw: st.DrawFn) -> str:
    """One well-formed command with one thing made hostile: a field's value, a
    required field left out, an unknown field, or a control character in a key."""
    command_type = draw(st.sampled_from(sorted(VALID)))
    document = json.loads(json.dumps(VALID[command_type]))
    path, kind = draw(st.sampled_from(fields(command_type)))
    how = draw(st.sampled_from(["value", "value", "value", "value", "drop", "unknown", "nul_key"]))
    *parents, last = path
    holder = document
    for step in parents:
        holder = holder[step]
    if how == "drop" and last in COMMAND_MODELS[command_type].model_json_schema().get("required", []) and not parents:
        del holder[last]
        return json.dumps(document)
    if how == "unknown":
        holder[draw(st.sampled_from(["admin", "amount_minor", "is_paid", "__proto__"]))] = "1"
        return json.dumps(document)
    if how == "nul_key":
        holder[f"{last}\u0000"] = holder[last]
        return json.dumps(document)
    holder[last] = _HOLE
    hostile = [h for h in HOSTILE[kind] if not (tuple(path) in NUMBERS_WELCOME and h == "12")]
    return json.dumps(document).replace(json.dumps(_HOLE), draw(st.sampled_from(hostile)))


HAND_PICKED: list[bytes] = [
    b'{"type": "record_payment", "payment_id": "p', b"{}", b"[]", b"null", b"42", b'"a string"', b"{,}",
    b'{"type": "sign_up_customer", "customer_id": "c\x00x"}',  # a raw NUL byte
    b'{"type": "sign_up_customer", "customer_id": "c\xff\xfe"}',  # not UTF-8
    b"\xef\xbb\xbf" + json.dumps(b.signup("bom")).encode(),  # a UTF-8 byte-order mark
    json.dumps(b.signup("x" * 100_000)).encode(), b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    json.dumps(b.refund("r1", "pay1", "1e309")).encode(),
    b'{"type": "record_refund", "refund_id": "r1", "payment_id": "pay1", "amount": 1e309}',
    b'{"type": "record_refund", "refund_id": "r1", "payment_id": "pay1", "amount": NaN}',
    b'{"type": "record_refund", "refund_id": "r1", "payment_id": "pay1", "amount": 123456789012345678901234567890}',
    json.dumps(b.refund("r1", "pay1", "123456789012345678901234567890")).encode(),
    json.dumps(b.payment("pay9", "c1", at="2025-02-30T00:00:00Z")).encode(),
    json.dumps(b.payment("pay9", "c1", at="0001-01-01T00:00:00Z")).encode(),
    json.dumps(b.payment("pay9", "c1", at="9999-12-31T23:59:59Z")).encode(),
    json.dumps(b.cmd("set_active_until", partner_id="p1", until="0001-01-01")).encode(),
    json.dumps(b.cmd("record_meeting", partner_id="p1", at=12345)).encode(),
    json.dumps(b.cmd("record_meeting", partner_id="p1'; DROP TABLE ledger_events; --")).encode(),
    json.dumps(b.cmd("record_meeting", partner_id="p1\" OR 1=1 --")).encode(),
    json.dumps(b.payment("pay9", "c1", currency="XYZ")).encode(),
    json.dumps(b.payment("pay9", "c1", currency="CHF")).encode(),  # ISO 4217, not accepted by the program
    json.dumps(b.refund("r9", "pay1", "1.00", at="2025-01-15T00:00:00Z")).encode(),  # before its payment
    json.dumps({"type": "no_such_command", "id": 1}).encode(), json.dumps({"type": "\u0000"}).encode(),
    json.dumps({"customer_id": "c1"}).encode(), json.dumps(b.cmd("close_period", program_id="prog", period="9999-12")).encode(),
    b'{"type": "record_payment", "type": "sign_up_customer", "customer_id": "c\\u0000"}',
    b" " * 10 + b"\t{}",
]


def base(ledger: Any) -> None:
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-02-01T00:00:00Z"))


def read_models(ledger: Any) -> str:
    """A digest of every read model's rows (and of the log's length)."""
    digest = hashlib.sha256(str(ledger.event_count()).encode())
    with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
        for table in sorted(_proj_tables(ledger, cursor)):
            cursor.execute(f"SELECT * FROM {table}")
            digest.update(repr(sorted(map(repr, cursor.fetchall()))).encode())
    return digest.hexdigest()


def _proj_tables(ledger: Any, cursor: Any) -> Iterator[str]:
    db = ledger.app.db
    if db.is_postgres:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (db.schema,))
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    return (row[0] for row in cursor.fetchall() if row[0].startswith("proj_"))


def assert_refused(result: dict[str, Any], line: bytes | str) -> None:
    shown = line[:200]
    assert result["ok"] is False, (shown, result)
    assert result["error"]["code"] != "internal", (shown, result)
    if result["error"]["code"] != "invalid_json":
        assert result["error"]["field"], (shown, result)  # anything shaped like a command names its field


def run_through_both(ledger: Any, lines: list[bytes], tmp_path: Any) -> None:
    before = read_models(ledger)
    events = ledger.event_count()
    for line in lines:
        with case("bad input"):  # through the bus
            [result] = ledger.apply(line)
            assert_refused(result, line)
            assert ledger.event_count() == events
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out = ledger.cli("apply", str(path))
    answers = [json.loads(text) for text in out.splitlines()]
    assert code == 1 and len(answers) == len(lines)
    for number, (line, result) in enumerate(zip(lines, answers, strict=True), 1):
        with case("bad input"):  # through ledger apply
            assert result["line"] == number
            assert_refused(result, line)
    with case("bad input"):
        assert read_models(ledger) == before


def test_hand_picked_hostile_lines_are_refused_and_change_nothing(ledger, tmp_path):
    base(ledger)
    run_through_both(ledger, HAND_PICKED, tmp_path)


@settings(max_examples=2, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])
@given(lines=st.lists(hostile_lines(), min_size=90, max_size=90))
def test_generated_hostile_commands_are_refused_and_change_nothing(ledger, tmp_path, lines):
    if ledger.event_count() == 0:
        base(ledger)
    run_through_both(ledger, [line.encode() for line in lines], tmp_path)


def test_every_command_type_has_a_well_formed_instance_to_mutate():
    assert set(VALID) == set(COMMAND_MODELS)
    for command_type, document in VALID.items():
        assert COMMAND_MODELS[command_type].model_validate(document), command_type
        assert fields(command_type), command_type
