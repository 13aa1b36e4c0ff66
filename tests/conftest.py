"""Fixtures: every ledger test runs on a real SQLite file and a real PostgreSQL schema."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import psycopg
import pytest

from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.cli import main as cli_main
from entrypoints.logging import configure_logging

ROOT = Path(__file__).resolve().parent.parent  # the repository
FIXTURES = Path(__file__).resolve().parent / "fixtures"
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


@contextmanager
def pg_schema() -> Iterator[str]:
    """The URL of a fresh schema on the local server, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{PG_DSN}?schema={schema}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def pg_url(pg_available: bool) -> Iterator[str]:
    """A fresh schema on the local server, dropped afterwards."""
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")
    with pg_schema() as url:
        yield url


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


def pages(fetch: Callable[[str | None], Any], most: int = 50) -> Iterator[Any]:
    """Every page of a keyset listing, following the cursor: ``fetch(after)`` with
    ``None`` first, then each page's ``next``; fails after ``most`` pages."""
    after = None
    for _ in range(most):
        page = fetch(after)
        yield page
        if page.next is None:
            return
        after = page.next
    pytest.fail("the cursor never ended")


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


# Ledgers written by the code before issue 19 (tests/fixtures), their logs, seals and live
# read models as that code left them: ``python -m demo --size tiny`` at 8a45b2a; and the
# golden stream cut after its 2024-03 closes (``make_golden.py --last-period 2024-03`` at
# 8782f41^, then VACUUM), which adds what the tiny demo lacks: payouts and a payout request,
# leads submitted, refused and converted, a forgotten customer and partner, a rotated code.
BEFORE_ISSUE_19 = "ledger-before-issue-19.db"
BEFORE_ISSUE_19_GOLDEN = "ledger-before-issue-19-golden.db"


@pytest.fixture
def before_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    """A copy of a log written before issue 19, opened: the tiny demo's, or the file in
    tests/fixtures a test names with ``parametrize("before_ledger", [...], indirect=True)``."""
    path = tmp_path / "before.db"
    shutil.copy(FIXTURES / getattr(request, "param", BEFORE_ISSUE_19), path)
    driver = Driver(f"sqlite:///{path}")
    yield driver
    driver.close()


# -- HTTP ------------------------------------------------------------------------------


class Http:
    """The HTTP app over a test ledger, in-process (FastAPI's TestClient), with a token
    per role: ``get(path, as_="finance")``; ``as_=None`` sends no credentials."""

    def __init__(self, driver: Driver) -> None:
        from fastapi.testclient import TestClient

        from entrypoints.http.app import create_app

        self.driver = driver
        self.app = create_app(driver.app)
        self.client = TestClient(self.app, base_url="http://testserver")
        self._tokens: dict[tuple[str, str | None], str] = {}

    def token(self, role: str, partner_id: str | None = None) -> str:
        key = (role, partner_id)
        if key not in self._tokens:
            _, secret = self.driver.app.access.issue("token", role, partner_id=partner_id, label=f"test {role}")
            self._tokens[key] = secret
        return self._tokens[key]

    def headers(self, as_: str | None, partner_id: str | None = None, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        if as_ is not None:
            headers["Authorization"] = f"Bearer {self.token(as_, partner_id)}"
        return headers

    def request(self, method: str, path: str, as_: str | None = None, partner_id: str | None = None,
                headers: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.request(method, path, headers=self.headers(as_, partner_id, **(headers or {})),
                                   follow_redirects=False, **kw)

    def get(self, path: str, as_: str | None = None, **kw: Any) -> Any:
        return self.request("GET", path, as_, **kw)

    def sign_in(self, role: str, partner_id: str | None = None) -> str:
        """Opens a browser session (cookie) for ``role``, as the sign-in page does; returns
        the session's CSRF token, read from the page the browser lands on."""
        self.client.cookies.clear()
        form = {"token": self.token(role, partner_id), "csrf_token": self.signin_csrf("/signin")}
        answer = self.client.post("/signin", data=form, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.client.get("/").text)
        assert found, "the landing page carries no CSRF token"
        return found.group(1)

    def signin_csrf(self, path: str) -> str:
        """The CSRF token of the form on a page that opens a session (``/signin``, an
        invite), as a browser gets it: the page also sets the browser id it is bound to."""
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        *_, token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)  # the page's form comes after the top bar's
        return str(token)

    def post(self, path: str, as_: str | None = None, **kw: Any) -> Any:
        return self.request("POST", path, as_, **kw)


@pytest.fixture
def http(sqlite_ledger: Driver) -> Iterator[Http]:
    client = Http(sqlite_ledger)
    yield client
    client.client.close()


# -- A real server and a real browser ----------------------------------------------------

# Debian's chromium package (.ci/run installs it): Playwright's own browser download is
# not reachable from here, so Playwright drives this binary.
CHROMIUM = "/usr/lib/chromium/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not os.path.exists(CHROMIUM):
        raise RuntimeError(f"browser tests need {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


class Live:
    """``ledger serve`` in a child process over a test ledger's SQLite file; the test
    drives the same file in-process to set the scene (``live.driver.ok(...)``)."""

    def __init__(self, driver: Driver, base: str) -> None:
        self.driver, self.base = driver, base

    def invite(self, role: str, partner_id: str | None = None) -> str:
        from entrypoints.http.access import Role
        from entrypoints.http.auth import invite_link

        return invite_link(self.driver.app.credentials, self.base, Role(role), partner_id)["url"]

    def token(self, role: str, partner_id: str | None = None) -> str:
        _, secret = self.driver.app.access.issue("token", role, partner_id=partner_id, label=f"browser {role}")
        return secret

    def api(self, path: str, role: str, partner_id: str | None = None) -> Any:
        """``GET path`` from the running server with a fresh token for ``role``: the JSON
        of its 200 answer."""
        import httpx

        answer = httpx.get(f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token(role, partner_id)}"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def sign_in(self, page: Any, role: str, partner_id: str | None = None) -> None:
        """Signs ``page`` (a Playwright page) in with a fresh token, as a person would."""
        page.goto(f"{self.base}/signin")
        page.fill("#token", self.token(role, partner_id))
        page.click('form[action="/signin"] button')  # the token form (the page also has the e-mail one)


@pytest.fixture
def live(sqlite_ledger: Driver) -> Iterator[Live]:
    from entrypoints.http.server import serving

    with serving(sqlite_ledger.url) as base:
        yield Live(sqlite_ledger, base)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The robustness suite's count: how many cases each category tried and how many held."""
    from tests.robustness import summary_lines

    lines = summary_lines()
    if lines:
        terminalreporter.section("robustness suite")
        for line in lines:
            terminalreporter.write_line(line)
