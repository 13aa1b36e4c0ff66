"""Batching is invisible: a command stream applied in batches of any size gives the
same results, the same events (recording times aside), the same read models and
statements, and a hash chain ``ledger verify`` accepts, as the same stream applied one
command at a time, on both stores."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.cli import main as cli_main
from events.wire import PRIVATE_FIELDS
from ledger.calendar import next_period, parse_moment, period_of
from projections.catalog import live_views
from tests import builders as b
from tests.conftest import pg_schema
from tests.robustness import without_links
from tests.test_properties import SETTINGS, Scenario, scenarios

# Columns that hold when the ledger learnt a fact: they differ between two runs.
RECORDED_COLUMNS = {"recorded_at", "submitted_known", "applied_known", "signed_up_known", "attributed_known", "onboarded_known"}


def ended_months(commands: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """Each month, from the first command's, that ends before a later command (``YYYY-MM``),
    with the index of the first command after its end: the months of the commands to close."""
    ended: list[tuple[int, str]] = []
    month: str | None = None
    for index, command in enumerate(commands):
        period = period_of(parse_moment(command["at"]))
        month = month or period
        while month < period:
            ended.append((index, month))
            month = next_period(month)
    return ended


def with_month_closes(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's commands, then closes of every month it covered (statements)."""
    commands = [dict(c) for c in scenario.commands]
    at = max(parse_moment(c["at"]) for c in commands) + timedelta(days=1)
    for index, (_, period) in enumerate(ended_months(commands)):
        moment = (at + timedelta(minutes=index)).isoformat().replace("+00:00", "Z")
        commands.append({**b.close(period, moment), "command_id": f"close-{period}"})
    return commands


def apply(runtime: Ledger, commands: list[dict[str, Any]], batch_sizes: list[int]) -> list[dict[str, Any]]:
    """``commands`` through the bus, split into batches of the given sizes (cycled)."""
    results: list[dict[str, Any]] = []
    start, index = 0, 0
    while start < len(commands):
        size = batch_sizes[index % len(batch_sizes)]
        chunk = commands[start : start + size]
        results += runtime.bus.handle_many(chunk, batch_size=size)
        start, index = start + size, index + 1
    return results


def events(runtime: Ledger) -> list[tuple[Any, ...]]:
    """Every event with its position, identity and content, recording time aside (and
    personal data, sealed and hashed under each database's own keys)."""
    out = []
    for notification in runtime.store.scan():
        document = orjson.loads(notification.state)
        del document["recorded_at"]
        # A referral's identity is made from its random link or its keyed code hash.
        originator = "<referral>" if notification.topic == "referral.assigned" else str(notification.originator_id)
        out.append((notification.id, originator, notification.originator_version, notification.topic,
                    without_links(_without_keys(document))))
    return out


def _without_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<keyed>" if k in PRIVATE_FIELDS and v is not None else _without_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_keys(item) for item in value]
    return value


def read_models(runtime: Ledger) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model, recording times aside (and statements' issue time)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with runtime.db.connect() as conn, runtime.db.transaction(conn) as cursor:
        for view in live_views():
            for name in view.TABLES:
                cursor.execute(f"SELECT * FROM {getattr(runtime.read_models.t, name)}")
                rows = cursor.fetchall()
                columns = [d[0] for d in cursor._cursor.description]
                tables[name] = sorted((_normal(dict(zip(columns, row, strict=True))) for row in rows), key=repr)
    return tables


def _normal(row: dict[str, Any]) -> tuple[Any, ...]:
    if "document" in row:
        document = json.loads(row["document"])
        document.pop("issued_at", None)
        row["document"] = document
    if row.get("event_type") == "referral.assigned":
        row["event_id"] = "<referral>"  # made from the referral's identity: its random link or keyed code hash
    if "details" in row:
        row["details"] = without_links(json.loads(row["details"]))
    for column, value in row.items():
        if value is not None and (column.endswith("_hash") or column in PRIVATE_FIELDS):
            row[column] = "<keyed>"  # sealed and hashed under each database's own keys
    return tuple((k, int(v) if isinstance(v, int) else v) for k, v in sorted(row.items()) if k not in RECORDED_COLUMNS)


def statements(runtime: Ledger) -> list[dict[str, Any]]:
    with runtime.db.connect() as conn, runtime.db.transaction(conn) as cursor:
        cursor.execute(f"SELECT DISTINCT partner_id, period FROM {runtime.read_models.t.statements} ORDER BY partner_id, period")
        keys = [(row[0], row[1]) for row in cursor.fetchall()]
    found = []
    for partner_id, period in keys:
        for document in runtime.queries.statements(partner_id, period):
            document.pop("issued_at")
            found.append(document)
    return found


def chain_verifies(url: str) -> bool:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(["--db", url, "verify", "--json"])
    return code == 0 and json.loads(out.getvalue())["ok"]


def check_batching_is_invisible(one_url: str, batched_url: str, scenario: Scenario, batch_sizes: list[int]) -> None:
    commands = with_month_closes(scenario)
    one = bootstrap(database_url=one_url)
    batched = bootstrap(database_url=batched_url)
    try:
        singly = apply(one, commands, [1])
        together = apply(batched, commands, batch_sizes)
        assert without_links(together) == without_links(singly)
        assert events(batched) == events(one)
        assert read_models(batched) == read_models(one)
        assert statements(batched) == statements(one)
    finally:
        one.close()
        batched.close()
    assert chain_verifies(one_url) and chain_verifies(batched_url)


batch_plans = st.lists(st.integers(2, 40), min_size=1, max_size=4)


@settings(SETTINGS, max_examples=15)
@given(scenario=scenarios(max_steps=30), batch_sizes=batch_plans)
def test_batches_equal_one_command_at_a_time_sqlite(scenario: Scenario, batch_sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="ledger-batching-") as tmp:
        check_batching_is_invisible(f"sqlite:///{Path(tmp) / 'one.db'}", f"sqlite:///{Path(tmp) / 'batched.db'}",
                                    scenario, batch_sizes)


def test_batches_equal_one_command_at_a_time_postgres(pg_available: bool) -> None:
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")

    @settings(SETTINGS, max_examples=4)
    @given(scenario=scenarios(max_steps=20), batch_sizes=batch_plans)
    def check(scenario: Scenario, batch_sizes: list[int]) -> None:
        with pg_schema() as one_url, pg_schema() as batched_url:
            check_batching_is_invisible(one_url, batched_url, scenario, batch_sizes)

    check()
