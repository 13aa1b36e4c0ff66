"""Running the app on uvicorn. With ``--workers N`` uvicorn starts N processes and each
bootstraps its own ``Ledger`` from the environment (the bus's lock serialises writes
within a process; the database serialises them across processes)."""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import IO

import httpx
import uvicorn
from fastapi import FastAPI

from entrypoints.bootstrap import bootstrap
from entrypoints.http.app import create_app
from entrypoints.logging import configure_logging
from entrypoints.settings import Settings, load_settings


def app_from_environment() -> FastAPI:
    """The app factory uvicorn calls in each worker process."""
    settings = load_settings()
    configure_logging(settings.log_level)
    ledger = bootstrap(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ledger.close()

    app = create_app(ledger)
    app.router.lifespan_context = lifespan
    gc.freeze()  # start-up's objects live as long as the worker: no collection walks them again
    return app


def serve(settings: Settings, *, host: str, port: int, workers: int) -> None:
    # Workers are separate processes: they read the database URL from the environment.
    os.environ["LEDGER_DATABASE_URL"] = settings.database_url
    uvicorn.run(
        "entrypoints.http.server:app_from_environment", factory=True, host=host, port=port, workers=workers,
        # Uvicorn's access log prints URLs, and an invite URL is a secret: the app logs
        # each request itself, by route.
        access_log=False, log_level="warning", server_header=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(database_url: str, *, workers: int = 1, port: int | None = None, timeout: float = 90.0,
            env: dict[str, str] | None = None) -> Iterator[str]:
    """A real ``ledger serve`` in a child process on a loopback port (tests, the bench,
    screenshots); yields its base URL once /healthz answers, and always stops it."""
    port = port or free_port()
    command = [sys.executable, "-m", "entrypoints.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    child_env = {**os.environ, **(env or {}), "LEDGER_DATABASE_URL": database_url}
    # Output to a file, not a pipe: a pipe nobody reads would stall a chatty server.
    output = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    process = subprocess.Popen(command, env=child_env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, output, base, timeout)
        yield base
    finally:
        output.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], output: IO[bytes], base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            output.seek(0)
            raise RuntimeError(f"ledger serve exited with {process.returncode}: {output.read().decode(errors='replace')}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"ledger serve did not answer /healthz within {timeout} s")
        time.sleep(0.1)
