"""A consistent command line (issue #12): --version, --json on every query, tables with
headers, refusals that name the field, no traceback on a closed pipe, and progress bars
only on a terminal. Subprocess tests run the real ``ledger`` program."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests import builders as b
from tests.robustness import ROOT, cli_env, jsonl
from tests.robustness import ledger_process as robustness_process

TERMINAL = {"COLUMNS": "160", "TERM": "xterm"}


def ledger_process(url: str, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    return robustness_process(url, *args, env_extra=TERMINAL, **kw)


def run(url: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    process = ledger_process(url, *args)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def commands_file(tmp_path: Path, partners: int) -> Path:
    path = tmp_path / "commands.jsonl"
    path.write_text(jsonl([b.program(terms=b.terms())] + [b.application(f"p{i:04d}") for i in range(partners)]))
    return path


def test_version(sqlite_url):
    done = run(sqlite_url, "--version")
    assert done.returncode == 0
    assert done.stdout.decode().startswith("ledger ") and done.stdout.split()[1][:1].isdigit()


def test_every_query_speaks_json(sqlite_ledger):
    ledger = sqlite_ledger
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"),
              b.cmd("close_period", program_id="prog", period="2025-02", at="2025-03-01T01:00:00Z"))
    taken = ledger.cli_json("snapshot", "take", "--label", "march")
    assert taken["label"] == "march"
    assert ledger.cli_json("snapshot", "list")[0]["snapshot_id"] == taken["snapshot_id"]
    assert ledger.cli_json("snapshot", "show", taken["snapshot_id"])["partners"][0]["partner_id"] == "p1"
    for args in (("balance", "p1"), ("status", "p1"), ("partner", "p1"), ("audit", "p1"), ("periods", "prog"),
                 ("statement", "p1", "--period", "2025-02"), ("replay",), ("verify",), ("project",),
                 ("list", "partners")):
        assert ledger.cli_json(*args) is not None, args


def test_human_output_is_tables_with_headers(sqlite_ledger):
    ledger = sqlite_ledger
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"))
    _, balance = ledger.cli("balance", "p1")
    assert balance.splitlines()[1].split() == ["figure", "USD"]
    assert ["earned", "20.00"] in [line.split() for line in balance.splitlines()]
    ledger.cli("snapshot", "take")
    _, snapshots = ledger.cli("snapshot", "list")
    assert snapshots.splitlines()[1].split() == ["snapshot_id", "label", "position", "taken_at", "hash"]
    _, status = ledger.cli("status", "p1", "--on", "2025-03-01")
    assert status.splitlines()[1].split() == ["field", "value"]


def test_refusals_name_the_field(sqlite_ledger, capsys):
    ledger = sqlite_ledger
    ledger.ok(b.program(terms=b.terms()))
    for args, field in [(("balance", "ghost"), "partner_id"), (("periods", "ghost"), "program_id"),
                        (("snapshot", "show", "nope"), "snapshot_id"), (("list", "partners", "--limit", "0"), "limit"),
                        (("audit",), "partner")]:
        code, _ = ledger.cli(*args)
        error = json.loads(capsys.readouterr().err)["error"]
        assert code == 2 and error["field"] == field, (args, error)


def test_replay_verify_reports_partner_field_and_values_in_currency_units(sqlite_ledger):
    ledger = sqlite_ledger
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"))
    with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
        cursor.execute("UPDATE proj_balances SET amount_minor = amount_minor - 150 WHERE bucket = 'earned'")
    code, out = ledger.cli("replay", "--verify")
    assert code == 1
    [row] = [line.split() for line in out.splitlines() if line.startswith("p1 ")]
    assert row[:4] == ["p1", "amount", "18.50", "20.00"]


def test_no_traceback_when_the_reader_closes_the_pipe(sqlite_ledger):
    # More output than a pipe holds, so the writer is still writing when the reader leaves.
    sqlite_ledger.ok(b.program(terms=b.terms()), *(b.application(f"p{i:04d}") for i in range(1000)))
    sqlite_url = sqlite_ledger.url
    for args in (("list", "partners", "--all", "--json"), ("list", "partners", "--limit", "1000")):
        process = ledger_process(sqlite_url, *args)
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()  # like `| head -1`
        err = process.stderr.read().decode()
        process.wait(timeout=60)
        assert first and "Traceback" not in err and "BrokenPipe" not in err, err
        assert process.returncode != 0  # it really was cut short


def test_progress_is_silent_off_a_terminal(sqlite_url, tmp_path):
    applied = run(sqlite_url, "apply", str(commands_file(tmp_path, 20)))
    assert applied.returncode == 0 and applied.stderr == b""
    assert len(applied.stdout.splitlines()) == 21  # one result per command, nothing else
    for args in (("replay", "--json"), ("project", "--json")):
        done = run(sqlite_url, *args)
        assert done.returncode == 0 and done.stderr == b"", args
        json.loads(done.stdout)


def read_terminal(url: str, *args: str) -> tuple[int, str]:
    """Run with standard error on a pseudo-terminal; what the terminal showed."""
    master, slave = pty.openpty()
    process = ledger_process(url, *args, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown, deadline = b"", time.monotonic() + 120
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the terminal never closed"
        if not select.select([master], [], [], left)[0]:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    return process.wait(timeout=120), shown.decode(errors="replace")


def test_progress_bar_with_rate_and_time_left_on_a_terminal(sqlite_url, tmp_path):
    code, shown = read_terminal(sqlite_url, "apply", str(commands_file(tmp_path, 50)))
    assert code == 0
    assert "applying" in shown and "51/51" in shown and "commands/s" in shown and "left" in shown
    code, shown = read_terminal(sqlite_url, "replay")
    assert code == 0 and "replaying" in shown and "events/s" in shown
    code, shown = read_terminal(sqlite_url, "replay", "--quiet")
    assert code == 0 and shown == ""


# What each kind of ``ledger`` command may import: a command that only reads (queries,
# replay, verify) starts without the commands' models, rules and handlers, which are
# made on first use (``Ledger.bus``); a command that writes still gets them. A SQLite
# ledger's commands never import PostgreSQL's driver.
_IMPORTED = """
import sys
from entrypoints.cli import main
code = main(sys.argv[1:])
print(sorted(name for name in ("commands.bus", "commands.models", "commands.handlers", "psycopg") if name in sys.modules))
sys.exit(code)
"""


def _imported(url: str, *args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _IMPORTED, "--db", url, *args], capture_output=True, cwd=ROOT,
                          env=cli_env(LEDGER_LOG_LEVEL="WARNING"), timeout=120, check=False)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout.decode().splitlines()[-1].replace("'", '"'))


def test_reading_commands_start_without_the_commands_side(sqlite_ledger, tmp_path):
    sqlite_ledger.ok(b.program(terms=b.terms()), *b.partner("p1"))
    url = sqlite_ledger.url
    for args in (("verify", "--json"), ("replay", "--json"), ("balance", "p1", "--json"), ("list", "partners", "--json")):
        assert _imported(url, *args) == [], args
    path = tmp_path / "more.jsonl"
    path.write_text(jsonl([b.application("p2")]))
    assert _imported(url, "apply", str(path), "--quiet") == ["commands.bus", "commands.handlers", "commands.models"]
