"""Robustness suite, concurrency (PostgreSQL): four ``ledger apply`` processes started
at the same instant on a fresh schema, two applying the same file at once, and
balance queries while a large file is applied. Every process finishes, results equal a
sequential run, nothing is counted twice, no query fails."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from entrypoints.bootstrap import bootstrap
from tests import builders as b
from tests.conftest import Driver
from tests.robustness import case, fresh_url, jsonl, ledger_process, outcome, start, wait_all, without_links, workload

PARTS = [f"part{i}" for i in range(4)]
SIZE = {"partners": 2, "customers": 3, "months": 2}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    directory = tmp_path_factory.mktemp("parts")
    paths = {}
    for part in PARTS:
        path = directory / f"{part}.jsonl"
        path.write_text(jsonl(workload(part, **SIZE)))
        paths[part] = str(path)
    return paths


def results(out: str) -> list[dict[str, Any]]:
    return without_links([json.loads(line) for line in out.splitlines()])  # type: ignore[no-any-return]


def at_once(url: str, files: list[str], batch_size: str, barrier: Path) -> list[tuple[int, str, str]]:
    """``ledger apply`` of each file, every process started at the same instant (once
    all have imported everything), until they all end."""
    barrier.mkdir()
    processes = [ledger_process(url, "apply", file, "--batch-size", batch_size, barrier=barrier) for file in files]
    try:
        start(barrier, processes)
    except BaseException:
        for process in processes:
            process.kill()
            process.communicate()
        raise
    return wait_all(processes)


def test_writers_at_once_end_as_a_sequential_run(pg_available, files, request, tmp_path_factory):
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")
    sequential_url = fresh_url("pg", request, tmp_path_factory)
    sequential = Driver(sequential_url)
    expected = {part: sequential.cli("apply", files[part]) for part in PARTS}
    sequential.close()
    expected_outcome = outcome(sequential_url, PARTS, **SIZE)

    # Four processes, disjoint parts, started at the same instant on a fresh schema
    # (so they also race to create it).
    url = fresh_url("pg", request, tmp_path_factory)
    finished = at_once(url, [files[part] for part in PARTS], "20", tmp_path_factory.mktemp("barrier") / "parts")
    for part, (code, out, err) in zip(PARTS, finished, strict=True):
        with case("concurrency"):
            assert "Traceback" not in err, err[-2000:]
            assert (code, results(out)) == (expected[part][0], results(expected[part][1])), err[-2000:]
    with case("concurrency"):
        assert outcome(url, PARTS, **SIZE) == expected_outcome

    # Two processes applying the same file at once: each answers as one run would.
    url = fresh_url("pg", request, tmp_path_factory)
    finished = at_once(url, [files["part0"]] * 2, "5", tmp_path_factory.mktemp("barrier") / "same")
    for code, out, err in finished:
        with case("concurrency"):
            assert "Traceback" not in err, err[-2000:]
            assert (code, results(out)) == (expected["part0"][0], results(expected["part0"][1])), err[-2000:]
    with case("concurrency"):
        assert outcome(url, ["part0"], **SIZE) == {k: v for k, v in expected_outcome.items() if "part0" in k}


def test_balance_queries_during_a_large_apply_never_fail(pg_url, files, tmp_path):
    ledger = Driver(pg_url)
    ledger.cli("apply", files["part0"])
    partners = [f"part0-p{p}" for p in range(SIZE["partners"])]
    customers = [f"{partner}-c{c}" for partner in partners for c in range(SIZE["customers"])]
    large = [b.payment(f"big{i}", customers[i % len(customers)], {"subscription": "10.00"}, at="2025-03-05T00:00:00Z")
             for i in range(1500)]
    path = tmp_path / "large.jsonl"
    path.write_text(jsonl(large))
    reader = bootstrap(database_url=pg_url)
    initial = sum(Decimal(reader.queries.balance(p)["currencies"]["USD"]["earned"]) for p in partners)
    try:
        process = ledger_process(pg_url, "apply", str(path), "--batch-size", "50", "--quiet")
        last = {partner: Decimal(0) for partner in partners}
        queries, deadline = 0, time.monotonic() + 300
        while process.poll() is None or queries < 20:
            assert time.monotonic() < deadline, "the large apply never ended"
            for partner in partners:
                with case("concurrency"):
                    earned = Decimal(reader.queries.balance(partner)["currencies"]["USD"]["earned"])
                    assert earned >= last[partner]  # a figure never goes backwards
                    last[partner] = earned
                queries += 1
            time.sleep(0.02)  # leave the writer its share of two cores
        [(code, out, err)] = wait_all([process])
        assert code == 0 and out == "", err[-2000:]
        with case("concurrency"):  # every payment counted once: 20 % of 10.00 each
            total = sum(Decimal(reader.queries.balance(p)["currencies"]["USD"]["earned"]) for p in partners)
            assert total == initial + 1500 * Decimal("2.00")
    finally:
        reader.close()
        ledger.close()
