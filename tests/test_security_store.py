"""Issue 17, the store's attacks: a data bug must not loop forever in the bus (item 9),
and the log and its chain refuse edits on both databases (item 7).

Each test replays the attack against a real SQLite file and a real PostgreSQL schema
and fails if it works again."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError

from adapters import event_store, idempotency, schema
from adapters.database import schema_fingerprint
from commands import bus as bus_module
from ledger.errors import WriteRefused
from ledger.payment import Payment
from tests import builders as b
from tests.conftest import PG_DSN, Driver

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



# -- item 7: the log and its chain refuse a replace ------------------------------------


def _sqlite(ledger: Driver) -> sqlite3.Connection:
    """The ledger's file as an administrator opens it with the sqlite3 shell."""
    return sqlite3.connect(ledger.app.db.path, isolation_level=None)


def _log_and_chain(conn: sqlite3.Connection) -> list[Any]:
    return [conn.execute("SELECT rowid, * FROM stored_events ORDER BY rowid").fetchall(),
            conn.execute("SELECT rowid, * FROM ledger_chain ORDER BY rowid").fetchall()]


REPLACES = [  # over an existing row's rowid, over its key with a fresh rowid, both spellings
    "INSERT OR REPLACE INTO stored_events (rowid, originator_id, originator_version, topic, state)"
    " SELECT rowid, originator_id, originator_version, topic, CAST('{}' AS BLOB) FROM stored_events WHERE rowid = 3",
    "REPLACE INTO stored_events (rowid, originator_id, originator_version, topic, state)"
    " SELECT 1000, originator_id, originator_version, topic, CAST('{}' AS BLOB) FROM stored_events WHERE rowid = 3",
    "INSERT OR REPLACE INTO stored_events (originator_id, originator_version, topic, state)"
    " SELECT originator_id, originator_version, topic, CAST('{}' AS BLOB) FROM stored_events WHERE rowid = 3",
    "INSERT OR REPLACE INTO ledger_chain (rowid, position, hash) SELECT rowid, position, zeroblob(32) FROM ledger_chain WHERE position = 3",
    "REPLACE INTO ledger_chain (position, hash) VALUES (3, zeroblob(32))",
    "REPLACE INTO ledger_chain (rowid, position, hash) SELECT rowid, 1000, zeroblob(32) FROM ledger_chain WHERE position = 3",
]


@pytest.mark.parametrize("statement", REPLACES)
def test_sqlite_refuses_a_replace_over_the_log_or_its_chain(sqlite_ledger: Driver, statement: str) -> None:
    sqlite_ledger.ok(*WORLD, b.payment("pay-1", "c1"))
    conn = _sqlite(sqlite_ledger)
    try:
        before = _log_and_chain(conn)
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute(statement)
        assert _log_and_chain(conn) == before
    finally:
        conn.close()
    assert sqlite_ledger.cli("verify")[0] == 0


def test_a_plain_insert_over_a_taken_key_is_still_a_conflict(sqlite_ledger: Driver) -> None:
    """Our own writer meets the guard only when another writer took a version first: the
    bus replays that (as it did the unique key's error before the guard)."""
    sqlite_ledger.ok(*WORLD)
    conn = _sqlite(sqlite_ledger)
    try:
        with pytest.raises(sqlite3.IntegrityError) as taken:
            conn.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state)"
                         " SELECT originator_id, originator_version, topic, state FROM stored_events WHERE rowid = 1")
    finally:
        conn.close()
    assert event_store._is_conflict(taken.value)
    assert sqlite_ledger.ok(b.payment("pay-1", "c1"))


def test_postgres_refuses_an_upsert_over_the_log_or_its_chain(pg_url: str) -> None:
    ledger = Driver(pg_url)
    try:
        ledger.ok(*WORLD, b.payment("pay-1", "c1"))
        s = ledger.app.db.schema
        upserts = [
            f"INSERT INTO {s}.ledger_events SELECT * FROM {s}.ledger_events WHERE notification_id = 3"
            " ON CONFLICT (notification_id) DO UPDATE SET state = '\\x7b7d'",
            f"INSERT INTO {s}.ledger_events SELECT originator_id, originator_version, topic, state FROM {s}.ledger_events"
            " WHERE notification_id = 3 ON CONFLICT (originator_id, originator_version) DO UPDATE SET state = '\\x7b7d'",
            f"INSERT INTO {s}.ledger_chain VALUES (3, '\\x00') ON CONFLICT (position) DO UPDATE SET hash = excluded.hash",
            f"UPDATE {s}.ledger_events SET state = state", f"DELETE FROM {s}.ledger_chain WHERE position = 3",
        ]
        for statement in upserts:
            with psycopg.connect(PG_DSN) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement)
        assert ledger.cli("verify")[0] == 0
    finally:
        ledger.close()


def test_a_log_made_by_the_old_code_gets_the_new_guard_on_start(sqlite_ledger: Driver) -> None:
    """The guards' DDL fingerprint (``ledger_schema_state``) changed with the new trigger,
    so the first start of the new code on an existing file runs it."""
    sqlite_ledger.ok(*WORLD)
    db = sqlite_ledger.app.db
    old = [s for s in schema._guard_statements(db) if "_no_replace" not in s]
    conn = _sqlite(sqlite_ledger)
    try:
        for table in ("stored_events", "ledger_chain"):
            conn.execute(f"DROP TRIGGER {table}_no_replace")
        conn.execute("UPDATE ledger_schema_state SET fingerprint = ? WHERE part = 'log guards'", (schema_fingerprint(old),))
        conn.execute(REPLACES[0])  # the old code's log: the attack works
        sqlite_ledger.close()
        sqlite_ledger.app = Driver(sqlite_ledger.url).app  # the new code starts on it
        for statement in REPLACES:
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()
