"""The robustness suite's shared parts: the tally of cases tried and held (printed at
the end of every pytest run by ``tests/conftest.py``), the ``ledger`` command line in
a real process, and a full dump of a database.

Each robustness test wraps every case it tries in ``case(CATEGORY)``: a case that
raises is counted as tried and not held (and fails its test)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from adapters.database import Database

CATEGORIES = ("bad input", "crash safety", "concurrency", "privacy", "tamper")
TALLY: dict[str, list[int]] = {}  # category -> [tried, held]
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def case(category: str) -> Iterator[None]:
    assert category in CATEGORIES, category
    counts = TALLY.setdefault(category, [0, 0])
    counts[0] += 1
    yield
    counts[1] += 1


def summary_lines() -> list[str]:
    lines = []
    for category in CATEGORIES:
        if category in TALLY:
            tried, held = TALLY[category]
            lines.append(f"{category:<13} {tried:>5} cases tried, {held:>5} held{'' if held == tried else '  <-- FAILED'}")
    return lines


# -- the command line in a real process ---------------------------------------------------


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def ledger_process(url: str, *args: str, log_level: str = "WARNING", **popen: Any) -> subprocess.Popen[bytes]:
    """``ledger --db URL ARGS`` in its own process (output piped)."""
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "--db", url, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=cli_env(LEDGER_LOG_LEVEL=log_level), **popen,
    )


def ledger_run(url: str, *args: str, log_level: str = "WARNING", timeout: float = 300) -> tuple[int, str, str]:
    process = ledger_process(url, *args, log_level=log_level)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out.decode(), err.decode()


_SESSION = """
import json, sys
from entrypoints.cli import main
for argv in json.loads(sys.argv[1]):
    print(json.dumps({"argv": argv, "code": main(argv)}), flush=True)
"""


def ledger_session(url: str, commands: Sequence[Sequence[str]], log_level: str = "DEBUG") -> tuple[str, str]:
    """Several ``ledger`` invocations in one real process (one start-up instead of one
    per command): everything they printed (stdout) and logged (stderr)."""
    argvs = [["--db", url, *argv] for argv in commands]
    done = subprocess.run(
        [sys.executable, "-c", _SESSION, json.dumps(argvs)], capture_output=True, cwd=ROOT,
        env=cli_env(LEDGER_LOG_LEVEL=log_level), timeout=600, check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return done.stdout.decode(), done.stderr.decode()


def kill_when(process: subprocess.Popen[bytes], lines: int) -> list[bytes]:
    """SIGKILL ``process`` once it has printed ``lines`` result lines (or ended)."""
    assert process.stdout is not None
    seen = []
    while len(seen) < lines:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    return seen


def wait_all(processes: Sequence[subprocess.Popen[bytes]], timeout: float = 300) -> list[tuple[int, str, str]]:
    deadline = time.monotonic() + timeout
    results = []
    for process in processes:
        out, err = process.communicate(timeout=max(1, deadline - time.monotonic()))
        results.append((process.returncode, out.decode(), err.decode()))
    return results


# -- a full dump of a database ------------------------------------------------------------


def dump(url: str) -> str:
    """Every row of every table of the ledger's database as text (bytes decoded as
    UTF-8: the log's event states are JSON)."""
    db = Database.from_url(url)
    rows: list[str] = []
    if db.is_postgres:
        with psycopg.connect(dbname=db.dbname, host=db.host, port=db.port, user=db.user, autocommit=True) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY table_name", (db.schema,))]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{db.schema}"."{table}"'):
                    rows.append(f"{table}: {_text(row)}")
    else:
        conn = sqlite3.connect(db.path)
        try:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    rows.append(f"{table}: {_text(row)}")
        finally:
            conn.close()
    return "\n".join(rows)


def _text(row: Sequence[Any]) -> str:
    return " | ".join(
        bytes(value).decode("utf-8", errors="replace") if isinstance(value, bytes | memoryview) else str(value)
        for value in row
    )
