"""``python -m demo``: generate a sample history ending with the last full month before
today, apply it through the message bus with the payouts and payout requests of each month
close (``demo.live``), add clicks on the partners' referral links, summarize.

    python -m demo --size demo --db sqlite:///demo.db [--seed 7] [--today 2026-12-02] [--out demo-commands.jsonl]

An SQLite database is deleted first (a fresh start); any other database must be empty.
Rejected commands are expected (duplicate and late claims, leads that do not qualify):
they are counted by error code, not treated as a failure. The out file holds every
command applied, in order.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from adapters.database import Database
from demo.generate import SIZES, generate, to_jsonl
from demo.live import apply_history, click_rows, record_clicks
from demo.summary import event_count, render, summarize
from entrypoints.bootstrap import bootstrap
from entrypoints.logging import configure_logging
from entrypoints.progress import progress
from entrypoints.progress import wanted as progress_wanted
from ledger import notices

log = structlog.get_logger(__name__)

DEFAULT_DB = "sqlite:///demo.db"
# The refusals a generated history is meant to provoke (see demo.generate).
EXPECTED_REJECTIONS = frozenset({"claim_rejected", "lead_refused"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m demo", description="Generate, apply and summarize a sample history.")
    parser.add_argument("--size", choices=sorted(SIZES), default="demo")
    parser.add_argument("--db", default=DEFAULT_DB, help=f"database URL (default {DEFAULT_DB}; SQLite files are recreated)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", type=date.fromisoformat, default=None,
                        help="the history ends with the month before this date's (default: today)")
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

    today = args.today or datetime.now(UTC).date()
    until = (today.year, today.month)
    last_period = (date(today.year, today.month, 1) - timedelta(days=1)).strftime("%Y-%m")
    history = generate(args.seed, args.size, include_closes=not args.no_closes, until=until)
    started = time.perf_counter()
    runtime = bootstrap(database_url=args.db)
    commands = 0
    try:
        with open(args.out, "w", encoding="utf-8", newline="\n") as out, \
                progress("applying", None, unit="commands", enabled=progress_wanted(args.quiet)) as advance:

            def record(command: dict[str, Any]) -> None:
                nonlocal commands
                out.write(to_jsonl(command))
                commands += 1

            rejected = apply_history(runtime, history, args.seed, last_period, batch_size=args.batch_size,
                                     record=record, advance=advance)
        clicks = record_clicks(runtime, click_rows(runtime, args.seed, date(today.year, today.month, 1)))
    finally:
        runtime.close()
    applied_in = time.perf_counter() - started
    log.info("demo_applied", size=args.size, seed=args.seed, commands=commands, path=args.out, seconds=round(applied_in, 2))
    unexpected = {code for _, code in rejected} - EXPECTED_REJECTIONS
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
    total_rejected = sum(rejected.values())
    lines = [
        f"Demo history: size {args.size}, seed {args.seed}, to {last_period}, {args.db} (commands in {args.out})",
        f"Commands: {commands:,}; {commands - total_rejected:,} applied, {total_rejected:,} rejected; "
        f"{clicks:,} clicks on referral links",
        f"Applied in {applied_in:.1f} s ({rate:,.0f} events/s)",
        *render(summary),
        "",
        f"Snapshot {snapshot.snapshot_id} at position {snapshot.position:,}, hash {snapshot.hash[:16]}..."
        if snapshot else "Snapshot: not taken (the read models moved while it was read)",
        "",
        "Rejected commands by error code (expected: duplicate, late and disqualified claims, leads that do not qualify):",
        *(f"  {code} ({kind}) {n:,}" for (kind, code), n in sorted(rejected.items(), key=lambda kv: kv[0][::-1])),
    ]
    if not rejected:
        lines.append("  none")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
