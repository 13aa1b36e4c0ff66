"""The ``api`` section, against a real ``ledger serve`` on loopback, bounded in count and
time: balance reads over HTTP from 32 concurrent clients, and partner dashboard pages
(the whole HTML page, as a browser asks for it) from 8 people at once; requests/s, p50
and p99 for each.

``python -m bench.api [--db URL]`` measures an existing database (default: the S data
set, generated and applied into a scratch SQLite file)."""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import quantiles
from typing import Any

import aiohttp

from entrypoints.bootstrap import bootstrap
from entrypoints.http.server import serving

CLIENTS = 32
PAGE_VIEWERS = 8  # people looking at dashboards at the same moment
REQUESTS = 6000  # per measured route, after the warm-up
PAGE_REQUESTS = 1500
SECONDS = 30.0  # whichever bound comes first
WARM_UP = 300


def api_benchmark(url: str, *, workers: int = 2, clients: int = CLIENTS, requests: int = REQUESTS,
                  seconds: float = SECONDS) -> dict[str, Any]:
    partners, token = _prepare(url)
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(1)
    results: dict[str, Any] = {"clients": clients, "workers": workers, "partners": len(partners)}
    with serving(url, workers=workers) as base:
        balance = asyncio.run(_load(base, lambda: f"/v1/partners/{rng.choice(partners)}/balance", headers,
                                    clients, requests, seconds))
        page_headers = {**headers, "Accept": "text/html"}
        dashboard = asyncio.run(_load(base, lambda: f"/partners/{rng.choice(partners)}", page_headers,
                                      PAGE_VIEWERS, min(requests, PAGE_REQUESTS), seconds))
    results.update({f"balance_{name}": value for name, value in balance.items()})
    results.update({f"dashboard_{name}": value for name, value in dashboard.items()})
    return results


def _prepare(url: str) -> tuple[list[str], str]:
    """Approved partners to ask about, and a finance token (only its hash is stored)."""
    ledger = bootstrap(database_url=url)
    try:
        ledger.read_models.catch_up()
        partners = [p["partner_id"] for p in ledger.listings.partners(state="approved", limit=1000).items]
        _, token = ledger.access.issue("token", "finance", label="bench")
    finally:
        ledger.close()
    if not partners:
        raise RuntimeError("the database has no approved partner to read")
    return partners, token


async def _load(base: str, path: Callable[[], str], headers: dict[str, str], clients: int, requests: int,
                seconds: float) -> dict[str, float]:
    # aiohttp, not httpx: the load generator shares the two cores with the server, and
    # aiohttp spends about a third of httpx's CPU per request.
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as client:
        await _run(client, path, clients, WARM_UP, seconds)
        started = time.perf_counter()
        latencies, errors = await _run(client, path, clients, requests, seconds)
        elapsed = time.perf_counter() - started
    cuts = quantiles(latencies, n=100)
    return {
        "requests": len(latencies), "errors": errors, "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49], 2), "p99_ms": round(cuts[98], 2),
    }


async def _run(client: aiohttp.ClientSession, path: Callable[[], str], clients: int, requests: int,
               seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    remaining = requests

    async def one_client() -> None:
        nonlocal remaining, errors
        while remaining > 0 and time.perf_counter() < deadline:
            remaining -= 1
            started = time.perf_counter()
            async with client.get(path()) as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status != 200

    await asyncio.gather(*(one_client() for _ in range(clients)))
    return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.api")
    parser.add_argument("--db", help="database URL (default: the S data set in a scratch SQLite file)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.db:
        print(json.dumps(api_benchmark(args.db, workers=args.workers), indent=2))
        return
    with tempfile.TemporaryDirectory(prefix="ledger-bench-api-") as scratch:
        print(json.dumps(api_benchmark(_s_database(Path(scratch)), workers=args.workers), indent=2))


def _s_database(workdir: Path) -> str:
    from bench.measure import apply_file
    from demo.generate import generate, write_jsonl

    write_jsonl(workdir / "S.jsonl", generate(7, "S"))
    url = f"sqlite:///{workdir / 'S.db'}"
    apply_file(url, workdir / "S.jsonl")
    return url


if __name__ == "__main__":
    main()
