"""Rules that must hold with several writers on one database (CLI, consumer, HTTP
workers): promo slots taken atomically, one partner per customer, and commission
decided on the state in force, whoever recorded it."""

from __future__ import annotations

import threading
from typing import Any

from tests import builders as b
from tests.conftest import Driver


def in_parallel(ledger: Driver, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each command through the message bus of its own ledger (its own process, as far
    as the ledger can tell), all at once; the read side catches up afterwards."""
    results = run_parallel(ledger.url, [lambda d, c=c: d.app.bus.handle(c) for c in commands])
    ledger.app.read_models.catch_up()
    return results


def run_parallel(url: str, jobs: list[Any]) -> list[Any]:
    drivers = [Driver(url) for _ in jobs]
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = jobs[index](drivers[index])
        except Exception as exc:  # reported by the assertions
            results[index] = {"ok": False, "error": {"code": "exception", "message": repr(exc)}}

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for driver in drivers:
        driver.close()
    return results


def test_promo_slots_never_exceed_n_under_concurrent_approvals(ledger):
    ledger.ok(b.program(preset="sales-partner"), *[b.application(f"p{i}") for i in range(6)])  # 3 slots
    results = in_parallel(ledger, [b.approve(f"p{i}") for i in range(6)])
    assert all(r["ok"] for r in results), results
    assert sum(r["promo"] for r in results) == 3
    holders = [p for p in (f"p{i}" for i in range(6)) if ledger.app.queries.partner(p)["promo"]]
    assert len(holders) == 3


def test_concurrent_claims_attribute_the_customer_to_one_partner(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.partner("p2"), *b.partner("p3"), b.signup("c1"))
    results = in_parallel(ledger, [b.claim("c1", p) for p in ("p1", "p2", "p3")])
    assert sum(r["ok"] for r in results) == 1, results
    assert sorted(r["error"]["code"] for r in results if not r["ok"]) == ["claim_rejected", "claim_rejected"]


def test_a_writer_sees_what_another_writer_recorded_before_it(ledger):
    # Two long-lived runtimes on one database (e.g. `ledger consume` and an admin CLI).
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-02-01T00:00:00Z"))
    admin = Driver(ledger.url)
    try:
        admin.ok(b.cmd("set_commission_rate", partner_id="p1", rate="0.50", at="2025-01-05T00:00:00Z"),
                 b.cmd("terminate_partner", partner_id="p1", reason="left", at="2025-03-01T00:00:00Z"))
    finally:
        admin.close()
    [feb] = ledger.ok(b.payment("pay2", "c1", {"subscription": "100.00"}, at="2025-02-15T00:00:00Z"))
    assert feb["earning"]["rate"] == "0.50"
    [mar] = ledger.ok(b.payment("pay3", "c1", {"subscription": "100.00"}, at="2025-03-15T00:00:00Z"))
    assert mar["earning"]["kind"] == "none"


def test_projection_catch_up_from_several_runtimes_at_once(ledger):
    # DESIGN.md: projection workers scale out; several processes catching up the same
    # read models must neither fail nor count an event twice.
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"))
    # the log grows without the read side catching up:
    list(ledger.app.bus.handle_many([b.payment(f"pay{i}", "c1", {"subscription": "10.00"}) for i in range(20)]))
    results = run_parallel(ledger.url, [lambda d: d.app.read_models.catch_up() for _ in range(4)])
    assert all(isinstance(r, int) for r in results), results
    ledger.app.read_models.catch_up()
    assert ledger.balance("p1")["earned"] == "40.00"
    payments = [e for e in ledger.app.queries.audit(partner_id="p1") if e["type"] == "payment.recorded"]
    assert len(payments) == 20
