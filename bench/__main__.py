"""``python -m bench [--quick]``: run every benchmark, print each figure beside its
baseline and target, write bench-results.json (the same figures under the same names).

Columns: the figure measured now; ``reference``, what it is measured against in the
same run (COPY into a plain table, a raw scan, a raw producer); ``before #11``, the figure
before issue #11 (bench/baseline.json); ``before #19``, the figure before issue 19's
lean core (bench/baseline-issue-19.json); the target, and whether it is met. A last table repeats
the figures that have a target: now, before #19 and the target side by side.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

import structlog

from bench import measure
from bench.api import api_benchmark
from bench.pg import scratch_schema
from bench.what_if import what_if_benchmark
from demo.generate import generate, write_jsonl
from entrypoints.logging import configure_logging

log = structlog.get_logger("bench")

BASELINE = json.loads((Path(__file__).parent / "baseline.json").read_text())

# Issue 19's starting point: every figure of one `make bench-quick` run at f03e446 (its "about" says how).
BEFORE_ISSUE_19 = json.loads((Path(__file__).parent / "baseline-issue-19.json").read_text())

# Figure name pattern (``*`` is a size) -> (operator, limit).
TARGETS = {
    "ingest.*.*.ratio_vs_copy": (">=", 0.10),
    "ingest.*.*.cpu_us_per_fact": ("<=", 100.0),
    "ingest.sqlite.*.facts_over_postgres": (">=", 1.0),
    "replay.*.ratio_vs_scan": (">=", 0.5),
    "replay.*.cpu_us_per_event": ("<=", 50.0),
    "replay.rss_m_over_s": ("<=", 1.5),
    "relay.ratio_vs_raw": (">=", 0.9),
    "query.balance_p99_ms": ("<=", 2.0),
    "query.status_p99_ms": ("<=", 5.0),
    "consume.once_drained_s": ("<", 2.0),
    "api.balance_requests_per_s": (">=", 1000.0),
    "api.balance_p99_ms": ("<=", 25.0),
    "api.dashboard_p99_ms": ("<=", 100.0),
    "what_if.ratio_vs_replay": ("<=", 2.0),
}


def main() -> None:
    configure_logging("INFO")
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="size S only")
    parser.add_argument("--sizes", default="S,M")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--naive-commands", type=int, default=1000)
    parser.add_argument("--out", default="bench-results.json")
    args = parser.parse_args()
    sizes = ["S"] if args.quick else args.sizes.split(",")
    figures: dict[str, dict[str, Any]] = {}
    counts = {}
    compile_sources()
    replay_startup = measure.replay_startup_cpu_s()  # the same for every size: measured once
    log.info("replay_startup", cpu_s=round(replay_startup, 2))
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as scratch:  # a run's data sets (S: about 275 MB)
        for size in sizes:
            counts[size] = run_size(size, args.seed, Path(scratch), figures, naive_commands=args.naive_commands,
                                    replay_startup=replay_startup, last=size == sizes[-1])
    rss_s, rss_m = (figures.get(f"replay.{size}.peak_rss_mb", {}).get("value") for size in ("S", "M"))
    if rss_s and rss_m:
        add(figures, "replay.rss_m_over_s", round(rss_m / rss_s, 3))
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "sizes": counts,
        "largest_size": sizes[-1],
        "figures": figures,
    }
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def compile_sources() -> None:
    """Byte-compile the project's modules before anything is timed, as installing a wheel
    does. A checkout run with ``PYTHONDONTWRITEBYTECODE`` set (the CI machines set it)
    would otherwise compile every module again in each child process it times, about
    0.3 s of CPU that the figures would charge to the ledger's start."""
    root = Path(__file__).resolve().parent.parent
    found = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    for package in found["include"]:  # the packages the wheel holds, e.g. "events*"
        compileall.compile_dir(root / package.rstrip("*"), quiet=1)


def add(figures: dict[str, dict[str, Any]], name: str, value: Any, reference: Any = None) -> None:
    """One figure, with its reference (same run), its value before #11 and its target."""
    figure: dict[str, Any] = {"value": value}
    if reference is not None:
        figure["reference"] = reference
    if name in BASELINE:
        figure["before"] = BASELINE[name]
    if name in BEFORE_ISSUE_19:
        figure["before_issue_19"] = BEFORE_ISSUE_19[name]
    target = _target(name)
    if target is not None:
        op, limit = target
        figure["target"] = f"{op} {limit}"
        figure["met"] = None if value is None else {">=": value >= limit, "<=": value <= limit, "<": value < limit}[op]
    figures[name] = figure
    log.info("figure", name=name, **figure)  # as it is taken: a later failure does not lose it


def _target(name: str) -> tuple[str, float] | None:
    parts = name.split(".")
    for pattern, target in TARGETS.items():
        wanted = pattern.split(".")
        if len(wanted) == len(parts) and all(w in ("*", p) for w, p in zip(wanted, parts, strict=True)):
            return target
    return None


def run_size(
    size: str, seed: int, workdir: Path, figures: dict[str, dict[str, Any]], *, naive_commands: int,
    replay_startup: float, last: bool,
) -> dict[str, int]:
    path = workdir / f"{size}.jsonl"
    started = time.perf_counter()
    commands = write_jsonl(path, generate(seed, size))
    log.info("generated", size=size, commands=commands, seconds=round(time.perf_counter() - started, 1))
    with scratch_schema(size.lower()) as (url, schema):
        pg = measure.ingest(url, path, commands)
        log.info("ingest_postgres", size=size, **pg)
        add(figures, f"storage.postgres.{size}.bytes_per_fact", round(measure.schema_bytes(schema) / pg["facts"]))
        _, copy_rate = measure.copy_rows_per_s(schema)
        add(figures, f"ingest.postgres.{size}.commands_per_s", pg["commands_per_s"])
        add(figures, f"ingest.postgres.{size}.facts_per_s", pg["facts_per_s"], reference=copy_rate)
        add(figures, f"ingest.postgres.{size}.ratio_vs_copy", round(pg["facts_per_s"] / copy_rate, 4))
        add(figures, f"ingest.postgres.{size}.cpu_us_per_fact", pg["cpu_us_per_fact"])
        add(figures, f"ingest.postgres.{size}.server_cpu_us_per_fact", pg.get("server_cpu_us_per_fact"))
        replay = measure.replay_in_child(url, replay_startup)
        log.info("replay", size=size, **replay)
        scan_rate = measure.raw_scan_rows_per_s(schema)
        add(figures, f"replay.{size}.events_per_s", replay["events_per_s"], reference=scan_rate)
        add(figures, f"replay.{size}.ratio_vs_scan", round(replay["events_per_s"] / scan_rate, 4))
        add(figures, f"replay.{size}.peak_rss_mb", replay["peak_rss_mb"])
        add(figures, f"replay.{size}.cpu_us_per_event", replay["cpu_us_per_event"])
        add(figures, f"replay.{size}.startup_cpu_s", replay["startup_cpu_s"])
        add(figures, f"replay.{size}.cpu_us_per_event_after_start", replay["cpu_us_per_event_after_start"])
        if last:
            query = measure.query_latencies(url)
            log.info("queries", size=size, **query)
            for name in ("balance", "status", "statement", "audit"):
                for kind in ("", "_first_pass"):
                    for cut in ("p50", "p99"):
                        add(figures, f"query.{name}{kind}_{cut}_ms", query.get(f"{name}{kind}_{cut}_ms"))
            for name, value in relay_figures(url).items():
                add(figures, name, value)
    sqlite_path = workdir / f"{size}.db"
    lite = measure.ingest(f"sqlite:///{sqlite_path}", path, commands)
    log.info("ingest_sqlite", size=size, **lite)
    lite_copy = measure.sqlite_copy_rows_per_s(sqlite_path)
    add(figures, f"ingest.sqlite.{size}.commands_per_s", lite["commands_per_s"])
    add(figures, f"ingest.sqlite.{size}.facts_per_s", lite["facts_per_s"], reference=lite_copy)
    add(figures, f"ingest.sqlite.{size}.ratio_vs_copy", round(lite["facts_per_s"] / lite_copy, 4))
    add(figures, f"ingest.sqlite.{size}.cpu_us_per_fact", lite["cpu_us_per_fact"])
    add(figures, f"ingest.sqlite.{size}.facts_over_postgres", round(lite["facts_per_s"] / pg["facts_per_s"], 3))
    if size == "S":  # the HTTP figures are taken on the S data set, as the API serves it by default (SQLite)
        try:
            api = api_benchmark(f"sqlite:///{sqlite_path}")
        except RuntimeError as failure:  # a server too slow to start on a loaded machine: the other figures stand
            log.error("api_not_measured", size=size, error=str(failure))
            api = {}
        log.info("api", size=size, **api)
        for name, value in api.items():
            add(figures, f"api.{name}", value)
        for name, value in what_if_benchmark(f"sqlite:///{sqlite_path}").items():
            add(figures, name, value)
    if naive_commands:
        with scratch_schema("naive") as (url, _):
            add(figures, f"ingest.postgres.{size}.one_per_transaction_facts_per_s", measure.naive_ingest(url, path, naive_commands))
    return {"commands": commands, "events": int(pg["events"]), "facts": int(pg["facts"])}


def relay_figures(url: str) -> dict[str, Any]:
    try:
        from bench.relay import relay_benchmark
    except ImportError:  # the Kafka relay is optional in a partial checkout
        return {}
    return relay_benchmark(url)


def print_table(results: dict[str, Any]) -> None:
    figures = results["figures"]
    print(f"\nLedger benchmarks ({results['sizes']})")
    print(f"  {'figure':<50} {'value':>12} {'reference':>12} {'before #11':>10} {'before #19':>10} {'target':>9}  verdict")
    for name, figure in figures.items():
        print(f"  {name:<50} {_cell(figure.get('value')):>12} {_cell(figure.get('reference')):>12}"
              f" {_cell(figure.get('before')):>10} {_cell(figure.get('before_issue_19')):>10} {figure.get('target', ''):>9}"
              f"  {_verdict(figure)}")
    targeted = [(name, figure) for name, figure in figures.items() if "target" in figure]
    print(f"\nTargets ({sum(f.get('met') is True for _, f in targeted)} of {len(targeted)} met)")
    print(f"  {'figure':<50} {'now':>12} {'before #19':>10} {'target':>9}  verdict")
    for name, figure in targeted:
        print(f"  {name:<50} {_cell(figure.get('value')):>12} {_cell(figure.get('before_issue_19')):>10}"
              f" {figure['target']:>9}  {_verdict(figure)}")


def _verdict(figure: dict[str, Any]) -> str:
    if "target" not in figure:
        return ""
    return {True: "met", False: "MISSED", None: "not measured"}[figure.get("met")]


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


if __name__ == "__main__":
    main()
