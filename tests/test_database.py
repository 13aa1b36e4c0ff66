"""The read models' bulk writes (adapters/database.py): a multi-row VALUES upsert gives
the same rows on both databases, page by page, whatever the values hold (PostgreSQL
gets numbered placeholders, so text that looks like one must stay data)."""

from __future__ import annotations

from tests.conftest import Driver

AWKWARD = ["plain", "100% %s", "$1 and $2", "it's \"quoted\"", "", "ünïcode €"]


def test_multi_row_values_upsert_pages_and_keeps_every_value(ledger: Driver) -> None:
    db = ledger.app.db  # a ledger's database: its schema made
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute("CREATE TABLE bulk_values (k TEXT PRIMARY KEY, label TEXT, n BIGINT)")
    rows = [(f"k{i:04d}", AWKWARD[i % len(AWKWARD)], i) for i in range(1201)]  # three pages of 500, the last short
    upsert = "INSERT INTO bulk_values (k, label, n) VALUES ... ON CONFLICT (k) DO UPDATE SET n = bulk_values.n + excluded.n"
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute_values(upsert, rows, page=500)
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute_values(upsert, rows[:7], page=500)  # a second write of some: the conflict rule adds
    with db.connect() as conn, db.reading(conn) as cursor:
        cursor.execute("SELECT k, label, n FROM bulk_values ORDER BY k")
        stored = [(k, label, int(n)) for k, label, n in cursor.fetchall()]
    assert stored == [(k, label, n * 2 if i < 7 else n) for i, (k, label, n) in enumerate(rows)]
