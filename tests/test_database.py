"""The read models' bulk writes (adapters/database.py): a multi-row VALUES upsert gives
the same rows on both databases, page by page, whatever the values hold (PostgreSQL
gets numbered placeholders, so text that looks like one must stay data), and so does
any statement with parameters."""

from __future__ import annotations

import pytest

from adapters.access import ACCESS_TABLE, AccessStore
from adapters.clicks import CLICKS_TABLE, ClickCounter
from adapters.database import Database
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


def test_statements_with_many_placeholders_and_literal_percents_read_the_same_on_both_databases(ledger: Driver) -> None:
    """Every statement with parameters is sent with numbered placeholders on PostgreSQL
    (``_numbered``): an IN list longer than psycopg would cache, ``%%`` as a literal
    percent beside parameters, and a statement without parameters keep their meaning."""
    db = ledger.app.db
    rows = [(f"k{i:04d}", AWKWARD[i % len(AWKWARD)], i) for i in range(300)]
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute("CREATE TABLE many_marks (k TEXT PRIMARY KEY, label TEXT, n BIGINT)")
        cursor.executemany("INSERT INTO many_marks (k, label, n) VALUES (%s, %s, %s)", rows)
    wanted = [k for k, _, n in rows if n % 3 == 0]  # 100 ids: above psycopg's 50
    in_list = f"SELECT k FROM many_marks WHERE n >= %s AND k IN ({', '.join('%s' for _ in wanted)}) ORDER BY k"
    assert [row[0] for row in db.fetch_all(in_list, [0, *wanted])] == wanted
    with db.connect() as conn, db.reading(conn) as cursor:
        cursor.execute("SELECT k FROM many_marks WHERE label LIKE %s AND label = '100%% %%s' ORDER BY k", ["100%"])
        percent = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT count(*) FROM many_marks WHERE label LIKE '100%'")  # no parameters: sent as written
        [(count,)] = cursor.fetchall()
    assert percent == [k for k, label, _ in rows if label == "100% %s"] and int(count) == len(percent) == 50


def test_appended_rows_keep_every_value_in_their_tables_own_types(ledger: Driver) -> None:
    """``insert_many`` (a binary COPY on PostgreSQL, with the column types read from the
    catalogue) keeps text that a text COPY would escape, NULLs, integers of each width
    and a table made again with other columns (the types read before are forgotten)."""
    db = ledger.app.db
    awkward = [*AWKWARD, "tab\there", "new\nline", "back\\slash", "\\N", "ends with \\"]
    rows = [(i, i % 3, awkward[i % len(awkward)], None if i % 4 else f"note {i}") for i in range(40)]
    with db.schema_change() as cursor:
        cursor.execute("CREATE TABLE appended (n BIGINT PRIMARY KEY, small INTEGER NOT NULL, label TEXT, note TEXT)")
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.insert_many("appended", rows)
    assert db.fetch_all("SELECT n, small, label, note FROM appended ORDER BY n") == rows
    with db.schema_change() as cursor:
        cursor.execute("DROP TABLE appended")
        cursor.execute("CREATE TABLE appended (label TEXT, n BIGINT PRIMARY KEY)")
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.insert_many("appended", [(label, n) for n, _, label, _ in rows])
    assert db.fetch_all("SELECT label, n FROM appended ORDER BY n") == [(label, n) for n, _, label, _ in rows]


@pytest.mark.parametrize(("part", "table"), [(AccessStore, ACCESS_TABLE), (ClickCounter, CLICKS_TABLE)])
def test_any_part_of_the_ledger_may_be_the_first_to_start_in_a_new_schema(ledger_url: str, part: type, table: str) -> None:
    """``schema_change`` makes the schema itself (PostgreSQL): no part has to."""
    db = Database.from_url(ledger_url)
    try:
        part(db)
        with db.connect() as conn, db.reading(conn) as cursor:
            assert db.table_exists(cursor, table)
    finally:
        db.close()
