"""Where the ledger lives: an SQLite file (the default) or a PostgreSQL database.

The URL (setting ``LEDGER_DATABASE_URL`` or ``--db``) chooses: ``sqlite:///path`` or
``postgresql://user[:password]@host[:port]/dbname[?schema=name]``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlparse

_POOLS: dict[str, Any] = {}
_SQLITE = threading.local()  # SQLite connections are per thread
# Schema changes: threads of one process take turns, and a thread already holding the
# database's advisory lock may change the schema again (re-entrant).
_SCHEMA_LOCK = threading.RLock()
# Which DDL each part of the schema last ran (a fingerprint of its statements).
SCHEMA_STATE_TABLE = "ledger_schema_state"
_SCHEMA_DEPTH: dict[str, int] = {}
# Per (database, table), its columns' types, read once for ``insert_many``'s binary COPY; forgotten
# when any schema changes.
_COLUMN_TYPES: dict[tuple[str, str], list[int]] = {}


class Cursor(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


@dataclass(frozen=True)
class Database:
    """Connection facts for the ledger's tables (the log, read models, keys), whose SQL
    is written with ``%s`` placeholders and translated for SQLite."""

    url: str
    kind: str  # "sqlite" or "postgres"
    path: str = ""
    dbname: str = ""
    host: str = ""
    port: str = "5432"
    user: str = ""
    password: str = ""
    schema: str = "public"

    @classmethod
    def from_url(cls, url: str) -> Database:
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            path = unquote(url[len("sqlite:///"):]) or "ledger.db"
            return cls(url=url, kind="sqlite", path=path)
        if parsed.scheme in ("postgresql", "postgres"):
            query = parse_qs(parsed.query)
            return cls(
                url=url,
                kind="postgres",
                dbname=(parsed.path or "/").lstrip("/") or "postgres",
                host=parsed.hostname or "127.0.0.1",
                port=str(parsed.port or 5432),
                user=unquote(parsed.username or os.environ.get("USER", "postgres")),
                password=unquote(parsed.password or ""),
                schema=query.get("schema", ["public"])[0],
            )
        raise ValueError(f"unsupported database url {url!r}: use sqlite:/// or postgresql://")

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgres"

    @property
    def write_errors(self) -> tuple[type[Exception], ...]:
        """What the driver raises when the database refuses a write (a key taken, a
        constraint, a serialization failure). psycopg is imported for a PostgreSQL ledger
        only: a SQLite ledger's commands start without it."""
        if not self.is_postgres:
            return (sqlite3.IntegrityError,)
        import psycopg

        return (psycopg.IntegrityError, psycopg.errors.TransactionRollback)

    def events_table(self) -> str:
        return "ledger_events" if self.is_postgres else "stored_events"

    def sql(self, statement: str) -> str:
        """A statement with ``%s`` placeholders for this database's own connections
        (psycopg reads them itself)."""
        return statement if self.is_postgres else _placeholders(statement, False)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A pooled connection for the ledger's own tables (autocommit: every
        statement runs inside ``transaction``)."""
        if self.is_postgres:
            with self._pool().connection() as conn:
                yield conn
            return
        yield self._sqlite_connection()

    def _pool(self) -> Any:
        pool = _POOLS.get(self.url)
        if pool is None:
            from psycopg_pool import ConnectionPool

            pool = ConnectionPool(
                kwargs={
                    "dbname": self.dbname, "host": self.host, "port": self.port, "user": self.user,
                    "password": self.password or None, "options": f"-c search_path={self.schema}",
                    "autocommit": True,
                },
                min_size=1, max_size=8, open=True,
            )
            _POOLS[self.url] = pool
        return pool

    def _sqlite_connection(self) -> sqlite3.Connection:
        connections: dict[str, sqlite3.Connection] = _SQLITE.__dict__.setdefault("connections", {})
        conn = connections.get(self.path)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            # Freed bytes are zeroed where that costs no extra write (a destroyed key
            # must not stay in a page's free space: ``adapters.vault``); ON would also
            # zero every page a dropped table frees.
            conn.execute("PRAGMA secure_delete=FAST")
            connections[self.path] = conn
        return conn

    def close(self) -> None:
        """Release this database's pooled connections (this thread's, for SQLite)."""
        pool = _POOLS.pop(self.url, None)
        if pool is not None:
            pool.close()
        conn = _SQLITE.__dict__.get("connections", {}).pop(self.path, None)
        if conn is not None:
            conn.close()

    @contextmanager
    def schema_change(self) -> Iterator[Any]:
        """A transaction for DDL (``CREATE ... IF NOT EXISTS``, triggers, one-off
        migrations), under ``schema_lock``, in this database's schema (made first on
        PostgreSQL when missing: every part of the ledger may be the first to start)."""
        try:
            with self.schema_lock(), self.connect() as conn, self.transaction(conn) as cursor:
                if self.is_postgres:
                    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                yield cursor
        finally:
            _COLUMN_TYPES.clear()  # once the change is visible: a table made again may have other columns

    def schema_is_current(self, part: str, fingerprint: str, table: str) -> bool:
        """Whether ``part``'s DDL with this fingerprint already ran (and ``table``, one it
        made, is still there: a table dropped by hand brings the DDL back). A process starting
        while others write then skips it and takes no table lock at all: on PostgreSQL
        ``CREATE INDEX IF NOT EXISTS`` locks its table even when the index exists, and such
        a start deadlocked with a writer holding those tables."""
        with self.connect() as conn, self.reading(conn) as cursor:
            if not (self.table_exists(cursor, SCHEMA_STATE_TABLE) and self.table_exists(cursor, table)):
                return False
            cursor.execute(f"SELECT fingerprint FROM {SCHEMA_STATE_TABLE} WHERE part = %s", (part,))
            row = cursor.fetchone()
        return row is not None and row[0] == fingerprint

    def apply_schema(self, part: str, statements: Sequence[str], table: str) -> None:
        """Run ``part``'s DDL unless it already ran with these very statements (their
        ``schema_fingerprint``) and ``table``, one they make, is there: in one
        ``schema_change``, recorded with ``record_schema``."""
        fingerprint = schema_fingerprint(statements)
        if self.schema_is_current(part, fingerprint, table):
            return
        with self.schema_change() as cursor:
            for statement in statements:
                cursor.execute(statement)
            self.record_schema(cursor, part, fingerprint)

    def record_schema(self, cursor: Any, part: str, fingerprint: str | None) -> None:
        """Inside ``schema_change``: ``part``'s DDL ran with this fingerprint (None: its
        tables were dropped, so the next start runs it again)."""
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {SCHEMA_STATE_TABLE} (part TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)")
        cursor.execute(f"DELETE FROM {SCHEMA_STATE_TABLE} WHERE part = %s", (part,))
        if fingerprint is not None:
            cursor.execute(f"INSERT INTO {SCHEMA_STATE_TABLE} (part, fingerprint) VALUES (%s, %s)", (part, fingerprint))

    def table_exists(self, cursor: Any, table: str) -> bool:
        if self.is_postgres:
            cursor.execute("SELECT to_regclass(%s)", (f"{self.schema}.{table}",))
            return cursor.fetchone()[0] is not None
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (table,))
        return cursor.fetchone() is not None

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Only one process changes the schema at a time. On PostgreSQL, concurrent
        ``CREATE ... IF NOT EXISTS`` of one object fail (a unique violation on pg_type,
        "tuple concurrently updated"), so every process starting at once would race:
        a session advisory lock, keyed by the schema, makes them take turns. SQLite
        already serializes them (``BEGIN IMMEDIATE``)."""
        if not self.is_postgres:
            yield
            return
        with _SCHEMA_LOCK:
            if _SCHEMA_DEPTH.get(self.url):
                _SCHEMA_DEPTH[self.url] += 1
                try:
                    yield
                finally:
                    _SCHEMA_DEPTH[self.url] -= 1
                return
            import psycopg

            key = int.from_bytes(hashlib.sha256(f"ledger-schema:{self.schema}".encode()).digest()[:8], "big", signed=True)
            with psycopg.connect(
                dbname=self.dbname, host=self.host, port=self.port, user=self.user, password=self.password or None,
                autocommit=True,
            ) as conn:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
                _SCHEMA_DEPTH[self.url] = 1
                try:
                    yield
                finally:
                    _SCHEMA_DEPTH[self.url] = 0
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    @contextmanager
    def transaction(self, conn: Any) -> Iterator[Any]:
        """One transaction on ``conn``: commit on success, roll back on error."""
        if self.is_postgres:
            with conn.transaction(), _raw_cursor(conn) as cursor:
                yield _Translating(cursor, self)
            return
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield _Translating(cursor, self)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Every row of one read-only query, on a pooled connection. On PostgreSQL one
        statement already sees one snapshot: it runs on the autocommit connection, one
        round trip instead of three (BEGIN, the query, COMMIT)."""
        if self.is_postgres:
            with self.connect() as conn, _raw_cursor(conn) as cursor:
                _Translating(cursor, self).execute(sql, params)
                return cursor.fetchall()
        with self.connect() as conn, self.reading(conn) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    @contextmanager
    def reading(self, conn: Any) -> Iterator[Any]:
        """A transaction that only reads: one consistent view of the tables. On SQLite it
        does not take the write lock (``transaction`` does, up front), so in WAL mode
        readers run side by side and beside a writer instead of queueing."""
        if self.is_postgres:
            with conn.transaction(), _raw_cursor(conn) as cursor:
                yield _Translating(cursor, self)
            return
        cursor = conn.cursor()
        cursor.execute("BEGIN")
        try:
            yield _Translating(cursor, self)
        finally:
            conn.execute("COMMIT")


def _raw_cursor(conn: Any) -> Any:
    """A psycopg cursor that sends its SQL as written, with PostgreSQL's own ``$n``
    placeholders (``_Translating`` numbers them): psycopg's default cursor parses every
    statement's ``%s`` with a regex, and caches the result only for statements of at most
    50 parameters, so each ``IN (...)`` list of a batch (hundreds of ids) and each page of
    ``execute_values`` was parsed again on every call, at about 2.5 µs a placeholder."""
    from psycopg import RawCursor

    return RawCursor(conn)


@lru_cache(maxsize=1024)
def _placeholders(sql: str, numbered: bool) -> str:
    """``sql``'s ``%s`` placeholders as PostgreSQL's ``$1, $2, …`` (``numbered``) or
    SQLite's ``?``, and ``%%`` as a literal ``%``, as psycopg reads a statement with
    parameters: worked out once per statement text."""
    marks = itertools.count(1)

    def mark(match: re.Match[str]) -> str:
        if match.group() == "%%":
            return "%"
        return f"${next(marks)}" if numbered else "?"

    return _PLACEHOLDER.sub(mark, sql)


_PLACEHOLDER = re.compile("%[%s]")


class _Translating:
    """A cursor that accepts ``%s`` placeholders (and ``%%`` for a literal ``%``) on
    either database: ``?`` on SQLite, ``$n`` on PostgreSQL (its cursors are
    ``_raw_cursor``s)."""

    def __init__(self, cursor: Any, db: Database) -> None:
        self._cursor, self._db = cursor, db
        self._numbered = db.is_postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if not params:  # sent as written: a % is no placeholder
            return self._cursor.execute(sql)
        return self._cursor.execute(_placeholders(sql, self._numbered), params)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        return self._cursor.executemany(_placeholders(sql, self._numbered), params)

    def execute_values(self, sql: str, rows: Sequence[Sequence[Any]], page: int = 500) -> None:
        """One statement per page of rows: ``sql`` holds ``VALUES ...`` where the rows go
        (a multi-row VALUES list, understood by both databases), and no other placeholder."""
        numbered = self._db.is_postgres
        for start in range(0, len(rows), page):
            chunk = rows[start : start + page]
            statement = sql.replace("VALUES ...", _values_list(len(chunk[0]), len(chunk), numbered))
            self._cursor.execute(statement, [value for row in chunk for value in row])

    def insert_many(self, table: str, rows: Sequence[Sequence[Any]], types: Sequence[str | int] = ()) -> None:
        """Append rows (all columns, in order): one binary COPY on PostgreSQL, one
        executemany on SQLite. The COPY's column ``types`` are the table's own (each row's
        values must be of exactly those), read once from the catalogue when not given: a
        binary COPY costs the client about half the CPU of a text one (no text made of
        each value and escaped), and the server less to parse."""
        if not rows:
            return
        if self._db.is_postgres:
            types = types or self._column_types(table)  # not inside the COPY: its connection is busy then
            with self._cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in rows[0])
        self._cursor.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)

    def _column_types(self, table: str) -> list[int]:
        """The type of each of ``table``'s columns, in order (PostgreSQL's oids)."""
        key = (self._db.url, table)
        types = _COLUMN_TYPES.get(key)
        if types is None:
            self.execute("SELECT atttypid FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                         " AND NOT attisdropped ORDER BY attnum", (table,))
            types = _COLUMN_TYPES[key] = [int(row[0]) for row in self._cursor.fetchall()]
        return types

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())


@lru_cache(maxsize=64)
def _values_list(width: int, count: int, numbered: bool) -> str:
    """``VALUES (?, ?), (?, ?)`` for ``count`` rows of ``width`` values; ``numbered``:
    PostgreSQL's ``$1, $2, …`` instead of ``?``. Made once per shape: the pages of a
    read model's upserts mostly share one, but each batch's last page is of its own size:
    numbered here directly, about four times faster than ``_placeholders``' regex (1.2 to 2.3
    ms for a page of 2,000 to 3,400 values)."""
    if not numbered:
        return "VALUES " + ", ".join(["(" + ", ".join(["?"] * width) + ")"] * count)
    marks = [f"${number}" for number in range(1, width * count + 1)]
    return "VALUES " + ", ".join(["(" + ", ".join(marks[start : start + width]) + ")" for start in range(0, width * count, width)])


def schema_fingerprint(statements: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(statements).encode()).hexdigest()
