"""The measurements: each ledger figure next to its baseline, taken in the same run."""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from pathlib import Path
from statistics import quantiles
from typing import Any

from bench.pg import connect
from entrypoints.bootstrap import bootstrap
from entrypoints.cli import main as ledger_main


def _events(url: str) -> int:
    runtime = bootstrap(database_url=url)
    try:
        return runtime.store.max_position()
    finally:
        runtime.close()


def apply_file(url: str, path: Path, batch_size: int = 500) -> float:
    """Seconds for ``ledger apply`` of a file (read models brought up to date included)."""
    started = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        ledger_main(["--db", url, "apply", str(path), "--quiet", "--batch-size", str(batch_size)])
    return time.perf_counter() - started


def ingest(url: str, path: Path) -> dict[str, float]:
    seconds = apply_file(url, path)
    events = _events(url)
    return {"events": events, "seconds": round(seconds, 2), "events_per_s": round(events / seconds, 1)}


def naive_ingest(url: str, path: Path, commands: int) -> float:
    """One command per transaction, on the first ``commands`` lines."""
    head = Path(tempfile.mkdtemp()) / "head.jsonl"
    with open(path) as source, open(head, "w") as target:
        for _, line in zip(range(commands), source, strict=False):
            target.write(line)
    seconds = apply_file(url, head, batch_size=1)
    return round(_events(url) / seconds, 1)


def copy_rows_per_s(schema: str) -> tuple[int, float]:
    """COPY of the ledger's own stored rows (same count, same bytes) into a plain table."""
    with connect() as conn:
        dump = io.BytesIO()
        with conn.cursor().copy(
            f"COPY (SELECT originator_id, originator_version, topic, state FROM {schema}.ledger_events) TO STDOUT"
        ) as copy:
            for chunk in copy:
                dump.write(chunk)
        conn.execute(
            f"CREATE TABLE {schema}.copy_baseline (originator_id uuid, originator_version bigint, topic text, state bytea)"
        )
        rows = conn.execute(f"SELECT count(*) FROM {schema}.ledger_events").fetchone()[0]  # type: ignore[index]
        started = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(
            f"COPY {schema}.copy_baseline (originator_id, originator_version, topic, state) FROM STDIN"
        ) as copy:
            copy.write(dump.getvalue())
        return rows, round(rows / (time.perf_counter() - started), 1)


def replay_in_child(url: str) -> dict[str, float]:
    """A full ``ledger replay`` in its own process: throughput and peak memory.

    The child is started by GNU time, a small process: a child forked from this big
    benchmark process would report this process's memory as its own peak."""
    rss_file = Path(tempfile.mkstemp(suffix=".rss")[1])
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), sys.executable, "-m", "entrypoints.cli", "--db", url, "replay", "--json"],
        capture_output=True, check=True,
    )
    seconds = time.perf_counter() - started
    events = json.loads(done.stdout)["events"]
    peak_kb = int(rss_file.read_text().split()[-1])
    return {"events": events, "events_per_s": round(events / seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1)}


def raw_scan_rows_per_s(schema: str) -> float:
    """A plain scan of the event table, decoding each row's JSON."""
    started, rows = time.perf_counter(), 0
    with connect() as conn, conn.transaction(), conn.cursor(name="scan") as cursor:
        cursor.itersize = 5000
        cursor.execute(f"SELECT * FROM {schema}.ledger_events ORDER BY notification_id")
        for row in cursor:
            json.loads(row[3])
            rows += 1
    return round(rows / (time.perf_counter() - started), 1)


def query_latencies(url: str, samples: int = 300) -> dict[str, float]:
    runtime = bootstrap(database_url=url)
    try:
        runtime.read_models.catch_up()
        with runtime.db.connect() as conn, runtime.db.transaction(conn) as cursor:
            cursor.execute("SELECT partner_id FROM proj_partners WHERE state = 'approved' ORDER BY partner_id")
            partners = [row[0] for row in cursor.fetchall()]
            cursor.execute("SELECT partner_id, period FROM proj_statements")
            stated = [(row[0], row[1]) for row in cursor.fetchall()]
        rng = random.Random(1)
        chosen = [rng.choice(partners) for _ in range(samples)]
        figures = {
            "balance": _latencies(lambda p: runtime.queries.balance(p), chosen),
            "status": _latencies(lambda p: runtime.queries.status(p), chosen),
        }
        if stated:
            picks = [rng.choice(stated) for _ in range(samples)]
            figures["statement"] = _latencies(lambda pp: runtime.queries.statements(*pp), picks)
    finally:
        runtime.close()
    result: dict[str, float] = {"partners": len(partners), "samples": samples}
    for name, values in figures.items():
        cuts = quantiles(values, n=100)
        if name == "balance":
            result["balance_p50_ms"] = round(cuts[49], 3)
        result[f"{name}_p99_ms"] = round(cuts[98], 3)
    return result


def _latencies(call: Any, arguments: list[Any]) -> list[float]:
    values = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        values.append((time.perf_counter() - started) * 1000)
    return values
