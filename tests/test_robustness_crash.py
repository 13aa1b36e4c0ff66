"""Robustness suite, crash safety: ``ledger apply`` killed with SIGKILL at several
points, on SQLite and on PostgreSQL, then the same file applied again, leaves every
balance, statement and audit trail exactly as one clean run does: nothing lost,
nothing recorded twice (commands without a key of their own included)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Driver
from tests.robustness import case, fresh_url, jsonl, kill_when, ledger_process, outcome, without_links, workload

BATCH = "10"  # small batches: many commits to be killed between


@pytest.fixture(scope="module")
def commands() -> list[dict[str, object]]:
    return workload("crash")


@pytest.mark.parametrize("store", ["sqlite", "pg"])
def test_apply_killed_at_several_points_then_applied_again_equals_a_clean_run(store, commands, request, tmp_path_factory):
    path = tmp_path_factory.mktemp("crash") / "commands.jsonl"
    path.write_text(jsonl(commands))
    clean_url = request.getfixturevalue(f"{store}_url")
    clean = Driver(clean_url)
    code, out = clean.cli("apply", str(path), "--batch-size", BATCH)
    clean.close()
    expected_results = without_links([json.loads(line) for line in out.splitlines()])
    assert len(expected_results) == len(commands)
    expected = outcome(clean_url, ["crash"])

    # Kill points: after the first batch, in the middle, near the end, and twice in
    # one store (killed, resumed, killed again, resumed).
    for kills in ([1], [len(commands) // 2], [len(commands) - 3], [len(commands) // 3, 2 * len(commands) // 3]):
        with case("crash safety"):
            url = fresh_url(store, request, tmp_path_factory)
            for lines in kills:
                process = ledger_process(url, "apply", str(path), "--batch-size", BATCH, env_extra={"PYTHONUNBUFFERED": "1"})
                seen = kill_when(process, lines)
                assert len(seen) >= lines, seen[-1:]
            resumed = Driver(url)
            code_again, again = resumed.cli("apply", str(path), "--batch-size", BATCH)
            resumed.close()
            assert code_again == code
            assert without_links([json.loads(line) for line in again.splitlines()]) == expected_results
            assert outcome(url, ["crash"]) == expected
