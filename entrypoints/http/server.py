"""Running the app on uvicorn. With ``--workers N`` uvicorn starts N processes and each
bootstraps its own ``Ledger`` from the environment (the bus's lock serialises writes
within a process; the database serialises them across processes)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

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
