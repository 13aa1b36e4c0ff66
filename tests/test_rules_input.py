"""Nothing hostile gets in: ids and text without control characters, bounded amounts,
ISO 4217 currencies the program accepts, ISO-8601 times, reversals after their
payment; `ledger apply` answers every line with its number and goes on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import builders as b
from tests.robustness import jsonl


def base(ledger: Any) -> None:
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-02-01T00:00:00Z"))


def refused(ledger: Any, command: dict[str, Any] | str, field: str | None) -> dict[str, Any]:
    before = ledger.event_count()
    [result] = ledger.apply(command)
    assert result["ok"] is False, result
    assert result["error"]["field"] == field, result
    assert result["error"]["code"] != "internal", result
    assert ledger.event_count() == before
    return result["error"]


def test_nul_in_an_id_is_refused_and_the_store_keeps_working(ledger):
    """The PostgreSQL data-loss bug: a NUL once reached the immutable log."""
    base(ledger)
    error = refused(ledger, b.signup("C\u0000X"), "customer_id")
    assert "control characters" in error["message"]
    ledger.ok(b.signup("c2"))
    assert ledger.balance("p1")["earned"] == "20.00"
    code, _ = ledger.cli("replay", "--verify")
    assert code == 0


@pytest.mark.parametrize(("terms", "field"), [
    (b.terms(levels={"Gold\u0000": {"rate": "0.25"}}, default_level=None), "terms.levels.Gold\\x00"),
    (b.terms(commissionable_revenue=["sub\u0000scription"]), "terms.commissionable_revenue.0"),
])
def test_control_characters_are_refused_at_any_depth_of_the_terms(ledger, terms, field):
    error = refused(ledger, b.program(terms=terms), field)
    assert "control characters" in error["message"]


def test_control_characters_in_profile_fields_are_refused(ledger):
    ledger.ok(b.program(terms=b.terms()))
    command = b.application("p1")
    command["profile"]["expected_pipeline"] = "ten\u0007tenants"
    refused(ledger, command, "profile.expected_pipeline")
    command["profile"]["expected_pipeline"] = "ok"
    command["profile"]["company"] = "Acme\u0085"  # a C1 control character
    refused(ledger, command, "profile.company")


@pytest.mark.parametrize("amount", ["1e309", "123456789012345678901234567890", "NaN", "Infinity", "-Infinity", "sNaN"])
def test_amounts_out_of_range_are_refused_as_strings(ledger, amount):
    base(ledger)
    refused(ledger, b.refund("r1", "pay1", amount), "amount")
    refused(ledger, b.cost("k1", "c1", amount), "amount")
    refused(ledger, b.cmd("adjust_commission", adjustment_id="a1", partner_id="p1", amount=amount,
                          currency="USD", reason="bonus"), "amount")


@pytest.mark.parametrize("number", ["1e309", "123456789012345678901234567890", "NaN", "Infinity", "-Infinity"])
def test_amounts_out_of_range_are_refused_as_json_numbers(ledger, number):
    base(ledger)
    refused(ledger, f'{{"type": "record_refund", "refund_id": "r1", "payment_id": "pay1", "amount": {number}}}', "amount")
    payment = json.dumps(b.payment("pay9", "c1")).replace('"100.00"', number)
    refused(ledger, payment, "lines.0.amount")


def test_an_unknown_currency_is_refused(ledger):
    base(ledger)
    refused(ledger, b.payment("pay2", "c1", currency="XYZ"), "currency")
    refused(ledger, b.program("q", terms=b.terms(currency="XYZ")), "terms.currency")
    refused(ledger, b.program("q", terms=b.terms(currencies=["EUR", "ABC"])), "terms.currencies.1")


def test_a_currency_the_program_does_not_accept_is_refused_until_its_terms_list_it(ledger):
    base(ledger)
    error = refused(ledger, b.payment("pay2", "c1", currency="EUR"), "currency")
    assert "does not accept EUR" in error["message"]
    ledger.ok(b.cmd("change_program_terms", program_id="prog", terms=b.terms(currencies=["EUR"]), at="2025-01-05T00:00:00Z"))
    [result] = ledger.ok(b.payment("pay2", "c1", currency="EUR"))
    assert result["earning"]["amount"] == "20.00"
    assert ledger.balance("p1", "EUR")["earned"] == "20.00"


def test_presets_accept_usd_eur_and_gbp(ledger):
    ledger.ok(b.program(preset="sales-partner"), *b.partner("p1"), *b.customer("c1", "p1"))
    for currency in ("USD", "EUR", "GBP"):
        ledger.ok(b.payment(f"pay-{currency}", "c1", currency=currency))
    refused(ledger, b.payment("pay-chf", "c1", currency="CHF"), "currency")


@pytest.mark.parametrize(("at", "why"), [
    (12345, "ISO-8601"), (1.5, "ISO-8601"), (True, "ISO-8601"),
    ("2025-02-30T00:00:00Z", "day value"), ("0001-01-01T00:00:00Z", "outside"), ("9999-12-31T23:59:59Z", "outside"),
])
def test_times_are_iso_strings_within_the_supported_years(ledger, at, why):
    base(ledger)
    error = refused(ledger, b.cmd("record_meeting", partner_id="p1", at=at), "at")
    assert why in error["message"]


def test_dates_and_periods_are_within_the_supported_years(ledger):
    base(ledger)
    refused(ledger, b.cmd("set_active_until", partner_id="p1", until="9999-12-31"), "until")
    refused(ledger, b.cmd("set_active_until", partner_id="p1", until=20250101), "until")
    refused(ledger, b.cmd("close_period", program_id="prog", period="9999-12"), "period")
    refused(ledger, b.cmd("close_period", program_id="prog", period="0000-01"), "period")


def test_a_refund_or_chargeback_before_its_payment_is_refused(ledger):
    base(ledger)
    error = refused(ledger, b.refund("r1", "pay1", "10.00", at="2025-01-31T23:59:59Z"), "at")
    assert "cannot precede its payment" in error["message"]
    refused(ledger, b.chargeback("cb1", "pay1", "10.00", at="2025-01-15T00:00:00Z"), "at")
    ledger.ok(b.refund("r1", "pay1", "10.00", at="2025-02-01T00:00:00Z"))  # the same instant is fine


def test_huge_ids_and_sql_text_are_refused_or_stored_verbatim(ledger):
    base(ledger)
    refused(ledger, b.signup("x" * 100_000), "customer_id")
    sql = "c'); DROP TABLE ledger_events; --"
    refused(ledger, b.signup(sql), "customer_id")  # not an id (the id grammar): refused, not stored
    ledger.ok({**b.signup("c-sql"), "company": sql})  # free text may hold it
    assert ledger.app.queries.audit(customer_id="c-sql")[0]["customer_id"] == "c-sql"


def test_apply_numbers_every_result_and_goes_on_after_unreadable_lines(ledger, tmp_path):
    path = tmp_path / "commands.jsonl"
    lines = [
        json.dumps(b.program(terms=b.terms())).encode(),
        b"",
        b'{"type": "sign_up_customer", "customer_id": "c\xff"}',
        b"[" * 100_000,
        b'{"type": "sign_up_customer", "customer_id": "c\\u0000"}',
        b'{"type": "sign_up_customer", "customer_id": ',
        json.dumps(b.signup("c1")).encode(),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, out = ledger.cli("apply", str(path))
    results = [json.loads(line) for line in out.splitlines()]
    assert code == 1
    assert [r["line"] for r in results] == [1, 3, 4, 5, 6, 7]
    assert [r["ok"] for r in results] == [True, False, False, False, False, True]
    assert "not UTF-8" in results[1]["error"]["message"]
    assert "nests too deeply" in results[2]["error"]["message"]
    assert results[3]["error"]["field"] == "customer_id"
    assert results[4]["error"]["code"] == "invalid_json"


def test_apply_of_the_same_file_again_records_nothing_twice(ledger, tmp_path):
    """Commands without an idempotency key get one from the file's content and line."""
    path = tmp_path / "commands.jsonl"
    commands = [b.program(terms=b.terms()), *b.partner("p1"), b.cmd("record_meeting", partner_id="p1"),
                b.signup("c1"), b.claim("c1", "nobody")]
    path.write_text(jsonl(commands))
    first = ledger.cli("apply", str(path))
    events = ledger.event_count()
    second = ledger.cli("apply", str(path))
    assert second == first
    assert ledger.event_count() == events
    assert ledger.cli_json("partner", "p1")["partner_id"] == "p1"
    meetings = [e for e in ledger.app.queries.audit(partner_id="p1") if e["type"] == "partner.meeting_recorded"]
    assert len(meetings) == 1
    # The same command in another file is another command.
    other = tmp_path / "other.jsonl"
    other.write_text(jsonl([b.cmd("record_meeting", partner_id="p1")]))
    assert ledger.cli("apply", str(other))[0] == 0
    meetings = [e for e in ledger.app.queries.audit(partner_id="p1") if e["type"] == "partner.meeting_recorded"]
    assert len(meetings) == 2


@pytest.mark.parametrize("value", [b"[" * 100_000, b'{"type": "record_payment", "payment_id": "\xff"}', b"\xff\xfe{}", b"NaN"])
def test_a_hostile_kafka_message_becomes_a_dead_letter_not_a_crash(value):
    from types import SimpleNamespace

    from entrypoints.consumer import prepare

    command, error = prepare(SimpleNamespace(value=value, partition=0, offset=7, topic="billing.payments.v1"))
    assert command is None and error is not None and error["code"] == "invalid_json", error
