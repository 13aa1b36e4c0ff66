"""Attack on erasure (issue 17 item 2): after ``forget_partner`` / ``forget_customer``
the key rows read NULL, but the destroyed keys were still in the database's files (the
SQLite WAL, free space in pages, PostgreSQL's dead row versions): trying every
Fernet-shaped string found there against every key-shaped one decrypted the forgotten
e-mails, companies, websites and IBAN.

Each test forgets people in a real database, then reads the database's files as raw
bytes, as whoever copies them would, while the ledger is still running: no destroyed
key is in them, and no key found there opens a forgotten value (the keys of people not
forgotten are found and open theirs, so the search itself works). Tokens of both kinds
the vault makes or made are tried: Fernet's and its AES-256-GCM ones (``2.`` ...)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from cryptography.fernet import Fernet, InvalidToken

from adapters import event_store, vault
from adapters.database import Database
from adapters.vault import KEYS_TABLE
from ledger import privacy
from tests import builders as b
from tests.conftest import PG_DSN, Driver

# Fernet: a key is 32 bytes in URL-safe base64 (44 characters, the last "="); a token
# starts with its version byte 0x80 and a timestamp, "gAAAAA" in base64. The vault's
# AES-256-GCM tokens are "2." and nonce, ciphertext and tag (28 bytes and more) in base64.
TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_-]{40,}={0,2}|2\.[A-Za-z0-9_-]{38,}={0,2}")
KEY_TAIL = re.compile(rb"[A-Za-z0-9_-]{43}=")

FORGOTTEN = {"p1", "p2", "c1", "c2"}  # a partner's and a customer's subjects end in these ids
FORGOTTEN_VALUES = {  # what the scene sealed for them
    *(v for i in (1, 2) for v in (f"owner{i}@partner{i}.example", f"p{i} GmbH", f"https://p{i}.example",
                                    f"DE89370400440532{i:06d}", f"buyer{i}@customer{i}.example")),
}


def history(extra: int) -> list[dict[str, Any]]:
    """Partners and customers with personal data, enough for the key table to span pages."""
    commands: list[dict[str, Any]] = [b.program()]
    for i in range(1, extra + 1):
        commands += [*b.partner(f"p{i}", email=f"owner{i}@partner{i}.example"),
                     b.cmd("set_payout_details", partner_id=f"p{i}", method="sepa", account=f"DE89370400440532{i:06d}"),
                     *b.customer(f"c{i}", f"p{i}", email=f"buyer{i}@customer{i}.example")]
    return commands


def forget_some(ledger: Driver) -> None:
    ledger.ok(*(b.cmd("forget_partner", partner_id=p, reason="erasure request") for p in ("p1", "p2")),
              *(b.cmd("forget_customer", customer_id=c, reason="erasure request") for c in ("c1", "c2")))


def keys_by_subject(ledger: Driver) -> dict[str, str]:
    rows = ledger.app.db.fetch_all(f"SELECT subject, secret FROM {KEYS_TABLE}")
    return {subject: secret for subject, secret in rows if secret}


def is_forgotten(subject: str) -> bool:
    return subject.split(":")[-1] in FORGOTTEN


def candidates(raw: bytes) -> tuple[set[bytes], set[bytes]]:
    """Every token-shaped and every key-shaped string in the bytes (a key's 44
    characters may follow other text without a separator, so every "=" is tried)."""
    tokens = set(TOKEN.findall(raw))
    keys = {raw[end - 43 : end + 1] for end in (m.end() - 1 for m in re.finditer(rb"=", raw))
            if end >= 43 and KEY_TAIL.fullmatch(raw[end - 43 : end + 1])}
    return tokens, keys


def opened(raw: bytes) -> set[str]:
    """Every plaintext a key found in the bytes opens from a token found there."""
    tokens, keys = candidates(raw)
    plaintexts: set[str] = set()
    for key in keys:
        for token in tokens:
            try:
                plaintexts.add(vault._decrypt(key, token.decode()).decode())
            except InvalidToken:
                continue
    return plaintexts


def assert_nothing_forgotten_opens(raw: bytes, before: dict[str, str]) -> None:
    destroyed = {s: k for s, k in before.items() if is_forgotten(s)}
    assert destroyed, "the scene forgets people who had keys"
    still_there = [s for s, k in destroyed.items() if k.encode() in raw]
    assert not still_there, f"destroyed keys are still in the files: {still_there}"
    plaintexts = opened(raw)
    assert "buyer5@customer5.example" in plaintexts and "owner5@partner5.example" in plaintexts, \
        "the search finds the keys and values of people not forgotten"
    leaked = sorted(plaintexts & FORGOTTEN_VALUES)
    assert not leaked, f"forgotten values open again: {leaked}"


def test_values_sealed_by_the_old_code_still_open_and_go_with_their_key(ledger_url: str) -> None:
    """Values sealed before the vault's AES-256-GCM tokens are Fernet tokens under the same
    subject key: they still open, and destroying the key forgets them with the new ones."""
    db = Database.from_url(ledger_url)
    try:
        event_store.EventStore(db)  # the log's tables (and on PostgreSQL the schema) first
        sealer = vault.Vault(db)
        new = sealer.seal("customer:c9", "ann@example.com")
        key = sealer._key("customer:c9", create=False)
        assert key is not None
        old = f"sealed:customer:c9:{Fernet(key).encrypt(b'ann@example.com').decode()}"
        assert new.startswith("sealed:customer:c9:2.") and "ann@" not in new
        assert sealer.unseal(new) == sealer.unseal(old) == "ann@example.com"
        assert sealer.unseal(new[:-4] + "AAAA") == privacy.FORGOTTEN, "a token altered does not open"
        with db.connect() as conn, db.transaction(conn) as cursor:
            event_store._shred(cursor, ["customer:c9"])
        assert sealer.unseal(new) == sealer.unseal(old) == privacy.FORGOTTEN
    finally:
        db.close()


# -- SQLite ------------------------------------------------------------------------------


def sqlite_files(ledger: Driver) -> bytes:
    path = Path(ledger.app.db.path)
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_sqlite_files_hold_no_destroyed_key(sqlite_ledger: Driver) -> None:
    sqlite_ledger.ok(*history(40))
    before = keys_by_subject(sqlite_ledger)
    reader = open_reader(sqlite_ledger)  # a running server's other connection
    try:
        forget_some(sqlite_ledger)
        raw = sqlite_files(sqlite_ledger)
        assert_nothing_forgotten_opens(raw, before)
    finally:
        reader.close()


def test_a_file_written_by_the_old_code_is_cleaned_on_start(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The old code zeroed nothing: its files hold the keys of people it forgot in free
    space, and stale copies of live keys (left by page splits). The first start of the
    new code rewrites the key table once."""
    with monkeypatch.context() as old_code:
        old_code.setattr(vault, "_rewrite_sqlite_keys_once", lambda db: None)
        old_code.setattr(event_store, "scrub_destroyed_keys", lambda db: None)
        connection = Database._sqlite_connection

        def zeroing_nothing(self: Database) -> Any:
            conn = connection(self)
            conn.execute("PRAGMA secure_delete=OFF")
            return conn

        old_code.setattr(Database, "_sqlite_connection", zeroing_nothing)
        ledger = Driver(sqlite_url)
        ledger.ok(*history(60))
        before = keys_by_subject(ledger)
        forget_some(ledger)
        ledger.close()
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    assert any(key.encode() in path.read_bytes() for subject, key in before.items() if is_forgotten(subject)), \
        "the old code's file holds a destroyed key (the attack this test replays)"
    upgraded = Driver(sqlite_url)
    try:
        reader = open_reader(upgraded)
        try:
            assert_nothing_forgotten_opens(sqlite_files(upgraded), before)
        finally:
            reader.close()
        database = path.read_bytes()
        assert all(database.count(key.encode()) == 1 for subject, key in before.items() if not is_forgotten(subject)), \
            "no stale copy of a live key is left to leak when it is forgotten"
        assert upgraded.app.queries.partner("p5")["profile"]["contact_email"] == "o***@partner5.example", "live keys still open their values"
    finally:
        upgraded.close()


def open_reader(ledger: Driver) -> Any:
    import sqlite3

    reader = sqlite3.connect(ledger.app.db.path, isolation_level=None)
    reader.execute(f"SELECT count(*) FROM {KEYS_TABLE}").fetchone()
    return reader


# -- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture
def pg_database(pg_available: bool) -> Iterator[str]:
    """A database of its own: VACUUM removes a dead row only when no transaction in the
    same database is older than it, and other tests' run in the shared one."""
    if not pg_available:
        pytest.skip("PostgreSQL is not reachable")
    name = f"erasure_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def heap_file(dsn: str, table: str) -> bytes:
    """The table's file on the server's disk, once every dirty page is written to it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        [(raw,)] = conn.execute("SELECT pg_read_binary_file(pg_relation_filepath(%s))", (table,)).fetchall()
    return bytes(raw)


def test_postgres_heap_holds_no_destroyed_key(pg_database: str) -> None:
    ledger = Driver(pg_database)
    try:
        ledger.ok(*history(40))
        before = keys_by_subject(ledger)
        forget_some(ledger)
        raw = heap_file(pg_database, KEYS_TABLE)
        tokens = heap_file(pg_database, "ledger_events")
        assert_nothing_forgotten_opens(raw + tokens, before)
    finally:
        ledger.close()
