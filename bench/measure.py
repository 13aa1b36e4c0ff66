"""The measurements: each ledger figure next to its baseline, taken in the same run."""

from __future__ import annotations

import io
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from statistics import quantiles
from typing import Any

from bench.pg import connect, scratch_schema
from entrypoints.bootstrap import bootstrap
from entrypoints.cli import main as ledger_main

# Stored events that are bookkeeping, not business facts: idempotency receipts, which
# older versions of the ledger stored as events.
BOOKKEEPING_TOPICS = ("command.accepted",)


def stored_counts(url: str) -> tuple[int, int]:
    """(stored events, business facts among them)."""
    runtime = bootstrap(database_url=url)
    try:
        with runtime.db.connect() as conn, runtime.db.transaction(conn) as cursor:
            cursor.execute(
                f"SELECT count(*), count(*) FILTER (WHERE topic NOT IN ({', '.join('%s' for _ in BOOKKEEPING_TOPICS)}))"
                f" FROM {runtime.db.events_table()}",
                BOOKKEEPING_TOPICS,
            )
            events, facts = cursor.fetchone()
        return int(events), int(facts)
    finally:
        runtime.close()


def apply_file(url: str, path: Path, batch_size: int = 500) -> float:
    """Seconds for ``ledger apply`` of a file (read models brought up to date included)."""
    started = time.perf_counter()
    with redirect_stdout(io.StringIO()):
        ledger_main(["--db", url, "apply", str(path), "--quiet", "--batch-size", str(batch_size)])
    return time.perf_counter() - started


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ingest(url: str, path: Path, commands: int) -> dict[str, float]:
    """Throughput, and the ledger process's own CPU per fact: on a shared machine the
    wall clock says how much CPU the others left; the CPU time says what the ledger
    costs. On PostgreSQL, the server's CPU on the ledger's connections too."""
    postgres = url.startswith("postgresql")
    with server_cpu(postgres) as server:
        cpu = _cpu_seconds()
        seconds = apply_file(url, path)
        cpu = _cpu_seconds() - cpu
    events, facts = stored_counts(url)
    figures = {
        "commands": commands, "events": events, "facts": facts, "seconds": round(seconds, 2),
        "commands_per_s": round(commands / seconds, 1), "facts_per_s": round(facts / seconds, 1),
        "cpu_us_per_fact": round(cpu / facts * 1e6, 1),
    }
    if postgres and server["seconds"] is not None:
        figures["server_cpu_us_per_fact"] = round(server["seconds"] / facts * 1e6, 1)
    return figures


BENCH_APP = "ledger-bench"  # the application_name of the connections measured


@contextmanager
def server_cpu(enabled: bool, interval: float = 0.2) -> Iterator[dict[str, float | None]]:
    """The PostgreSQL server's CPU time (user + system) in the backends serving this
    process's connections while the block runs, in ``["seconds"]`` afterwards: they are
    found by their application_name (libpq's PGAPPNAME) and read from /proc, so the
    server must run on this machine (None otherwise)."""
    measured: dict[str, float | None] = {"seconds": None}
    if not enabled:
        yield measured
        return
    seen: dict[int, int] = {}  # backend pid -> CPU ticks when last looked at
    stop = threading.Event()

    def look(conn: Any) -> None:
        for (pid,) in conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (BENCH_APP,)):
            ticks = _process_ticks(pid)
            if ticks is not None:
                seen[pid] = max(ticks, seen.get(pid, 0))

    def watch() -> None:
        with connect() as conn:
            while not stop.wait(interval):
                look(conn)
            look(conn)

    previous = os.environ.get("PGAPPNAME")
    os.environ["PGAPPNAME"] = BENCH_APP
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield measured
    finally:
        stop.set()
        watcher.join()
        if previous is None:
            del os.environ["PGAPPNAME"]
        else:
            os.environ["PGAPPNAME"] = previous
    if seen:
        measured["seconds"] = sum(seen.values()) / os.sysconf("SC_CLK_TCK")


def _process_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def naive_ingest(url: str, path: Path, commands: int) -> float:
    """Facts per second, one command per transaction, on the first ``commands`` lines."""
    with tempfile.TemporaryDirectory() as scratch:
        head = Path(scratch) / "head.jsonl"
        with open(path) as source, open(head, "w") as target:
            for _, line in zip(range(commands), source, strict=False):
                target.write(line)
        seconds = apply_file(url, head, batch_size=1)
    return round(stored_counts(url)[1] / seconds, 1)


def schema_bytes(schema: str) -> int:
    """Everything the ledger keeps in its schema: log, chain, keys, read models, indexes."""
    with connect() as conn:
        row = conn.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0


def _stored_rows(schema: str) -> tuple[int, bytes]:
    with connect() as conn:
        dump = io.BytesIO()
        with conn.cursor().copy(
            f"COPY (SELECT originator_id, originator_version, topic, state FROM {schema}.ledger_events) TO STDOUT"
        ) as copy:
            for chunk in copy:
                dump.write(chunk)
        rows = conn.execute(f"SELECT count(*) FROM {schema}.ledger_events").fetchone()[0]  # type: ignore[index]
    return int(rows), dump.getvalue()


def copy_rows_per_s(schema: str) -> tuple[int, float]:
    """COPY of the ledger's own stored rows (same count, same bytes) into a plain table."""
    rows, dump = _stored_rows(schema)
    with connect() as conn:
        conn.execute(
            f"CREATE TABLE {schema}.copy_baseline (originator_id uuid, originator_version bigint, topic text, state bytea)"
        )
        started = time.perf_counter()
        with conn.transaction(), conn.cursor().copy(
            f"COPY {schema}.copy_baseline (originator_id, originator_version, topic, state) FROM STDIN"
        ) as copy:
            copy.write(dump)
        return rows, round(rows / (time.perf_counter() - started), 1)


def sqlite_copy_rows_per_s(sqlite_path: Path) -> float:
    """SQLite's bulk load of the ledger's stored rows: one executemany, one transaction,
    into a plain table of the same shape."""
    source = sqlite3.connect(sqlite_path)
    rows = source.execute("SELECT originator_id, originator_version, topic, state FROM stored_events").fetchall()
    source.close()
    target_path = sqlite_path.with_suffix(".copy.db")
    target = sqlite3.connect(target_path, isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=NORMAL")
    target.execute("CREATE TABLE copy_baseline (originator_id TEXT, originator_version INTEGER, topic TEXT, state BLOB,"
                   " PRIMARY KEY (originator_id, originator_version))")
    started = time.perf_counter()
    target.execute("BEGIN")
    target.executemany("INSERT INTO copy_baseline VALUES (?, ?, ?, ?)", rows)
    target.execute("COMMIT")
    seconds = time.perf_counter() - started
    target.close()
    return round(len(rows) / seconds, 1)


def _timed_replay(url: str) -> tuple[int, float, float, int]:
    """``ledger replay`` of ``url`` in a child process: (events, wall seconds, CPU seconds, peak RSS kB).

    The child is started by GNU time, a small process: a child forked from this big
    benchmark process would report this process's memory as its own peak."""
    rss_file = Path(tempfile.mkstemp(suffix=".rss")[1])
    try:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %M", "-o", str(rss_file),
             sys.executable, "-m", "entrypoints.cli", "--db", url, "replay", "--json"],
            capture_output=True, check=True,
        )
        seconds = time.perf_counter() - started
        user, system, peak_kb = rss_file.read_text().split()[-3:]
    finally:
        rss_file.unlink(missing_ok=True)
    return int(json.loads(done.stdout)["events"]), seconds, float(user) + float(system), int(peak_kb)


def replay_startup_cpu_s() -> float:
    """The CPU of a ``ledger replay`` process's start alone (the interpreter, the imports,
    opening the ledger): the least of 3 replays of an empty scratch schema on the bench's
    PostgreSQL server, the store the measured replays read. It does not depend on the
    log's size, so a bench run measures it once."""
    with scratch_schema("empty") as (empty, _):
        _timed_replay(empty)  # makes its tables: the start measured next opens a ledger that has them
        return min(_timed_replay(empty)[2] for _ in range(3))


def replay_in_child(url: str, startup: float) -> dict[str, float]:
    """A full ``ledger replay`` in its own process: throughput, CPU per event and peak
    memory. The CPU includes the process's start (the interpreter, the imports, opening
    the ledger), as it did before issue 19; ``startup_cpu_s`` is that start alone
    (``startup``, from :func:`replay_startup_cpu_s` on the same store) and
    ``cpu_us_per_event_after_start`` the CPU per event without it."""
    events, seconds, cpu, peak_kb = _timed_replay(url)
    return {"events": events, "events_per_s": round(events / seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
            "cpu_us_per_event": round(cpu / max(events, 1) * 1e6, 1), "startup_cpu_s": round(startup, 2),
            "cpu_us_per_event_after_start": round(max(cpu - startup, 0.0) / max(events, 1) * 1e6, 1)}


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
            cursor.execute("SELECT partner_id, period FROM proj_statements ORDER BY partner_id, period")
            stated = [(row[0], row[1]) for row in cursor.fetchall()]
        rng = random.Random(1)
        chosen = [rng.choice(partners) for _ in range(samples)]
        queries = runtime.queries
        figures = {
            "balance": _latencies(lambda p: queries.balance(p), chosen),
            "status": _latencies(lambda p: queries.status(p), chosen),
            "audit": _latencies(lambda p: queries.audit(partner_id=p), chosen),
        }
        if stated:
            picks = [rng.choice(stated) for _ in range(samples)]
            figures["statement"] = _latencies(lambda pp: queries.statements(*pp), picks)
    finally:
        runtime.close()
    result: dict[str, float] = {"partners": len(partners), "samples": samples}
    for name, (first, warm) in figures.items():
        for suffix, values in (("", warm), ("_first_pass", first)):
            cuts = quantiles(values, n=100)
            result[f"{name}{suffix}_p50_ms"] = round(cuts[49], 3)
            result[f"{name}{suffix}_p99_ms"] = round(cuts[98], 3)
    return result


def _latencies(call: Any, arguments: list[Any]) -> tuple[list[float], list[float]]:
    """Milliseconds per call: (the first pass over ``arguments``, a second pass over the
    same ones). The first pass reads most rows from disk or the OS's cache (a replay just
    pushed them out of the database's buffers); the second is the steady state a server
    answering the same partners again sees, the figure the targets are for."""
    for argument in arguments[:20]:  # warm the connection pool
        call(argument)
    return _timed(call, arguments), _timed(call, arguments)


def _timed(call: Any, arguments: list[Any]) -> list[float]:
    values = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        values.append((time.perf_counter() - started) * 1000)
    return values
