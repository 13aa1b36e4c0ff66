"""The log's tables and guards: the events table (the ledger's own DDL, the very columns,
names and keys the eventsourcing library's recorders created before, so a log they made
is read and extended unchanged), the chain table, and triggers that refuse any UPDATE, DELETE or
TRUNCATE of the log and of its chain (on both databases), and on SQLite any insert over
a row already there: ``INSERT OR REPLACE`` / ``REPLACE`` deletes the old row without
firing DELETE triggers (unless a connection turns ``recursive_triggers`` on), so a
BEFORE INSERT trigger refuses a row whose rowid or key is taken. (PostgreSQL has no
REPLACE; its ``INSERT ... ON CONFLICT DO UPDATE`` fires the UPDATE trigger.)"""

from __future__ import annotations

from adapters.database import Database
from adapters.hash_chain import CHAIN_TABLE

_REFUSE = "the ledger event log is append-only"
# Raised by SQLite's BEFORE INSERT guard: a row with this rowid or key is there. Our own
# writer only meets it when another writer took an aggregate's version first (a
# conflict, replayed by the bus, as the unique key's error was before the guard).
KEY_TAKEN = f"{_REFUSE}: a row with that key is already there"


def create_log_tables(db: Database) -> None:
    """The events table and its chain, once (``CREATE INDEX IF NOT EXISTS`` would lock the
    log on PostgreSQL at every start, so it runs only when its fingerprint is new)."""
    db.apply_schema("log tables", _log_statements(db), db.events_table())


def _log_statements(db: Database) -> list[str]:
    table = db.events_table()
    if not db.is_postgres:  # positions are the rowids
        return [
            f"CREATE TABLE IF NOT EXISTS {table} (originator_id TEXT, originator_version INTEGER, topic TEXT,"
            " state BLOB, PRIMARY KEY (originator_id, originator_version))",
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position BIGINT PRIMARY KEY, hash BLOB NOT NULL)",
        ]
    return [
        f"CREATE TABLE IF NOT EXISTS {table} (originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
        " topic text, state bytea, notification_id bigserial, PRIMARY KEY (originator_id, originator_version))",
        # Positions: the log is read in their order (scans, catch-up, the relay).
        f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_notification_id_idx ON {table} (notification_id ASC)",
        f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position BIGINT PRIMARY KEY, hash BYTEA NOT NULL)",
    ]


def create_log_guards(db: Database) -> None:
    """Once the events table exists: triggers refusing any change to the log (replacing
    a trigger locks the log's table, so it runs only when they are not in place yet)."""
    db.apply_schema("log guards", _guard_statements(db), db.events_table())


def _guard_statements(db: Database) -> list[str]:
    tables = [db.events_table(), CHAIN_TABLE]
    if not db.is_postgres:
        keys = {db.events_table(): ("originator_id", "originator_version"), CHAIN_TABLE: ("position",)}
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            for table in tables
            for op in ("UPDATE", "DELETE")
        ] + [_no_replace(table, keys[table]) for table in tables]
    statements = [
        "CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$ BEGIN RAISE EXCEPTION '{_REFUSE}: % refused', TG_OP; END $$"
    ]
    for table in tables:
        statements += [
            f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change()",
            f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change()",
        ]
    return statements


def _no_replace(table: str, key: tuple[str, ...]) -> str:
    """SQLite: refuse an insert whose rowid or key is already in ``table`` (two lookups
    by index, so each stays a seek)."""
    same_key = " AND ".join(f"{column} = NEW.{column}" for column in key)
    return (
        f"CREATE TRIGGER IF NOT EXISTS {table}_no_replace BEFORE INSERT ON {table} "
        f"WHEN EXISTS (SELECT 1 FROM {table} WHERE rowid = NEW.rowid) "
        f"OR EXISTS (SELECT 1 FROM {table} WHERE {same_key}) "
        f"BEGIN SELECT RAISE(ABORT, '{KEY_TAKEN}'); END"
    )
