"""The log's guards: the chain table, and triggers that refuse any UPDATE, DELETE or
TRUNCATE of the log and of its chain (on both databases)."""

from __future__ import annotations

from adapters.database import Database, schema_fingerprint
from adapters.hash_chain import CHAIN_TABLE

_REFUSE = "the ledger event log is append-only"


def create_chain_table(db: Database) -> None:
    blob = "BYTEA" if db.is_postgres else "BLOB"
    with db.schema_change() as cursor:
        if db.is_postgres:
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {db.schema}")
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (position BIGINT PRIMARY KEY, hash {blob} NOT NULL)")


def create_log_guards(db: Database) -> None:
    """Once the events table exists: triggers refusing any change to the log (replacing
    a trigger locks the log's table, so it runs only when they are not in place yet)."""
    statements = _guard_statements(db)
    fingerprint = schema_fingerprint(statements)
    if db.schema_is_current("log guards", fingerprint, db.events_table()):
        return
    with db.schema_change() as cursor:
        for statement in statements:
            cursor.execute(statement)
        db.record_schema(cursor, "log guards", fingerprint)


def _guard_statements(db: Database) -> list[str]:
    tables = [db.events_table(), CHAIN_TABLE]
    if not db.is_postgres:
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            for table in tables
            for op in ("UPDATE", "DELETE")
        ]
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
