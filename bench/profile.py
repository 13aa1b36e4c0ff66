"""``python -m bench.profile [--commands N] [--db sqlite|postgres] [--replay]``: where the
ledger's time goes, under cProfile, on the first N commands of the bench's S data set.

Prints the functions with the most time of their own and the most time under them,
per fact (or per event on ``--replay``), so a change to the hot path can be judged
before and after. Not a benchmark: cProfile slows Python code down unevenly.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
from contextlib import redirect_stdout, suppress
from itertools import islice
from pathlib import Path

from bench.measure import stored_counts
from bench.pg import scratch_schema
from demo.generate import generate, write_jsonl
from entrypoints.cli import main as ledger_main
from entrypoints.logging import configure_logging


def main() -> None:
    configure_logging("WARNING")
    parser = argparse.ArgumentParser(prog="bench.profile")
    parser.add_argument("--commands", type=int, default=15_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--replay", action="store_true", help="profile `ledger replay` instead of `ledger apply`")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ledger-profile-") as scratch:
        workdir = Path(scratch)
        path = workdir / "commands.jsonl"
        write_jsonl(path, islice(generate(args.seed, "S"), args.commands))
        if args.db == "sqlite":
            _profile(f"sqlite:///{workdir / 'ledger.db'}", path, args)
        else:
            with scratch_schema("profile") as (url, _):
                _profile(url, path, args)


def _profile(url: str, path: Path, args: argparse.Namespace) -> None:
    apply = ["--db", url, "apply", str(path), "--quiet"]
    replay = ["--db", url, "replay", "--json"]
    if args.replay:
        _run(apply)
    profiler = cProfile.Profile()
    profiler.enable()
    _run(replay if args.replay else apply)
    profiler.disable()
    events, facts = stored_counts(url)
    per = events if args.replay else facts
    print(f"{'replay' if args.replay else 'apply'} on {url.split(':')[0]}: {events} events, {facts} facts;"
          f" times below in µs per {'event' if args.replay else 'fact'}")
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
        print(f"\n== by {order} (total {total / per * 1e6:.1f} µs per unit, profiled) ==")
        rows = sorted(stats.stats.items(), key=lambda item: item[1][2 if order == "tottime" else 3], reverse=True)  # type: ignore[attr-defined]
        for (file, line, name), (_, calls, own, cumulative, _) in rows[: args.top]:
            where = f"{Path(file).parent.name}/{Path(file).name}:{line}({name})"
            print(f"  {own / per * 1e6:8.1f} own {cumulative / per * 1e6:8.1f} cum {calls / per:7.2f} calls  {where}")


def _run(argv: list[str]) -> None:
    with redirect_stdout(io.StringIO()), suppress(SystemExit):
        ledger_main(argv)


if __name__ == "__main__":
    main()
