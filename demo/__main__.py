"""``python -m demo``: generate a sample history, apply it through ``ledger apply``, summarize.

    python -m demo --size demo --db sqlite:///demo.db [--seed 7] [--out demo-commands.jsonl]

An SQLite database is deleted first (a fresh start); any other database must be empty.
Rejected commands are expected (duplicate and late claims): they are counted by error
code, not treated as a failure.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import redirect_stdout
from pathlib import Path

import structlog

from adapters.database import Database
from demo.generate import SIZES, generate, write_jsonl
from demo.summary import event_count, render, summarize
from entrypoints.bootstrap import bootstrap
from entrypoints.cli import main as ledger_main
from entrypoints.logging import configure_logging
from ledger import notices

log = structlog.get_logger(__name__)

DEFAULT_DB = "sqlite:///demo.db"
# The refusals a generated history is meant to provoke (see demo.generate).
EXPECTED_REJECTIONS = frozenset({"claim_rejected"})


class RejectionCounter(io.TextIOBase):
    """Stands in for stdout while ``ledger apply`` runs: counts the rejected
    results it prints by (command type, error code) without keeping them."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.other: list[str] = []  # anything that is not a result line
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._count(line)
        return len(text)

    def flush_partial(self) -> None:
        if self._partial:
            self._count(self._partial)
            self._partial = ""

    def _count(self, line: str) -> None:
        if not line.strip():
            return
        try:
            result = json.loads(line)
        except ValueError:
            self.other.append(line)
            return
        if isinstance(result, dict) and not result.get("ok", True):
            self.counts[(str(result.get("type")), str(result["error"]["code"]))] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demo", description="Generate, apply and summarize a sample history.")
    parser.add_argument("--size", choices=sorted(SIZES), default="demo")
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB}; SQLite files are recreated)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="demo-commands.jsonl", help="where to write the generated JSONL")
    parser.add_argument("--no-closes", action="store_true", help="leave out the monthly close_period commands")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--quiet", action="store_true", help="no progress bar while applying")
    return parser


def _fresh_sqlite(db: Database) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(db.path + suffix).unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    args = _parser().parse_args(argv)
    db = Database.from_url(args.db)
    if db.kind == "sqlite":
        _fresh_sqlite(db)
    else:
        runtime = bootstrap(database_url=args.db)
        try:
            existing = event_count(runtime)
        finally:
            runtime.close()
        if existing:
            print(f"{args.db} already holds {existing} events: give an empty database or schema", file=sys.stderr)
            return 2

    started = time.perf_counter()
    commands = write_jsonl(args.out, generate(args.seed, args.size, include_closes=not args.no_closes))
    generated = time.perf_counter() - started
    log.info("demo_generated", size=args.size, seed=args.seed, commands=commands, path=args.out, seconds=round(generated, 2))

    counter = RejectionCounter()
    started = time.perf_counter()
    # Every result goes to the counter (it keeps only the rejections); the progress bar,
    # on a terminal, goes to stderr.
    apply = ["--db", args.db, "apply", args.out, "--batch-size", str(args.batch_size), *(["--quiet"] if args.quiet else [])]
    with redirect_stdout(counter):  # type: ignore[type-var]
        code = ledger_main(apply)
    applied_in = time.perf_counter() - started
    counter.flush_partial()
    if code not in (0, 1) or counter.other:
        print(f"ledger apply failed (exit {code}): {' '.join(counter.other)[:2000]}", file=sys.stderr)
        return code or 1
    unexpected = {code for _, code in counter.counts} - EXPECTED_REJECTIONS
    if unexpected:
        log.warning("demo_unexpected_rejections", codes=sorted(unexpected))

    runtime = bootstrap(database_url=args.db)
    try:
        summary = summarize(runtime)
        # An auditor's starting point: the read models frozen after the history, to
        # compare later snapshots with (the dashboards' snapshot page lists it).
        snapshot = runtime.take_snapshot("demo: after the generated history")
        # The generated history is not mailed: mail starts with what happens next.
        runtime.outbox.skip_to_head(notices.CONSUMER)
    finally:
        runtime.close()
    rate = summary.events / applied_in if applied_in else 0.0
    out = [
        f"Demo history: size {args.size}, seed {args.seed}, {args.db} (commands in {args.out})",
        f"Commands: {commands:,} generated in {generated:.1f} s; {commands - counter.total:,} applied, "
        f"{counter.total:,} rejected",
        f"Applied in {applied_in:.1f} s ({rate:,.0f} events/s)",
        *render(summary),
        "",
        f"Snapshot {snapshot.snapshot_id} at position {snapshot.position:,}, hash {snapshot.hash[:16]}..."
        if snapshot else "Snapshot: not taken (the read models moved while it was read)",
        "",
        "Rejected commands by error code (expected: duplicate, late and disqualified claims):",
        *(f"  {code} ({kind}) {n:,}" for (kind, code), n in sorted(counter.counts.items(), key=lambda kv: kv[0][::-1])),
    ]
    if not counter.counts:
        out.append("  none")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
