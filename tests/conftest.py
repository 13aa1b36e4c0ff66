"""Fixtures: every ledger test runs on a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import redirect_stdout
from typing import Any

import psycopg
import pytest

from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.cli import main as cli_main
from entrypoints.logging import configure_logging

PG_DSN = os.environ.get("LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")

configure_logging("WARNING")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_DSN.replace("postgresql://", "postgresql://", 1), connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    available = _pg_available()
    if not available and os.environ.get("CI"):
        raise RuntimeError(f"PostgreSQL is required in CI and is not reachable at {PG_DSN}")
    return available


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A fresh schema on the local server, dropped afterwards."""
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield f"{PG_DSN}?schema={schema}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "pg"])
def ledger_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


class Driver:
    """Test driver: applies commands through the message bus and queries the
    read side; ``cli`` runs the ``ledger`` command line in-process."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.app: Ledger = bootstrap(database_url=url)

    def apply(self, *commands: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.app.bus.handle_many(commands))

    def ok(self, *commands: dict[str, Any]) -> list[dict[str, Any]]:
        results = self.apply(*commands)
        for command, result in zip(commands, results, strict=True):
            assert result["ok"], (command, result)
        return results

    def refused(self, command: dict[str, Any]) -> dict[str, Any]:
        [result] = self.apply(command)
        assert not result["ok"], result
        return result["error"]

    def balance(self, partner_id: str, currency: str = "USD", **kw: Any) -> dict[str, str]:
        return self.app.queries.balance(partner_id, **kw)["currencies"].get(currency, {})

    def cli(self, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = cli_main(["--db", self.url, *args])
        return code, out.getvalue()

    def cli_json(self, *args: str) -> Any:
        code, out = self.cli(*args, "--json")
        assert code == 0, out
        return json.loads(out)

    def event_count(self) -> int:
        return self.app.store.max_position()

    def close(self) -> None:
        self.app.close()


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Driver]:
    driver = Driver(ledger_url)
    yield driver
    driver.close()


@pytest.fixture
def sqlite_ledger(sqlite_url: str) -> Iterator[Driver]:
    driver = Driver(sqlite_url)
    yield driver
    driver.close()
