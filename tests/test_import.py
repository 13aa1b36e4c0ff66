"""Moving in: ``ledger import`` of each platform's sample files (written from their
published field lists: tests/fixtures/import/), twice (the second run records nothing),
as a dry run (records nothing, reports the same), and fetched from a stand-in API
server on loopback (the same ledger as from the files)."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from entrypoints.importers.mapping import rows_of
from tests.conftest import Driver

FIXTURES = Path(__file__).parent / "fixtures" / "import"
PROGRAM = {"type": "define_program", "program_id": "northwind", "preset": "refer-resell", "at": "2024-12-01T00:00:00Z"}

# platform -> per file: (rows, commands mapped, rows or rules skipped, refused)
EXPECTED = {
    "rewardful": {"affiliates": (3, 5, 1, 0), "referrals": (3, 4, 1, 0), "commissions": (4, 5, 3, 0), "payouts": (1, 0, 1, 0)},
    "partnerstack": {"partnerships": (2, 4, 0, 0), "customers": (3, 4, 1, 0), "transactions": (4, 3, 1, 0), "rewards": (2, 1, 1, 0)},
    "firstpromoter": {"promoters": (2, 3, 1, 0), "referrals": (2, 2, 1, 0), "commissions": (3, 3, 2, 0)},
    "tolt": {"partners": (2, 3, 1, 0), "customers": (1, 2, 0, 0), "transactions": (2, 1, 1, 0), "commissions": (1, 1, 0, 0)},
}


def files(platform: str) -> list[str]:
    return sorted(str(path) for path in (FIXTURES / platform).iterdir())


def run_import(driver: Driver, platform: str, *args: str) -> dict[str, Any]:
    code, out = driver.cli("import", platform, *args, "--json")
    assert code == 0, out
    return json.loads(out)


def counts(report: dict[str, Any]) -> dict[str, tuple[int, int, int, int]]:
    return {f["resource"]: (f["rows"], f["mapped"], len(f["skipped"]), len(f["refused"])) for f in report["files"]}


def ledger_state(driver: Driver) -> dict[str, Any]:
    """Every partner's balance and the log's length: what "the same ledger" means here."""
    partners = driver.app.listings.partners(limit=200).items
    return {"events": driver.event_count(),
            "balances": {p["partner_id"]: driver.app.queries.balance(p["partner_id"])["currencies"] for p in partners}}


@pytest.mark.parametrize("platform", sorted(EXPECTED))
def test_importing_the_samples_twice_gives_the_same_ledger_as_once(sqlite_ledger: Driver, platform: str) -> None:
    sqlite_ledger.ok(PROGRAM)
    first = run_import(sqlite_ledger, platform, *files(platform))
    assert counts(first) == EXPECTED[platform]
    assert all(f["events_recorded"] > 0 for f in first["files"] if f["mapped"])
    once = ledger_state(sqlite_ledger)
    second = run_import(sqlite_ledger, platform, *files(platform))
    assert counts(second) == EXPECTED[platform]
    assert [f["events_recorded"] for f in second["files"]] == [0] * len(second["files"])
    assert ledger_state(sqlite_ledger) == once


def test_rewardful_maps_partners_customers_sales_refunds_and_what_was_paid(ledger: Driver) -> None:
    ledger.ok(PROGRAM)
    run_import(ledger, "rewardful", *files("rewardful"))
    adam = "d0ed8392-8880-4f39-8715-60230f9eceab"
    assert ledger.app.queries.partner(adam)["state"] == "approved"
    assert ledger.app.queries.partner("9f1d2a7c-0000-4000-8000-00000000aaaa")["state"] == "applied"  # inactive there
    # two sales of 100.00 at Registered's 15 %, half of the second refunded; Rewardful had paid 30.00
    figures = ledger.balance(adam)
    assert (figures["earned"], figures["clawed_back"], figures["adjusted"]) == ("30.00", "7.50", "-30.00")
    assert ledger.balance("5768bd90-7953-493f-ae6c-6562eb4d7e72")["earned"] == "12.00"  # the voided sale is not imported


def test_a_dry_run_records_nothing_and_reports_what_a_real_run_does(sqlite_ledger: Driver) -> None:
    sqlite_ledger.ok(PROGRAM)
    before = sqlite_ledger.event_count()
    dry = run_import(sqlite_ledger, "rewardful", *files("rewardful"), "--dry-run")
    assert dry["dry_run"] is True and sqlite_ledger.event_count() == before
    assert counts(dry) == EXPECTED["rewardful"]
    real = run_import(sqlite_ledger, "rewardful", *files("rewardful"))
    assert counts(real) == counts(dry)


def test_a_bad_row_is_refused_alone_and_named(sqlite_ledger: Driver, tmp_path: Path) -> None:
    sqlite_ledger.ok(PROGRAM)
    run_import(sqlite_ledger, "tolt", str(FIXTURES / "tolt" / "partners.csv"), str(FIXTURES / "tolt" / "customers.json"))
    transactions = json.loads((FIXTURES / "tolt" / "transactions.json").read_text())
    transactions["data"][0]["amount"] = "lots"
    transactions["data"].append({"id": "txn_unknown_customer", "customer_id": "cust_nobody", "amount": 100, "created_at": "2025-01-16T00:00:00Z"})
    bad = tmp_path / "transactions.json"
    bad.write_text(json.dumps(transactions))
    code, out = sqlite_ledger.cli("import", "tolt", str(bad), "--json")
    assert code == 1
    [report] = json.loads(out)["files"]
    refused = {item["row"]: item["error"] for item in report["refused"]}
    assert set(refused) == {"txn_7mbzRGn46BhVgNFHD6fD", "txn_unknown_customer"}
    assert "lots" in refused["txn_7mbzRGn46BhVgNFHD6fD"]["message"]
    assert refused["txn_unknown_customer"]["code"] == "not_found"


def test_a_file_whose_name_says_nothing_is_refused_before_anything_is_recorded(sqlite_ledger: Driver, tmp_path: Path,
                                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    sqlite_ledger.ok(PROGRAM)
    before = sqlite_ledger.event_count()
    odd = tmp_path / "export.json"
    odd.write_text("[]")
    code, _ = sqlite_ledger.cli("import", "rewardful", *files("rewardful"), str(odd))
    assert code == 2 and "export.json" in capsys.readouterr().err
    assert sqlite_ledger.event_count() == before
    code, _ = sqlite_ledger.cli("import", "rewardful", *files("rewardful"), "--program", "nope")
    assert code == 2 and json.loads(capsys.readouterr().err)["error"]["field"] == "program"


# -- fetched from the API: a stand-in server on loopback -------------------------------

API_KEY = "sk_live_import-secret"


class StandIn(BaseHTTPRequestHandler):
    """Rewardful's list endpoints over the sample files, one record per page, behind
    basic auth with the key as user name."""

    seen: list[str] = []

    def do_GET(self) -> None:
        expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._send(401, {"error": "unauthorized"})
            return
        url = urlparse(self.path)
        resource = url.path.rsplit("/", 1)[-1]
        source = FIXTURES / "rewardful" / f"{resource}.json"
        if not source.exists():
            self._send(404, {"error": "not found"})
            return
        rows = rows_of(json.loads(source.read_text()))
        page = int(parse_qs(url.query).get("page", ["1"])[0])
        StandIn.seen.append(f"{resource}:{page}")
        self._send(200, {"pagination": {"current_page": page, "next_page": page + 1 if page < len(rows) else None},
                         "data": rows[page - 1:page]})

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stand_in() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    StandIn.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_fetching_from_the_api_gives_the_same_ledger_as_the_files(tmp_path: Path, stand_in: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from_files, fetched = Driver(f"sqlite:///{tmp_path / 'files.db'}"), Driver(f"sqlite:///{tmp_path / 'api.db'}")
    try:
        for driver in (from_files, fetched):
            driver.ok(PROGRAM)
        run_import(from_files, "rewardful", *files("rewardful"))
        report = run_import(fetched, "rewardful", "--api-key", API_KEY, "--api-url", stand_in)
        assert counts(report) == EXPECTED["rewardful"]
        assert "commissions:4" in StandIn.seen and "commissions:5" not in StandIn.seen  # every page, no more
        state = ledger_state(fetched)
        assert state["balances"] == ledger_state(from_files)["balances"]
        assert API_KEY not in capsys.readouterr().err
        code, _ = fetched.cli("import", "rewardful", "--api-key", "wrong", "--api-url", stand_in)
        assert code == 2 and "401" in capsys.readouterr().err
        assert ledger_state(fetched) == state
    finally:
        from_files.close()
        fetched.close()
