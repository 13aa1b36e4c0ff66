"""Attack on money input (issue 17 item 5): amounts were parsed leniently though the
README says they are strict. ``"1_000.00"``, Arabic-Indic ``"١٠.٠٠"``, fullwidth
``"０１０.００"``, ``"  10.00  "``, ``"+10.00"``, ``"1E+1"``, ``"10."`` and ``".5"`` were
all recorded, and so was a payment of ``0.00``.

Now an amount is ASCII digits with at most one ``.`` and digits on both sides, a
leading ``-`` only on an adjustment; zero is refused where it would record nothing
(``amount: must be positive``). Each test sends the attack through one entry point (the
bus, ``ledger apply``, HTTP, Kafka) and fails if anything is recorded."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.parsing import parse
from ledger.errors import CommandRejected
from ledger.money import parse_amount
from tests import builders as b
from tests.conftest import Driver, Http
from tests.test_kafka import as_bytes, config, kafka_bootstrap, kafka_env, produce, read_topic, run_cli  # noqa: F401

LENIENT = ["1_000.00", "١٠.٠٠", "０１０.００", "  10.00  ", "10.00 ", "+10.00", "1E+1", "1e1", "10.", ".5",
           "1.000.00", "1,000.00", "10.0.0", "", "-", ".", "NaN", "Infinity", "0x10", "٣", "10\u00a0", "１"]
WORLD = [b.program(), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay-0", "c1")]
GRAMMAR = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def every_amount(amount: Any) -> dict[str, dict[str, Any]]:
    """One command per kind of amount the ledger takes, each carrying ``amount``."""
    return {
        "payment line": b.payment("pay-x", "c1", {"platform_fee": amount}),
        "tax": {**b.payment("pay-y", "c1"), "tax": amount},
        "refund": b.refund("ref-x", "pay-0", amount),
        "chargeback": b.chargeback("cb-x", "pay-0", amount),
        "cost": {**b.cost("cost-x", "c1", amount), "currency": "USD"},
        "adjustment": b.cmd("adjust_commission", adjustment_id="adj-x", partner_id="p1", amount=amount, currency="USD",
                            reason="fix"),
        "payout": b.cmd("record_payout", payout_id="po-x", partner_id="p1", amount=amount, currency="USD",
                        statement_ids=["s"]),
        "payout request": b.cmd("request_payout", partner_id="p1", currency="USD", amount=amount),
        "payout minimum": b.program("prog-x", preset=None, terms=b.terms(payout={"minimum": amount})),
    }


FIELD = {"payment line": "lines.0.amount", "tax": "tax", "payout minimum": "terms.payout.minimum"}


def _field_named(error: dict[str, Any], kind: str) -> None:
    field = FIELD.get(kind, "amount")
    named = [error.get("field"), *(e.get("field") for e in error.get("errors", []))]
    assert field in named, (kind, error)


@pytest.mark.parametrize("amount", LENIENT)
def test_a_leniently_written_amount_is_refused_everywhere_naming_the_field(ledger: Driver, amount: str) -> None:
    ledger.ok(*WORLD)
    before = ledger.event_count()
    for kind, command in every_amount(amount).items():
        error = ledger.refused(command)
        _field_named(error, kind)
        assert "ASCII digits" in json.dumps(error, ensure_ascii=False), (kind, error)
    assert ledger.event_count() == before, "nothing was recorded"


@pytest.mark.parametrize("kind", ["payment line", "refund", "chargeback", "cost", "payout", "payout request"])
def test_zero_is_refused_as_not_positive(ledger: Driver, kind: str) -> None:
    ledger.ok(*WORLD)
    before = ledger.event_count()
    for zero in ("0", "0.00", 0):
        error = ledger.refused(every_amount(zero)[kind])
        assert f"{FIELD.get(kind, 'amount')}: must be positive" in json.dumps(error), error
    assert ledger.event_count() == before


def test_a_negative_is_refused_but_where_it_debits(ledger: Driver) -> None:
    ledger.ok(*WORLD)
    for kind, command in every_amount("-1.00").items():
        if kind == "adjustment":
            continue
        error = ledger.refused(command)
        _field_named(error, kind)
        assert "no sign" in json.dumps(error), (kind, error)
    [debit] = ledger.ok(every_amount("-1.00")["adjustment"])
    assert debit["ok"]


def test_plain_amounts_and_exact_json_numbers_are_taken(ledger: Driver) -> None:
    ledger.ok(*WORLD)
    ledger.ok(b.payment("pay-1", "c1", {"platform_fee": "1000.50"}), b.payment("pay-2", "c1", {"platform_fee": 20}),
              b.refund("ref-1", "pay-1", "0.50"), {**b.payment("pay-3", "c1"), "tax": "0"})
    [number] = ledger.apply('{"type": "record_refund", "refund_id": "ref-2", "payment_id": "pay-1", "amount": 10.25}')
    assert number["ok"], number
    [exponent] = ledger.apply('{"type": "record_refund", "refund_id": "ref-3", "payment_id": "pay-1", "amount": 1e1}')
    assert not exponent["ok"] and exponent["error"]["field"] == "amount", exponent


# -- the entry points ----------------------------------------------------------------------


def test_ledger_apply_refuses_them(sqlite_ledger: Driver, tmp_path: Path) -> None:
    sqlite_ledger.ok(*WORLD)
    before = sqlite_ledger.event_count()
    lines = [b.payment(f"pay-{i}", "c1", {"platform_fee": amount}) for i, amount in enumerate([*LENIENT, "0.00"])]
    commands = tmp_path / "payments.jsonl"
    commands.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    code, out = sqlite_ledger.cli("apply", str(commands))
    assert code != 0
    assert sqlite_ledger.event_count() == before, out


def test_http_refuses_them(http: Http) -> None:
    http.driver.ok(*WORLD)
    before = http.driver.event_count()
    for amount in [*LENIENT, "0.00"]:
        body = json.dumps(b.payment("pay-h", "c1", {"platform_fee": amount}), ensure_ascii=False).encode()
        answer = http.post("/v1/commands", as_="billing", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, (amount, answer.text)
        assert "lines.0.amount" in answer.text
    exponent = b'{"type": "record_refund", "refund_id": "r-h", "payment_id": "pay-0", "amount": 1E1}'
    assert http.post("/v1/commands", as_="billing", content=exponent,
                     headers={"Content-Type": "application/json"}).status_code == 422
    assert http.driver.event_count() == before


def test_kafka_dead_letters_them(sqlite_ledger: Driver, config: Any) -> None:  # noqa: F811
    sqlite_ledger.ok(*WORLD)
    before = sqlite_ledger.event_count()
    attacks = [*LENIENT[:8], "0.00"]
    produce(config, [("c1", as_bytes(b.payment(f"pay-k{i}", "c1", {"platform_fee": amount})))
                     for i, amount in enumerate(attacks)])
    code, stats = run_cli(sqlite_ledger, "consume", "--once")
    assert code == 0 and stats == {"messages": len(attacks), "applied": 0, "dead_lettered": len(attacks)}, stats
    dead = [json.loads(record.value) for record in read_topic(config, config.dlq_topic)]
    assert {letter["error"]["field"] for letter in dead} == {"lines.0.amount"}
    assert sqlite_ledger.event_count() == before


# -- the rule, as a property ---------------------------------------------------------------

TEXTS = st.text(alphabet=st.sampled_from([*"0123456789", ".", "-", "+", "_", " ", "e", "E", ",", "١", "０", "٣", "\u00a0"]),
                max_size=12) | st.from_regex(GRAMMAR, fullmatch=True)


@settings(max_examples=400, deadline=None)
@given(text=TEXTS, signed=st.booleans())
def test_an_amount_is_taken_exactly_when_it_follows_the_rule(text: str, signed: bool) -> None:
    follows = GRAMMAR.fullmatch(text) is not None and text.isascii() and (signed or not text.startswith("-"))
    try:
        value = parse_amount(text, signed=signed)
    except ValueError as refusal:
        assert not follows, (text, refusal)
    else:
        assert follows, text
        places = len(text.partition(".")[2])
        assert value == Decimal(text) and value.as_tuple().exponent == -places, "read exactly as written, places kept"


@settings(max_examples=200, deadline=None)
@given(text=TEXTS)
def test_a_refund_amount_is_taken_exactly_when_it_follows_the_rule(text: str) -> None:
    follows = GRAMMAR.fullmatch(text) is not None and text.isascii() and not text.startswith("-")
    command = {"type": "record_refund", "refund_id": "r1", "payment_id": "p1", "amount": text}
    try:
        parsed: Any = parse(command)
    except CommandRejected as refusal:
        assert not follows or Decimal(text) == 0 or len(text.partition(".")[2]) > 4 or Decimal(text) >= 10**15, \
            (text, refusal.as_dict())
    else:
        assert follows and parsed.amount == Decimal(text) > 0, text
