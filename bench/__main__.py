"""``python -m bench [--quick]``: run every benchmark, print a table, write bench-results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

import structlog

from bench import measure
from bench.api import api_benchmark
from bench.pg import scratch_schema
from demo.generate import generate, write_jsonl
from entrypoints.logging import configure_logging

log = structlog.get_logger("bench")

TARGETS = {
    ("ingest", "ratio_vs_copy"): (">=", 0.5),
    ("replay", "ratio_vs_scan"): (">=", 0.5),
    ("query", "balance_p99_ms"): ("<=", 5.0),
    ("relay", "ratio_vs_raw"): (">=", 0.8),
    ("replay", "rss_growth_m_over_s"): ("<=", 1.5),
    ("api", "balance_requests_per_s"): (">=", 1000.0),
    ("api", "balance_p99_ms"): ("<=", 25.0),
}


def main() -> None:
    configure_logging("INFO")
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="size S only")
    parser.add_argument("--sizes", default="S,M")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--naive-commands", type=int, default=3000)
    parser.add_argument("--out", default="bench-results.json")
    args = parser.parse_args()
    sizes = ["S"] if args.quick else args.sizes.split(",")
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    runs = {size: run_size(size, args.seed, workdir, naive_commands=args.naive_commands, last=size == sizes[-1]) for size in sizes}
    results = summarise(runs, sizes)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def run_size(size: str, seed: int, workdir: Path, *, naive_commands: int, last: bool) -> dict[str, Any]:
    path = workdir / f"{size}.jsonl"
    started = time.perf_counter()
    commands = write_jsonl(path, generate(seed, size))
    log.info("generated", size=size, commands=commands, seconds=round(time.perf_counter() - started, 1))
    run: dict[str, Any] = {"commands": commands}
    with scratch_schema(size.lower()) as (url, schema):
        run["postgres"] = measure.ingest(url, path)
        log.info("ingest_postgres", size=size, **run["postgres"])
        run["copy_rows"], run["copy_rows_per_s"] = measure.copy_rows_per_s(schema)
        run["replay"] = measure.replay_in_child(url)
        log.info("replay", size=size, **run["replay"])
        run["raw_scan_rows_per_s"] = measure.raw_scan_rows_per_s(schema)
        if last:
            run["query"] = measure.query_latencies(url)
            log.info("queries", size=size, **run["query"])
            run["relay"] = relay_figures(url)
    sqlite_path = workdir / f"{size}.db"
    run["sqlite"] = measure.ingest(f"sqlite:///{sqlite_path}", path)
    log.info("ingest_sqlite", size=size, **run["sqlite"])
    if size == "S":  # the HTTP figures are taken on the S data set, as the API serves it by default (SQLite)
        run["api"] = api_benchmark(f"sqlite:///{sqlite_path}")
        log.info("api", size=size, **run["api"])
    with scratch_schema("naive") as (url, _):
        run["naive_events_per_s"] = measure.naive_ingest(url, path, naive_commands)
    return run


def relay_figures(url: str) -> dict[str, Any]:
    try:
        from bench.relay import relay_benchmark
    except ImportError:  # the Kafka relay is optional in a partial checkout
        return {}
    return relay_benchmark(url)


def summarise(runs: dict[str, dict[str, Any]], sizes: list[str]) -> dict[str, Any]:
    largest = runs[sizes[-1]]
    pg, sqlite = largest["postgres"], largest["sqlite"]
    replay = largest["replay"]
    rss = {size: runs[size]["replay"]["peak_rss_mb"] for size in sizes}
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "sizes": {size: {"commands": r["commands"], "events": r["postgres"]["events"]} for size, r in runs.items()},
        "largest_size": sizes[-1],
        "ingest": {
            "postgres_events_per_s": pg["events_per_s"],
            "sqlite_events_per_s": sqlite["events_per_s"],
            "copy_rows_per_s": largest["copy_rows_per_s"],
            "naive_events_per_s": largest["naive_events_per_s"],
            "ratio_vs_copy": round(pg["events_per_s"] / largest["copy_rows_per_s"], 4),
        },
        "replay": {
            "events_per_s": replay["events_per_s"],
            "raw_scan_rows_per_s": largest["raw_scan_rows_per_s"],
            "ratio_vs_scan": round(replay["events_per_s"] / largest["raw_scan_rows_per_s"], 4),
            "peak_rss_mb": rss,
        },
        "query": {k: v for k, v in largest.get("query", {}).items() if k.endswith("_ms") or k in ("partners", "samples")},
        "relay": largest.get("relay", {}),
        "api": runs.get("S", {}).get("api", {}),
    }
    if "S" in rss and "M" in rss:
        results["replay"]["rss_growth_m_over_s"] = round(rss["M"] / rss["S"], 3)
    results["targets"] = {
        f"{area}.{name}": {"target": f"{op} {limit}", "value": results[area].get(name),
                            "met": _met(results[area].get(name), op, limit)}
        for (area, name), (op, limit) in TARGETS.items()
    }
    return results


def _met(value: Any, op: str, limit: float) -> bool | None:
    if value is None:
        return None
    return value >= limit if op == ">=" else value <= limit


def print_table(results: dict[str, Any]) -> None:
    print(f"\nLedger benchmarks (largest size {results['largest_size']}: {results['sizes']})")
    for area in ("ingest", "replay", "query", "relay", "api"):
        for name, value in results[area].items():
            print(f"  {area:<7} {name:<24} {value}")
    print("\nTargets:")
    for name, target in results["targets"].items():
        verdict = {True: "met", False: "MISSED", None: "not measured"}[target["met"]]
        print(f"  {name:<30} {target['target']:<10} value {target['value']!s:<12} {verdict}")


if __name__ == "__main__":
    main()
