"""The sample-history generator (``demo``) and ``python -m demo``."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from commands.parsing import parse
from demo.__main__ import EXPECTED_REJECTIONS
from demo.__main__ import main as demo_main
from demo.generate import generate, to_jsonl, write_jsonl
from entrypoints.bootstrap import bootstrap
from entrypoints.payment_files import SEPA, file_for


def digest(seed: int, size: str) -> str:
    sha = hashlib.sha256()
    for command in generate(seed, size):
        sha.update(to_jsonl(command).encode())
    return sha.hexdigest()


@pytest.fixture(scope="module")
def tiny() -> list[dict[str, Any]]:
    return list(generate(7, "tiny"))


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    write_jsonl(first, generate(7, "tiny"))
    write_jsonl(second, generate(7, "tiny"))
    assert first.read_bytes() == second.read_bytes()
    assert digest(3, "demo") == digest(3, "demo")


def test_different_seed_different_history() -> None:
    assert digest(7, "tiny") != digest(8, "tiny")


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown size"):
        generate(7, "XL")


def test_every_tiny_command_validates(tiny: list[dict[str, Any]]) -> None:
    for command in tiny:
        parse(command)  # raises CommandRejected on any invalid field
        parse(to_jsonl(command))  # and as the JSON line ``ledger apply`` reads


def test_partners_paid_by_bank_in_the_euro_area_have_ibans_a_sepa_file_pays(tiny: list[dict[str, Any]]) -> None:
    """Their payouts land in finance's SEPA file, not under "in no file"; elsewhere a
    local account number, which finance pays by other means."""
    country = {c["partner_id"]: c["profile"]["country"] for c in tiny if c["type"] == "submit_application"}
    by_bank = [c for c in tiny if c["type"] == "set_payout_details" and c["method"] != "paypal"]
    euro = [c for c in by_bank if country[c["partner_id"]] in EURO_AREA]
    assert euro and all(file_for(c["method"], "EUR", c["account"]) == (SEPA, None) for c in euro)
    elsewhere = [c for c in by_bank if country[c["partner_id"]] in ("US", "CA", "AU", "BR")]
    assert elsewhere and {c["method"] for c in elsewhere} == {"bank_transfer"}


EURO_AREA = ("DE", "FR", "NL", "ES", "IT", "IE")


def test_commands_come_in_effective_time_order(tiny: list[dict[str, Any]]) -> None:
    times = [command["at"] for command in tiny]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", at) for at in times)
    assert times == sorted(times)


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_tiny_history_shows_every_feature(seed: int) -> None:
    tiny = list(generate(seed, "tiny"))
    kinds = Counter(command["type"] for command in tiny)
    for kind in (
        "define_program", "change_program_terms", "close_promo", "submit_application", "approve_application",
        "reject_application", "change_level", "submit_tax_form", "set_payout_details", "complete_training",
        "record_meeting", "set_active_until", "terminate_partner", "sign_up_customer", "claim_customer",
        "set_do_not_contact", "record_payment", "record_refund", "record_chargeback", "record_cost",
        "review_commission", "close_period", "set_commission_rate", "adjust_commission",
    ):
        assert kinds[kind] > 0, kind
    assert kinds["define_program"] == 3
    # One close per program per month of history, on the first of the next month.
    closes = [c for c in tiny if c["type"] == "close_period"]
    assert len(closes) == 3 * 14
    assert all(c["at"].endswith("-01T00:00:00Z") for c in closes)
    assert len({(c["program_id"], c["period"]) for c in closes}) == len(closes)


def test_reversals_never_exceed_what_was_paid() -> None:
    paid: dict[str, Decimal] = {}
    reversed_: dict[str, Decimal] = defaultdict(Decimal)
    for command in generate(11, "demo"):
        if command["type"] == "record_payment":
            amounts = [Decimal(line["amount"]) for line in command["lines"]]
            assert all(a == a.quantize(Decimal("0.01")) and a >= 0 for a in amounts)
            tax = Decimal(command["tax"])
            assert 0 <= tax <= sum(amounts) * Decimal("0.20") + Decimal("0.01")
            paid[command["payment_id"]] = sum(amounts) + tax
        elif command["type"] in ("record_refund", "record_chargeback"):
            reversed_[command["payment_id"]] += Decimal(command["amount"])
            assert reversed_[command["payment_id"]] <= paid[command["payment_id"]]


def rejected_block(output: str) -> dict[tuple[str, str], int]:
    lines = output.split("Rejected commands by error code", 1)[1].splitlines()[1:]
    found = {}
    for line in lines:
        match = re.fullmatch(r"  (\w+) \((\w+)\) ([\d,]+)", line)
        if match:
            found[(match[1], match[2])] = int(match[3].replace(",", ""))
    return found


def test_tiny_history_applies_through_python_m_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "demo.db"
    url, out = f"sqlite:///{db}", tmp_path / "commands.jsonl"
    argv = ["--size", "tiny", "--db", url, "--seed", "7", "--out", str(out), "--today", "2026-12-02"]
    assert demo_main(argv) == 0
    output = capsys.readouterr().out
    for section in ("Commands:", "Applied in", "events/s", "Events stored:", "Top 10 partners by lifetime commission",
                    "Partner status", "Totals per currency", "Rejected commands by error code"):
        assert section in output, section
    # The file holds every command applied: the generated history, with finance's payouts and
    # the partners' payout requests after each month close.
    applied = [json.loads(line) for line in out.read_text().splitlines()]
    generated = [c for c in applied if c["type"] not in ("record_payout", "request_payout")]
    assert "".join(map(to_jsonl, generated)) == "".join(to_jsonl(c) for c in generate(7, "tiny", until=(2026, 12)))

    # Only the refusals the history is meant to provoke.
    rejected = rejected_block(output)
    assert rejected, output  # duplicate / late claims are always in the history
    assert {code for code, _ in rejected} <= EXPECTED_REJECTIONS, rejected
    assert {kind for code, kind in rejected if code == "claim_rejected"} == {"claim_customer"}
    # Finance pays every payout it records: no payout id used twice, none refused, nor a request.
    payout_ids = Counter(c["payout_id"] for c in applied if c["type"] == "record_payout")
    assert payout_ids and max(payout_ids.values()) == 1, payout_ids.most_common(3)
    assert any(c["type"] == "request_payout" for c in applied)
    assert not {kind for _, kind in rejected} & {"record_payout", "request_payout"}, rejected

    # The figures printed are the ones the read side gives.
    events = int(re.search(r"Events stored: ([\d,]+)", output)[1].replace(",", ""))  # type: ignore[index]
    runtime = bootstrap(database_url=url)
    try:
        assert events == runtime.store.max_position()
        top = re.search(r"Top 10 partners by lifetime commission:\n.*\n  (\S+) +(\S+) +([\d,.-]+) +([A-Z]{3})", output)
        assert top is not None, output
        partner_id, program_id, lifetime, currency = top.groups()
        balance = runtime.queries.balance(partner_id)["currencies"][currency]
        assert Decimal(balance["lifetime_commission"]) == Decimal(lifetime.replace(",", ""))
        assert runtime.queries.partner(partner_id)["program_id"] == program_id
        assert runtime.outbox.position("mail") == events, "the generated history is not mailed"
    finally:
        runtime.close()

    # A second run starts from a fresh database: the same history, the same events.
    assert demo_main(argv) == 0
    assert f"Events stored: {events:,}" in capsys.readouterr().out


def test_python_m_demo_on_postgres_needs_an_empty_schema(pg_url: str, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--size", "tiny", "--db", pg_url, "--out", str(tmp_path / "commands.jsonl")]
    assert demo_main(argv) == 0
    output = capsys.readouterr().out
    assert "Totals per currency" in output
    assert {code for code, _ in rejected_block(output)} <= EXPECTED_REJECTIONS
    # Only SQLite files are recreated: a database that already holds a history is refused.
    assert demo_main(argv) == 2
    assert "already holds" in capsys.readouterr().err


def test_the_demo_looks_alive_on_its_day(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Given a day, the history ends with the last full month before it, so the dashboards'
    default last twelve months show figures: statements of that month, payouts recorded in
    the months before, requests waiting for finance, links with clicks, leads and codes."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    argv = ["--size", "tiny", "--db", url, "--out", str(tmp_path / "commands.jsonl"), "--today", "2026-12-02"]
    assert demo_main(argv) == 0
    assert "to 2026-11" in capsys.readouterr().out
    runtime = bootstrap(database_url=url)
    try:
        periods = {row[0] for row in runtime.db.fetch_all(f"SELECT period FROM {runtime.read_models.t.statements}")}
        assert max(periods) == "2026-11" and min(periods) == "2025-10", "14 months, ending last month"
        payouts = runtime.db.fetch_all(f"SELECT COUNT(*) FROM {runtime.db.events_table()} WHERE topic = 'payout.recorded'")
        assert payouts[0][0] > 0
        assert runtime.listings.payout_requests().items, "requests wait for finance after the last close"
        leads = runtime.referrals.leads()
        assert {lead["state"] for lead in leads} >= {"converted", "refused"}
        partner_id = max(runtime.listings.payouts_due().items, key=lambda due: Decimal(due["due"]))["partner_id"]
        record = runtime.queries.partner(partner_id, with_code=True)
        assert record["referral_link"] and record["partner_code"]
        funnel = runtime.referrals.funnel(partner_id, as_of=datetime(2026, 12, 2, tzinfo=UTC))
        assert sum(month["clicks"] for month in funnel["months"]) > 0
    finally:
        runtime.close()
