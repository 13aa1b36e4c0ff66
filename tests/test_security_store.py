"""Issue 17, the store's attacks: a data bug must not loop forever in the bus (item 9),
and the log and its chain refuse edits on both databases (item 7).

Each test replays the attack against a real SQLite file and a real PostgreSQL schema
and fails if it works again."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from adapters import idempotency
from commands import bus as bus_module
from ledger.errors import WriteRefused
from ledger.payment import Payment
from tests import builders as b
from tests.conftest import Driver

WORLD = [b.program(), *b.partner("p1"), *b.customer("c1", "p1")]


def counting_appends(ledger: Driver, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the transactions the bus asks the store for."""
    calls: list[int] = []
    append = ledger.app.store.append

    def counted(*args: Any, **kwargs: Any) -> list[int]:
        calls.append(1)
        return append(*args, **kwargs)

    monkeypatch.setattr(ledger.app.store, "append", counted)
    return calls


def null_fingerprint_for(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A data bug: the receipt of ``key`` is written without its NOT NULL fingerprint,
    so the real database refuses the transaction with a NOT NULL failure."""
    row = idempotency._row

    def buggy(receipt: idempotency.Receipt) -> tuple[Any, ...]:
        written = row(receipt)
        return (written[0], None, written[2]) if receipt[0] == key else written

    monkeypatch.setattr(idempotency, "_row", buggy)


# -- item 9: only conflicts are retried, a bounded number of times -----------------------


def test_a_not_null_failure_is_tried_once_and_records_nothing(ledger: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.ok(*WORLD)
    before = ledger.event_count()
    null_fingerprint_for("payment:pay-1", monkeypatch)
    appends = counting_appends(ledger, monkeypatch)
    [result] = ledger.apply(b.payment("pay-1", "c1"))
    assert not result["ok"]
    assert result["error"]["code"] == "internal"
    message = result["error"]["message"].lower()
    assert "null" in message and "fingerprint" in message and "nothing of this command was recorded" in message, message
    assert "pay-1" not in message, "the row's data is not quoted back"
    assert len(appends) == 1, "a NOT NULL failure was retried as if it were a conflict"
    assert ledger.event_count() == before
    assert ledger.balance("p1") == {}


def test_in_a_batch_only_the_culprit_fails(ledger: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger.ok(*WORLD)
    null_fingerprint_for("payment:pay-bad", monkeypatch)
    appends = counting_appends(ledger, monkeypatch)
    results = ledger.apply(b.payment("pay-1", "c1"), b.payment("pay-bad", "c1"), b.payment("pay-2", "c1"))
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[1]["error"]["code"] == "internal"
    assert len(appends) == 1 + 3, "the batch once, then each command once: nothing is retried in a loop"
    store = ledger.app.store
    assert store.load(Payment, "pay-bad") is None
    assert store.load(Payment, "pay-1") is not None and store.load(Payment, "pay-2") is not None


def test_a_check_constraint_is_not_retried_on_postgres(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Driver(pg_url)
    try:
        ledger.ok(*WORLD)
        with ledger.app.db.connect() as conn:
            conn.execute("ALTER TABLE ledger_events ADD CONSTRAINT no_payments CHECK (topic <> 'payment.recorded') NOT VALID")
        before = ledger.event_count()
        appends = counting_appends(ledger, monkeypatch)
        [result] = ledger.apply(b.payment("pay-1", "c1"))
        assert result["error"]["code"] == "internal"
        assert "check constraint" in result["error"]["message"], result
        assert len(appends) == 1
        assert ledger.event_count() == before
    finally:
        ledger.close()


def test_the_store_tells_a_conflict_from_a_refusal(ledger: Driver) -> None:
    store = ledger.app.store
    receipt = ("command:k1", "fingerprint", {"ok": True})
    store.append([], read_versions={}, forget_subjects=[], receipts=[receipt])
    with pytest.raises(IntegrityError):  # another writer took the key: replaying can succeed
        store.append([], read_versions={}, forget_subjects=[], receipts=[receipt])
    with pytest.raises(WriteRefused, match=r"(?i)null"):  # a data bug: no replay can cure it
        store.append([], read_versions={}, forget_subjects=[], receipts=[("command:k2", None, {"ok": True})])  # type: ignore[list-item]


def test_conflicts_are_retried_a_bounded_number_of_times_with_jitter(
    sqlite_ledger: Driver, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = sqlite_ledger
    ledger.ok(*WORLD)
    before = ledger.event_count()
    pauses: list[float] = []
    monkeypatch.setattr(bus_module.time, "sleep", pauses.append)

    def always_conflicting(*args: Any, **kwargs: Any) -> list[int]:
        raise IntegrityError("another writer got there first")

    monkeypatch.setattr(ledger.app.store, "append", always_conflicting)
    [result] = ledger.apply(b.payment("pay-1", "c1"))
    assert result["error"]["code"] == "busy", result
    assert len(pauses) == bus_module.MAX_ATTEMPTS
    assert all(0 <= pause <= bus_module.MAX_BACKOFF for pause in pauses)
    assert len(set(pauses)) > 1, "the pauses are jittered"
    monkeypatch.undo()
    assert ledger.event_count() == before


def test_busy_is_a_503_and_halts_the_consumer() -> None:
    from entrypoints.consumer import RETRY_LATER
    from entrypoints.http.problems import STATUS_OF_CODE

    assert STATUS_OF_CODE["busy"] == 503
    assert "busy" in RETRY_LATER  # never dead-lettered: tried again on restart

