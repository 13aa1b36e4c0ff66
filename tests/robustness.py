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
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psycopg

from adapters.database import Database
from tests.conftest import ROOT, pg_schema

CATEGORIES = ("bad input", "crash safety", "concurrency", "privacy", "tamper")
TALLY: dict[str, list[int]] = {}  # category -> [tried, held]


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


def ledger_process(
    url: str, *args: str, log_level: str = "WARNING", env_extra: dict[str, str] | None = None, barrier: Path | None = None,
    stdout: Any = subprocess.PIPE, stderr: Any = subprocess.PIPE,
) -> subprocess.Popen[bytes]:
    """``ledger --db URL ARGS`` in its own process (output piped unless told). ``barrier``
    (a folder): the process imports everything, writes a ready file there and waits for
    ``start(barrier, processes)``, so several processes really start at once."""
    # The commands' side is imported on first use (``Ledger.bus``): imported before the
    # barrier too, so the processes race on the ledger, not on their imports.
    wait = f"import commands.bus\n{_AWAIT_START}await_start({str(barrier)!r})\n" if barrier else ""
    code = f"import sys\nfrom entrypoints.cli import main\n{wait}sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, "--db", url, *args], stdout=stdout, stderr=stderr, cwd=ROOT,
        env=cli_env(LEDGER_LOG_LEVEL=log_level, **(env_extra or {})),
    )


BARRIER_TIMEOUT = 120.0

# In a child, before it runs the command: says it is ready, then waits (bounded) for the go.
_AWAIT_START = f"""
def await_start(barrier):
    import pathlib, time, uuid
    folder = pathlib.Path(barrier)
    (folder / f"ready-{{uuid.uuid4().hex}}").touch()
    deadline = time.monotonic() + {BARRIER_TIMEOUT}
    while not (folder / "go").exists():
        if time.monotonic() > deadline:
            raise SystemExit("the go never came")
        time.sleep(0.005)
"""


def start(barrier: Path, processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Waits (bounded) until every process of ``processes`` has imported everything and
    said it is ready in ``barrier``, then lets them all go at once."""
    deadline = time.monotonic() + BARRIER_TIMEOUT
    while len(list(barrier.glob("ready-*"))) < len(processes):
        assert time.monotonic() < deadline, "the processes never got ready"
        assert all(process.poll() is None for process in processes), "a process ended before the start"
        time.sleep(0.01)
    (barrier / "go").touch()


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


def fresh_url(store: str, request: Any, tmp_path_factory: Any) -> str:
    """A new, empty store: an SQLite file, or a PostgreSQL schema dropped after the test."""
    if store == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'ledger.db'}"
    schema = ExitStack()
    request.addfinalizer(schema.close)
    return schema.enter_context(pg_schema())


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


# -- a realistic workload and what it leaves behind --------------------------------------------


def workload(program: str, partners: int = 3, customers: int = 4, months: int = 2) -> list[dict[str, Any]]:
    """Commands of one program, every one dated: partners with paperwork and meetings,
    customers signed up and claimed (one claim refused, and recorded, per customer),
    monthly payments, a refund, month closes and a payout. Half of them carry no
    idempotency key of their own."""
    from tests import builders as b

    day = iter(range(1, 10_000))

    def at(month: int = 1) -> str:
        return f"2025-{month:02d}-{min(28, 1 + next(day) % 27):02d}T{next(day) % 24:02d}:00:00Z"

    commands: list[dict[str, Any]] = [b.program(program, terms=b.terms(currencies=["EUR"]), at="2025-01-01T00:00:00Z")]
    for p in range(partners):
        partner = f"{program}-p{p}"
        commands += [
            {**b.application(partner, program), "at": "2025-01-01T01:00:00Z"},
            {**b.approve(partner), "at": "2025-01-01T02:00:00Z"},
            b.cmd("record_meeting", partner_id=partner, at=at()),
            b.cmd("submit_tax_form", partner_id=partner, form="W-9", at=at()),
        ]
        for c in range(customers):
            customer = f"{partner}-c{c}"
            commands += [
                {**b.signup(customer, email=f"{customer}@example.org"), "at": "2025-01-01T03:00:00Z"},
                {**b.claim(customer, partner), "at": "2025-01-01T04:00:00Z"},
                {**b.claim(customer, f"{program}-p{(p + 1) % partners}"), "at": "2025-01-01T05:00:00Z"},
            ]
            for month in range(1, months + 1):
                currency = "EUR" if c % 3 == 2 else "USD"
                commands.append(b.payment(f"{customer}-m{month}", customer, {"subscription": f"{100 + 10 * c}.00"},
                                          at=at(month), currency=currency))
            commands.append(b.refund(f"{customer}-r", f"{customer}-m1", "5.00", at=at(months)))
    for month in range(1, months + 1):
        closing = f"2025-{month + 1:02d}-01T00:00:00Z"
        commands.append(b.cmd("close_period", program_id=program, period=f"2025-{month:02d}", at=closing))
    commands.append(b.cmd("record_payout", payout_id=f"{program}-po", partner_id=f"{program}-p0", amount="1.00",
                          currency="USD", statement_ids=[f"{program}/{program}-p0/USD/2025-{months:02d}"],
                          at=f"2025-{months + 1:02d}-02T00:00:00Z"))
    return commands


def jsonl(commands: Sequence[dict[str, Any]]) -> str:
    return "".join(json.dumps(command) + "\n" for command in commands)


def outcome(url: str, programs: Sequence[str], partners: int = 3, customers: int = 4, months: int = 2) -> dict[str, Any]:
    """Everything a workload leaves that a person reads: every balance, every statement,
    and the audit trail of every partner and customer (without what differs between
    two runs: positions, event ids, recorded times and generated correlation ids, a
    statement's issue time)."""
    from entrypoints.bootstrap import bootstrap

    ledger = bootstrap(database_url=url)
    try:
        found: dict[str, Any] = {}
        for program in programs:
            for p in range(partners):
                partner = f"{program}-p{p}"
                found[f"balance {partner}"] = ledger.queries.balance(partner)
                for month in range(1, months + 1):
                    statements = ledger.queries.statements(partner, f"2025-{month:02d}")
                    found[f"statements {partner} {month}"] = [{**s, "issued_at": None} for s in statements]
                found[f"audit {partner}"] = _trail(ledger.queries.audit(partner_id=partner))
                for c in range(customers):
                    found[f"audit {partner}-c{c}"] = _trail(ledger.queries.audit(customer_id=f"{partner}-c{c}"))
        return without_links(_without_positions(found))
    finally:
        ledger.close()


def _trail(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # A command with a key of its own and no command_id gets a random correlation id.
    varying = ("event_id", "recorded_at", "correlation_id")
    return [{k: v for k, v in entry.items() if k not in varying} for entry in entries]


def _without_positions(value: Any) -> Any:
    """Log positions (``position``, a statement line's ``line_key``) depend on how
    concurrent writers interleaved: left out, at every depth."""
    if isinstance(value, dict):
        return {k: _without_positions(v) for k, v in value.items() if k not in ("position", "line_key")}
    if isinstance(value, list):
        return [_without_positions(item) for item in value]
    return value


# Referral links are random draws (``secrets``, so that a link never reveals its partner):
# two runs of the same commands give each partner a different one. Compared as present.
LINK_KEYS = frozenset({"link", "referral_link"})


def without_links(value: Any) -> Any:
    """``value`` with every referral link (under a link key, at any depth) as ``<link>``."""
    if isinstance(value, dict):
        return {k: ("<link>" if k in LINK_KEYS and isinstance(v, str) else without_links(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [without_links(item) for item in value]
    return value
