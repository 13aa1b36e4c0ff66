"""What-if terms: a program's history under proposed terms, in memory.

The proof: the what-if of a patch gives, partner by partner, the commission the ledger
itself records when the same patch is applied for real at the start of the history and
the history is applied again; and the issued figures are the live balances."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import replay.what_if
from adapters.event_store import as_uuid
from commands.handlers.programs import patched_terms
from demo.__main__ import EXPECTED_REJECTIONS
from demo.generate import generate
from events.customer import CustomerClaimed
from events.revenue import PaymentRecorded
from ledger.merge_patch import merge_patch
from replay.what_if import WhatIfReport, what_if
from tests.conftest import Driver

SEED = 7


def tiny() -> list[dict[str, Any]]:
    return list(generate(SEED, "tiny"))


def with_patch_at_start(commands: list[dict[str, Any]], program_id: str, patch: dict[str, Any]) -> list[dict[str, Any]]:
    """The history with ``patch`` applied for real the moment the program is defined,
    and merged into every later change of its terms in full (the what-if patches every
    version of the terms in force)."""
    out = []
    for command in commands:
        if command["type"] == "change_program_terms" and command["program_id"] == program_id and "terms" in command:
            command = {**command, "terms": merge_patch(command["terms"], patch)}
        out.append(command)
        if command["type"] == "define_program" and command["program_id"] == program_id:
            out.append({"type": "change_program_terms", "program_id": program_id, "terms_patch": patch, "at": command["at"]})
    return out


def run_what_if(driver: Driver, program_id: str, patch: dict[str, Any], **window: Any) -> WhatIfReport:
    return what_if(driver.app.store, program_id, patch, lambda terms: patched_terms(terms, patch), **window)


def lifetime(driver: Driver, partner_id: str, currency: str) -> Decimal:
    figures = driver.app.queries.balance(partner_id)["currencies"].get(currency)
    return Decimal(figures["lifetime_commission"]) if figures else Decimal(0)


def applied(url: str, commands: list[dict[str, Any]]) -> Driver:
    """A ledger with ``commands`` applied. The history's refused claims stay refused; under
    a proposal that earns nothing on a held payment, its review has nothing to decide."""
    driver = Driver(url)
    for command, result in zip(commands, driver.apply(*commands), strict=True):
        refusal = None if result["ok"] else result["error"]["code"]
        assert refusal is None or refusal in EXPECTED_REJECTIONS or \
            (command["type"], refusal) == ("review_commission", "invalid_state"), result
    return driver


PROPOSALS = [
    pytest.param("refer-resell", {"levels": {"Registered": {"rate": "0.20"}}}, id="registered-plus-5-points"),
    pytest.param("sales-partner", {"promo": {"slots": 6, "rate": "0.40"}}, id="promo-6-slots-at-40"),
    pytest.param("referral-tiers", {"levels": {"Sales Partner": {"period_months": 1}, "Elite": {"period_months": 1}}}, id="periods-1-month"),
]


@pytest.mark.parametrize(("program_id", "patch"), PROPOSALS)
def test_what_if_equals_the_patch_applied_for_real_and_replayed(tmp_path: Path, program_id: str, patch: dict[str, Any]) -> None:
    history = tiny()
    actual = applied(f"sqlite:///{tmp_path / 'actual.db'}", history)
    real = applied(f"sqlite:///{tmp_path / 'real.db'}", with_patch_at_start(history, program_id, patch))
    try:
        report = run_what_if(actual, program_id, patch)
        rows = report.partner_rows()
        assert rows, "the program has partners with commission"
        assert any(Decimal(row["difference"]) for row in rows), "the proposal changes someone's commission"
        for row in rows:
            assert Decimal(row["issued"]) == lifetime(actual, row["partner_id"], row["currency"]), row
            assert Decimal(row["proposed"]) == lifetime(real, row["partner_id"], row["currency"]), row
    finally:
        actual.close()
        real.close()


def test_issued_figures_are_the_balances_on_both_databases(ledger: Driver) -> None:
    for result in ledger.apply(*tiny()):
        assert result["ok"] or result["error"]["code"] in EXPECTED_REJECTIONS, result
    report = run_what_if(ledger, "refer-resell", {"levels": {"Registered": {"rate": "0.20"}}})
    assert any(Decimal(row["difference"]) for row in report.partner_rows())
    for row in report.partner_rows():
        assert Decimal(row["issued"]) == lifetime(ledger, row["partner_id"], row["currency"]), row


@pytest.fixture(scope="module")
def history_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('what_if') / 'ledger.db'}"
    applied(url, tiny()).close()
    return url


@pytest.fixture
def actual(history_db: str) -> Any:
    driver = Driver(history_db)
    yield driver
    driver.close()


def test_what_if_records_nothing(actual: Driver, tmp_path: Path) -> None:
    before = (actual.event_count(), actual.app.read_models.positions())
    patch_file = tmp_path / "patch.json"
    patch_file.write_text(json.dumps({"levels": {"Registered": {"rate": "0.20"}}}))
    report = actual.cli_json("what-if", "refer-resell", "--terms-patch", str(patch_file))
    assert any(Decimal(total["difference"]) for total in report["totals"])
    assert (actual.event_count(), actual.app.read_models.positions()) == before


def test_only_the_programs_own_payments_and_customers_are_decoded(actual: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The what-if reads every row but decodes only what can matter to the program: a
    payment only when its customer was referred by one of the program's partners (one
    field of the stored payload tells), a customer's events only until it is claimed
    into another program."""
    program_id = "refer-resell"
    log = [replay.what_if.decode_row(as_uuid(row[1]), row[2], row[3], bytes(row[4])) for row in actual.app.store.rows()]
    program_of = {e.payload.customer_id: e.payload.program_id for e in log if isinstance(e.payload, CustomerClaimed)}
    decoded: list[Any] = []
    decode_row = replay.what_if.decode_row
    monkeypatch.setattr(replay.what_if, "decode_row", lambda *row: decoded.append(decode_row(*row)) or decoded[-1])

    run_what_if(actual, program_id, {"levels": {"Registered": {"rate": "0.20"}}})
    payments = [e.payload for e in decoded if isinstance(e.payload, PaymentRecorded)]
    assert payments and {program_of.get(p.customer_id) for p in payments} == {program_id}
    claimed_elsewhere = {e.originator_id: e.originator_version for e in log if isinstance(e.payload, CustomerClaimed)
                         and e.payload.program_id != program_id}  # the claim's version in the customer's history

    def after_claim(events: list[Any]) -> list[Any]:
        return [e for e in events if e.originator_version > claimed_elsewhere.get(e.originator_id, e.originator_version)]

    assert after_claim(log) and not after_claim(decoded)


def test_the_window_counts_only_its_months(actual: Driver) -> None:
    patch = {"levels": {"Registered": {"rate": "0.20"}}}
    whole = run_what_if(actual, "refer-resell", patch)
    window = run_what_if(actual, "refer-resell", patch, start="2024-06", end="2024-09")
    assert {row["period"] for row in window.month_rows()} == {
        row["period"] for row in whole.month_rows() if "2024-06" <= row["period"] <= "2024-09"}
    for currency, figures in window.totals().items():
        in_window = [row for row in whole.month_rows() if row["currency"] == currency and "2024-06" <= row["period"] <= "2024-09"]
        assert figures.proposed == sum(Decimal(row["proposed"]) for row in in_window)
        assert figures.issued == sum(Decimal(row["issued"]) for row in in_window)


def test_months_add_up_to_partners_and_totals(actual: Driver) -> None:
    report = run_what_if(actual, "refer-resell", {"levels": {"Registered": {"rate": "0.20"}}})
    for currency, figures in report.totals().items():
        assert figures.difference == sum(Decimal(r["difference"]) for r in report.month_rows() if r["currency"] == currency)
        assert figures.difference == sum(Decimal(r["difference"]) for r in report.partner_rows() if r["currency"] == currency)


def test_statuses_are_shown_only_where_the_activity_terms_change(actual: Driver) -> None:
    same = run_what_if(actual, "refer-resell", {"levels": {"Registered": {"rate": "0.20"}}}, end="2024-12")
    assert not same.statuses and all(row["status_proposed"] is None for row in same.partner_rows())
    # refer-resell sets no target (nobody is at risk): a target of 20 a year puts partners at risk
    harder = run_what_if(actual, "refer-resell", {"status": {"target_per_year": 20}}, end="2024-12")
    live = {p: actual.app.queries.status(p, on=harder.status_on)["status"] for p in harder.statuses}
    assert {p: issued for p, (issued, _) in harder.statuses.items()} == live
    assert any(issued == "active" and proposed == "at_risk" for issued, proposed in harder.statuses.values())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rate=st.decimals(min_value=0, max_value=1, places=2), program_id=st.sampled_from(["refer-resell", "sales-partner"]))
def test_a_patch_that_changes_nothing_changes_no_figure(actual: Driver, rate: Decimal, program_id: str) -> None:
    """A patch repeating the terms in force gives a difference of zero everywhere; any
    rate gives figures that add up (property)."""
    level = next(iter(actual.app.queries.terms(program_id)["levels"]))
    same = actual.app.queries.terms(program_id)["levels"][level]
    assert all(Decimal(r["difference"]) == 0 for r in run_what_if(actual, program_id, {"levels": {level: same}}).partner_rows())
    report = run_what_if(actual, program_id, {"levels": {level: {"rate": str(rate)}}})
    for currency, figures in report.totals().items():
        assert figures.proposed == sum(Decimal(r["proposed"]) for r in report.month_rows() if r["currency"] == currency)


def test_bad_input_is_refused_naming_every_field(actual: Driver, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patch_file = tmp_path / "patch.json"
    patch_file.write_text(json.dumps({"levels": {"Registered": {"rate": "2"}}, "payout": {"minimum": "x"}}))
    code, _ = actual.cli("what-if", "refer-resell", "--terms-patch", str(patch_file), "--to", "2024-13")
    assert code == 2
    assert [e["field"] for e in json.loads(capsys.readouterr().err)["errors"]] == ["to"]
    code, _ = actual.cli("what-if", "refer-resell", "--terms-patch", str(patch_file))
    assert code == 2
    fields = [e["field"] for e in json.loads(capsys.readouterr().err)["errors"]]
    assert fields == ["terms_patch.levels.Registered.rate", "terms_patch.payout.minimum"]
    patch_file.write_text("[1]")
    code, _ = actual.cli("what-if", "refer-resell", "--terms-patch", str(patch_file))
    assert code == 2 and json.loads(capsys.readouterr().err)["error"]["field"] == "terms_patch"
    patch_file.write_text("{}")
    code, _ = actual.cli("what-if", "nope", "--terms-patch", str(patch_file))
    assert code == 2 and json.loads(capsys.readouterr().err)["error"]["field"] == "program"


def test_csv_has_a_row_per_partner_and_currency(actual: Driver, tmp_path: Path) -> None:
    patch_file = tmp_path / "patch.json"
    patch_file.write_text(json.dumps({"levels": {"Registered": {"rate": "0.20"}}}))
    code, out = actual.cli("what-if", "refer-resell", "--terms-patch", str(patch_file), "--csv")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == "partner_id,currency,issued,proposed,difference,status_issued,status_proposed"
    expected = run_what_if(actual, "refer-resell", {"levels": {"Registered": {"rate": "0.20"}}}).partner_rows()
    assert [line.split(",")[:5] for line in lines[1:]] == [
        [r["partner_id"], r["currency"], r["issued"], r["proposed"], r["difference"]] for r in expected]


# -- the page -------------------------------------------------------------------------


@pytest.fixture
def http_history(http: Any) -> Any:
    http.driver.apply(*tiny())
    return http


def test_the_page_shows_totals_partners_and_a_chart_of_the_difference(http_history: Any) -> None:
    http = http_history
    patch = json.dumps({"levels": {"Registered": {"rate": "0.20"}}})
    expected = run_what_if(http.driver, "refer-resell", json.loads(patch)).as_dict()
    before = http.driver.event_count()
    page = http.get("/what-if", as_="finance", params={"program": "refer-resell", "patch": patch})
    assert page.status_code == 200
    for row in expected["partners"]:
        assert f'data-partner="{row["partner_id"]}" data-currency="{row["currency"]}"' in page.text
    assert 'src="/what-if/chart.svg?program=refer-resell&amp;patch=' in page.text
    chart = http.get("/what-if/chart.svg", as_="admin", params={"program": "refer-resell", "patch": patch})
    assert chart.status_code == 200 and chart.headers["content-type"] == "image/svg+xml"
    assert "Difference per month" in chart.text
    assert http.driver.event_count() == before


def test_the_page_names_every_bad_field(http_history: Any) -> None:
    page = http_history.get("/what-if", as_="admin", params={
        "program": "refer-resell", "patch": json.dumps({"levels": {"Registered": {"rate": "2"}}}), "from": "2024-13"})
    assert page.status_code == 422
    assert "from</strong>" in page.text
    page = http_history.get("/what-if", as_="admin", params={
        "program": "refer-resell", "patch": json.dumps({"levels": {"Registered": {"rate": "2"}}})})
    assert page.status_code == 422 and "terms_patch.levels.Registered.rate" in page.text
    assert http_history.get("/what-if", as_="admin", params={"program": "nope", "patch": "{}"}).status_code == 404
    assert http_history.get("/what-if", as_="admin", params={"program": "refer-resell", "patch": "{"}).status_code == 422
