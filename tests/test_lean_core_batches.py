"""How a stream is cut into transactions changes nothing: the property test's generated
scenarios (``tests/test_properties.py``), applied in one batch and one command per batch,
record the same events and the same read models and idempotency receipts, row for row,
and each log replays to exactly its read models (``ledger replay --verify``).

Compared as the golden test compares (``tests/fixtures/golden.py``): both ledgers get
the same vault pepper, and what is drawn at random (referral links, partner codes) or
read from the clock (recorded times) is named or left out.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from entrypoints.bootstrap import bootstrap
from tests.conftest import Driver, pg_schema
from tests.fixtures import golden
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


def check(one_batch_url: str, one_by_one_url: str, scenario: Scenario) -> None:
    together = applied(one_batch_url, scenario.commands, batch_size=len(scenario.commands))
    alone = applied(one_by_one_url, scenario.commands, batch_size=1)
    problems = [
        *golden.differences("events", together["events"], alone["events"]),
        *golden.differences_in_tables(together["tables"], alone["tables"]),
        *golden.differences("results", together["results"], alone["results"]),
    ]
    assert not problems, "one batch (expected) against one command per batch (got):\n" + "\n".join(problems[:golden.MOST])


@settings(SETTINGS, max_examples=12)
@given(scenario=scenarios(max_steps=30))
def test_one_batch_and_one_command_per_batch_record_the_same_ledger_sqlite(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory(prefix="ledger-batches-") as tmp:
        check(f"sqlite:///{Path(tmp) / 'together.db'}", f"sqlite:///{Path(tmp) / 'alone.db'}", scenario)


def test_one_batch_and_one_command_per_batch_record_the_same_ledger_postgres(pg_available: bool) -> None:
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")

    @settings(SETTINGS, max_examples=3)
    @given(scenario=scenarios(max_steps=20))
    def on_postgres(scenario: Scenario) -> None:
        with pg_schema() as together, pg_schema() as alone:
            check(together, alone, scenario)

    on_postgres()
