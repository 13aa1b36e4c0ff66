"""How a stream is cut into transactions changes nothing: the property test's generated
scenarios (``tests/test_properties.py``), with or without month closes between them,
applied in one batch, one command per batch and in batches of a few commands, record the
same events, read models, idempotency receipts and results, row for row, and each log
replays to exactly its read models (``ledger replay --verify``).

Compared as the golden test compares (``tests/fixtures/golden.py``): every ledger gets
the same vault pepper, and what is drawn at random (referral links, partner codes) or
read from the clock (recorded times) is named or left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entrypoints.bootstrap import bootstrap
from tests import builders as b
from tests.conftest import Driver, pg_schema
from tests.fixtures import golden
from tests.test_batching import ended_months
from tests.test_properties import SETTINGS, Scenario, scenarios


def applied(url: str, commands: list[dict[str, Any]], batch_size: int) -> dict[str, Any]:
    """The ledger at ``url`` after ``commands`` in batches of ``batch_size``; replay checked."""
    golden.fix_pepper(url, bootstrap)
    driver = Driver(url)
    try:
        results = list(driver.app.bus.handle_many(commands, batch_size=batch_size))
        dumped = golden.dump(driver.app, results)
        replayed = driver.cli_json("replay", "--verify", "--json")
        assert replayed["ok"] and replayed["events"] == len(dumped["events"]), replayed
        return dumped
    finally:
        driver.close()


def with_closes(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``commands`` with program ``prog``'s month closes: each month, once it has ended,
    closed at the time of the first command after it (the books' statements, in a batch
    or on their own)."""
    closes: dict[int, list[dict[str, Any]]] = {}
    for index, period in ended_months(commands):
        closes.setdefault(index, []).append(b.close(period, commands[index]["at"]))
    return [made for index, command in enumerate(commands) for made in (*closes.get(index, []), command)]


def check(urls: tuple[str, str, str], scenario: Scenario, cut: int, closes: bool = False) -> None:
    """One batch, one command per batch and batches of ``cut``: the same ledger."""
    commands = with_closes(scenario.commands) if closes else scenario.commands
    together = applied(urls[0], commands, batch_size=len(commands))
    for url, batch_size in ((urls[1], 1), (urls[2], cut)):
        other = applied(url, commands, batch_size=batch_size)
        problems = golden.problems(together, other, upcast=False)
        assert not problems, f"one batch (expected) against batches of {batch_size} (got):\n" + golden.shown(problems)


@settings(SETTINGS, max_examples=12)
@given(scenario=scenarios(max_steps=30), cut=st.integers(2, 7), closes=st.booleans())
def test_one_batch_and_one_command_per_batch_record_the_same_ledger_sqlite(scenario: Scenario, cut: int, closes: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="ledger-batches-") as tmp:
        urls = tuple(f"sqlite:///{Path(tmp) / name}.db" for name in ("together", "alone", "cut"))
        check(urls, scenario, cut, closes)  # type: ignore[arg-type]


def test_one_batch_and_one_command_per_batch_record_the_same_ledger_postgres(pg_available: bool) -> None:
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")

    @settings(SETTINGS, max_examples=3)
    @given(scenario=scenarios(max_steps=20), cut=st.integers(2, 7), closes=st.booleans())
    def on_postgres(scenario: Scenario, cut: int, closes: bool) -> None:
        with pg_schema() as together, pg_schema() as alone, pg_schema() as in_cuts:
            check((together, alone, in_cuts), scenario, cut, closes)

    on_postgres()
