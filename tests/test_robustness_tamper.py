"""Robustness suite, tamper: the database refuses any edit or deletion of an event row
(and of its seal); where someone bypasses that (drops the triggers as a superuser),
``ledger verify`` names the first bad position, including events removed from the end
of the log when the head recorded at an earlier audit is given."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from tests import builders as b
from tests.conftest import PG_DSN
from tests.robustness import case


def history(ledger: Any) -> None:
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"),
              *(b.payment(f"pay{i}", "c1", {"subscription": f"{100 + i}.00"}, at=f"2025-02-{i + 1:02d}T00:00:00Z") for i in range(8)),
              b.refund("r1", "pay3", "10.00"))


class Raw:
    """Plain SQL on the ledger's database, as an administrator would type it."""

    def __init__(self, ledger: Any) -> None:
        self.db = ledger.app.db
        self.pg = self.db.is_postgres
        self.events = f"{self.db.schema}.ledger_events" if self.pg else "stored_events"
        self.chain = f"{self.db.schema}.ledger_chain" if self.pg else "ledger_chain"
        self.id = "notification_id" if self.pg else "rowid"

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        if self.pg:
            with psycopg.connect(PG_DSN, autocommit=True) as conn:
                yield conn
        else:
            conn = sqlite3.connect(self.db.path, isolation_level=None)
            try:
                yield conn
            finally:
                conn.close()

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self.cursor() as conn:
            found = conn.execute(sql.replace("%s", "%s" if self.pg else "?"), params)
            return list(found.fetchall()) if found.description else []

    def refused(self) -> type[Exception]:
        return psycopg.errors.RaiseException if self.pg else sqlite3.DatabaseError

    def drop_guards(self) -> None:
        if self.pg:
            for table in (self.events, self.chain):
                name = table.split(".")[1]
                self.run(f"DROP TRIGGER IF EXISTS {name}_append_only ON {table}")
        else:
            for table in ("stored_events", "ledger_chain"):
                self.run(f"DROP TRIGGER IF EXISTS {table}_no_update")
                self.run(f"DROP TRIGGER IF EXISTS {table}_no_delete")

    def row(self, position: int) -> tuple[Any, ...]:
        [row] = self.run(f"SELECT originator_id, originator_version, topic, state FROM {self.events} WHERE {self.id} = %s", (position,))
        return tuple(row)

    def put_back(self, position: int, row: tuple[Any, ...]) -> None:
        self.run(f"INSERT INTO {self.events} (originator_id, originator_version, topic, state, {self.id}) VALUES (%s, %s, %s, %s, %s)",
                 (*row, position))


def verify(ledger: Any, *args: str) -> dict[str, Any]:
    code, out = ledger.cli("verify", "--json", *args)
    report = json.loads(out)
    assert (code == 0) == report["ok"]
    return report


@pytest.mark.parametrize("store", ["sqlite", "pg"])
def test_the_log_refuses_tampering_and_verify_names_the_first_bad_position(store, request):
    from tests.conftest import Driver

    ledger = Driver(request.getfixturevalue(f"{store}_url"))
    try:
        history(ledger)
        raw = Raw(ledger)
        clean = verify(ledger)
        assert clean["ok"] and clean["events"] >= 15
        end, head = clean["head_position"], clean["head"]

        # 1. The database refuses every change to the log and its seals.
        statements = [f"UPDATE {raw.events} SET topic = topic", f"DELETE FROM {raw.events} WHERE {raw.id} = 5",
                      f"UPDATE {raw.chain} SET hash = hash", f"DELETE FROM {raw.chain} WHERE position = 5"]
        if raw.pg:
            statements += [f"TRUNCATE {raw.events}", f"TRUNCATE {raw.chain}"]
        for statement in statements:
            with case("tamper"):
                with pytest.raises(raw.refused(), match="append-only"):
                    raw.run(statement)
                assert verify(ledger)["ok"]

        # 2. A superuser drops the guards (every start of the ledger puts them back, so
        # before each change): verify still finds every change.
        middle = end // 2

        def edited(position: int) -> Callable[[], None]:
            original = raw.row(position)

            def undo() -> None:
                raw.run(f"UPDATE {raw.events} SET state = %s WHERE {raw.id} = %s", (original[3], position))
            state = bytes(original[3]).replace(b'"2025-', b'"2024-', 1)
            raw.run(f"UPDATE {raw.events} SET state = %s WHERE {raw.id} = %s", (state, position))
            return undo

        def deleted(*positions: int, seals: bool = False) -> Callable[[], None]:
            rows = {p: raw.row(p) for p in positions}
            hashes = {p: raw.run(f"SELECT hash FROM {raw.chain} WHERE position = %s", (p,))[0][0] for p in positions}
            for p in positions:
                raw.run(f"DELETE FROM {raw.events} WHERE {raw.id} = %s", (p,))
                if seals:
                    raw.run(f"DELETE FROM {raw.chain} WHERE position = %s", (p,))

            def undo() -> None:
                for p, row in rows.items():
                    raw.put_back(p, row)
                    if seals:
                        raw.run(f"INSERT INTO {raw.chain} (position, hash) VALUES (%s, %s)", (p, hashes[p]))
            return undo

        tampers: list[tuple[str, Callable[[], Callable[[], None]], int, tuple[str, ...]]] = [
            ("an edited event", lambda: edited(middle), middle, ()),
            ("the last event edited", lambda: edited(end), end, ()),
            ("a deleted event", lambda: deleted(middle), middle, ()),
            ("an event and its seal deleted", lambda: deleted(middle, seals=True), middle + 1, ()),
            ("the first event deleted", lambda: deleted(1), 1, ()),
            ("the last two events and their seals removed", lambda: deleted(end - 1, end, seals=True), end - 1,
             ("--expect", f"{end}:{head}")),
        ]
        for name, tamper, position, args in tampers:
            with case("tamper"):
                raw.drop_guards()
                undo = tamper()
                report = verify(ledger, *args)
                assert not report["ok"] and report["first_bad_position"] == position, (name, report)
                raw.drop_guards()
                undo()
                assert verify(ledger, "--expect", f"{end}:{head}")["ok"], name
    finally:
        ledger.close()


def test_verify_expect_fails_on_a_shorter_log_or_another_history(sqlite_ledger):
    history(sqlite_ledger)
    report = verify(sqlite_ledger)
    end, head = report["head_position"], report["head"]
    assert verify(sqlite_ledger, "--expect", f"{end}:{head}")["ok"]
    beyond = verify(sqlite_ledger, "--expect", f"{end + 5}:{head}")
    assert not beyond["ok"] and beyond["first_bad_position"] == end + 1 and "removed from the end" in beyond["reason"]
    other = verify(sqlite_ledger, "--expect", f"{end}:{'0' * 64}")
    assert not other["ok"] and other["first_bad_position"] == end
    with pytest.raises(SystemExit):
        sqlite_ledger.cli("verify", "--expect", "five:abc")
