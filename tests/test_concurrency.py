"""Real concurrent writers on PostgreSQL: each thread has its own runtime (its own
connection pool, unit of work and message bus), all released at once by a barrier."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from adapters.database import Database
from adapters.event_store import decode
from adapters.hash_chain import CHAIN_TABLE, GENESIS, chain_hash
from adapters.idempotency import TABLE as IDEMPOTENCY_TABLE
from commands.unit_of_work import UnitOfWork
from entrypoints.bootstrap import Ledger, bootstrap
from tests import builders as b

WRITERS = 8


@pytest.fixture
def runtimes(pg_url: str) -> Iterator[list[Ledger]]:
    # Opened one after another: creating the schema and tables is not what is under test.
    opened = [bootstrap(database_url=pg_url) for _ in range(WRITERS + 1)]
    yield opened
    for runtime in opened:
        runtime.close()


@pytest.fixture
def conflicts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the version conflicts writers ran into (and the bus retried)."""
    seen: Counter[str] = Counter()
    commit = UnitOfWork.commit

    def counting_commit(self: UnitOfWork) -> int:
        try:
            return commit(self)
        except IntegrityError:
            seen["conflict"] += 1
            raise

    monkeypatch.setattr(UnitOfWork, "commit", counting_commit)
    return seen


def apply(runtime: Ledger, *commands: dict[str, Any]) -> list[dict[str, Any]]:
    return list(runtime.bus.handle_many(commands, source="api", actor="tester"))


def run_together(work: list[Callable[[], Any]]) -> list[Any]:
    """Run each callable in its own thread, released together; re-raise any failure."""
    barrier = threading.Barrier(len(work))
    results: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def runner(index: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(work)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer hung"
    if errors:
        raise errors[0]
    return results


def topics(runtime: Ledger) -> Counter[str]:
    return Counter(n.topic for n in runtime.store.notifications(0, 100_000))


def receipts(runtime: Ledger, like: str) -> int:
    with runtime.db.connect() as conn, runtime.db.transaction(conn) as cursor:
        cursor.execute(f"SELECT count(*) FROM {IDEMPOTENCY_TABLE} WHERE key LIKE %s", (like,))
        return int(cursor.fetchone()[0])


def assert_chain_intact(runtime: Ledger) -> None:
    """Concurrent inserts still seal every event exactly once, in log order."""
    db: Database = runtime.db
    notifications = runtime.store.notifications(0, 100_000)
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute(f"SELECT position, hash FROM {CHAIN_TABLE} ORDER BY position")
        chain = [(int(position), bytes(digest)) for position, digest in cursor.fetchall()]
    assert [position for position, _ in chain] == [n.id for n in notifications]
    previous = GENESIS
    for (position, digest), notification in zip(chain, notifications, strict=True):
        previous = chain_hash(previous, position, notification)
        assert digest == previous, f"chain broken at position {position}"


def test_concurrent_approvals_never_hand_out_more_promo_slots_than_exist(
    runtimes: list[Ledger], conflicts: Counter[str]
) -> None:
    admin, writers = runtimes[0], runtimes[1:]
    partners = [f"p{i}" for i in range(WRITERS)]
    setup = apply(admin, b.program("sp", preset="sales-partner"), *(b.application(p, "sp") for p in partners))
    assert all(r["ok"] for r in setup), setup

    results = run_together([
        (lambda runtime=runtime, partner=partner: apply(runtime, b.approve(partner))[0])
        for runtime, partner in zip(writers, partners, strict=True)
    ])

    assert all(r["ok"] for r in results), results  # conflicts were retried, never surfaced
    assert conflicts["conflict"] > 0  # the writers really did race for the program
    winners = sorted(r["partner_id"] for r in results if r["promo"])
    assert len(winners) == 3, results

    queries = admin.queries
    holders = sorted(p for p in partners if queries.partner(p)["promo"])
    assert holders == winners
    for partner in partners:
        record = queries.partner(partner)
        assert record["state"] == "approved"
        assert record["rate"] == ("0.50" if partner in winners else "0.20")

    counts = topics(admin)
    assert counts["program.promo_slot_taken"] == 3
    assert counts["partner.application_approved"] == WRITERS
    slot_events = [decode(n).payload for n in admin.store.notifications(0, 100_000) if n.topic == "program.promo_slot_taken"]
    assert sorted(e.partner_id for e in slot_events) == winners  # type: ignore[attr-defined]
    assert_chain_intact(admin)

    # A latecomer finds the slots gone.
    late = apply(admin, b.application("late", "sp"), b.approve("late"))
    assert late[1]["ok"] and late[1]["promo"] is False


def test_concurrent_deliveries_of_one_payment_record_it_once(runtimes: list[Ledger], conflicts: Counter[str]) -> None:
    admin, writers = runtimes[0], runtimes[1:]
    setup = apply(admin, b.program("sp", preset="sales-partner"), *b.partner("p1", "sp"), *b.customer("c1", "p1"))
    assert all(r["ok"] for r in setup), setup
    before = topics(admin)

    rounds = 3
    for n in range(rounds):
        # The same billing event delivered by every writer at once (e.g. a Kafka redelivery
        # racing the original, or two consumers): one payment, one commission.
        payment = b.payment(f"pay-{n}", "c1", {"platform_fee": "100.00"}, at=f"2025-02-0{n + 1}T00:00:00Z")
        results = run_together([(lambda runtime=runtime, payment=payment: apply(runtime, payment)[0]) for runtime in writers])
        assert all(r["ok"] for r in results), results
        assert all(r == results[0] for r in results), results  # every writer got the first result
        assert results[0]["earning"]["amount"] == "50.00"

    assert conflicts["conflict"] > 0  # the writers really did race
    counts = topics(admin) - before
    assert counts["payment.recorded"] == rounds
    assert counts["customer.first_paid"] == 1
    assert counts["command.accepted"] == 0  # idempotency keys are not events
    assert receipts(admin, "payment:pay-%") == rounds  # one key per payment id
    admin.read_models.catch_up()
    assert admin.queries.balance("p1")["currencies"]["USD"]["earned"] == "150.00"  # 3 x 50 % of 100.00
    assert_chain_intact(admin)


def test_concurrent_refunds_of_one_payment_never_exceed_what_was_paid(runtimes: list[Ledger]) -> None:
    admin, writers = runtimes[0], runtimes[1:]
    setup = apply(
        admin, b.program("sp", preset="sales-partner"), *b.partner("p1", "sp"), *b.customer("c1", "p1"),
        b.payment("pay", "c1", {"platform_fee": "100.00"}, tax="20.00"),
    )
    assert all(r["ok"] for r in setup), setup

    # Eight different refunds of 40.00 each against a payment of 120.00: three fit.
    results = run_together([
        (lambda runtime=runtime, i=i: apply(runtime, b.refund(f"r{i}", "pay", "40.00"))[0])
        for i, runtime in enumerate(writers)
    ])
    accepted = [r for r in results if r["ok"]]
    refused = [r for r in results if not r["ok"]]
    assert len(accepted) == 3, results
    assert {r["error"]["code"] for r in refused} == {"invalid"}
    # 40/120 of 50.00 = 16.67, twice, then the rest (16.66) with the last 40.00.
    assert sorted(r["clawback"] for r in accepted) == ["16.66", "16.67", "16.67"]
    admin.read_models.catch_up()
    balance = admin.queries.balance("p1")["currencies"]["USD"]
    assert (balance["earned"], balance["clawed_back"], balance["lifetime_commission"]) == ("50.00", "50.00", "0.00")
    assert topics(admin)["payment.reversed"] == 3
    assert_chain_intact(admin)
