"""Snapshots for auditors: every partner's figures frozen at a log position, with a
content hash. Snapshot tables refuse UPDATE and DELETE; ``replay --verify``
re-derives each snapshot from the log and compares hashes."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.database import Database
from projections.queries import balance_document
from projections.runner import Tables
from replay.tablescan import scan

SNAPSHOTS, ROWS = "ledger_snapshots", "ledger_snapshot_rows"
_REFUSE = "snapshots are immutable"


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: str
    label: str | None
    position: int
    taken_at: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "label": self.label, "position": self.position,
                "taken_at": self.taken_at, "hash": self.hash}


def partner_documents(db: Database, t: Tables) -> Iterator[dict[str, Any]]:
    """Each partner's frozen figures, in partner order: balances per currency,
    onboarded customers, and the statements issued."""
    balances: dict[str, list[Any]] = {}
    statements: dict[str, list[dict[str, str]]] = {}
    with db.connect() as conn, db.reading(conn) as cursor:
        cursor.execute(f"SELECT partner_id, currency, bucket, amount_minor FROM {t.balances}")
        for partner, currency, bucket, units in cursor.fetchall():
            balances.setdefault(partner, []).append((currency, bucket, units))
        cursor.execute(f"SELECT partner_id, COUNT(*) FROM {t.customers} WHERE onboarded_at IS NOT NULL GROUP BY partner_id")
        onboarded = {partner: int(count) for partner, count in cursor.fetchall()}
        cursor.execute(f"SELECT partner_id, statement_id, document FROM {t.statements} ORDER BY position")
        for partner, statement_id, document in cursor.fetchall():
            figures = json.loads(document)
            statements.setdefault(partner, []).append(
                {"statement_id": statement_id, "closing": figures["closing"], "due": figures["due"]}
            )
        cursor.execute(f"SELECT partner_id FROM {t.partners} ORDER BY partner_id")
        partners = [row[0] for row in cursor.fetchall()]
    for partner in partners:
        yield {
            "partner_id": partner,
            "currencies": balance_document(partner, balances.get(partner, []))["currencies"],
            "onboarded_total": onboarded.get(partner, 0),
            "statements": statements.get(partner, []),
        }


def content_hash(documents: Iterator[dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    digest, rows = hashlib.sha256(), []
    for document in documents:
        line = json.dumps(document, sort_keys=True, separators=(",", ":"))
        digest.update(line.encode() + b"\n")
        rows.append((document["partner_id"], line))
    return digest.hexdigest(), rows


class SnapshotStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        with db.schema_change() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {SNAPSHOTS} (snapshot_id TEXT PRIMARY KEY, label TEXT,"
                " position BIGINT NOT NULL, taken_at TEXT NOT NULL, hash TEXT NOT NULL)"
            )
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {ROWS} (snapshot_id TEXT NOT NULL, partner_id TEXT NOT NULL,"
                " document TEXT NOT NULL, PRIMARY KEY (snapshot_id, partner_id))"
            )
            for statement in _immutability(db):
                cursor.execute(statement)

    def take(self, t: Tables, position: int, label: str | None, still_at: Callable[[], bool] = lambda: True) -> Snapshot | None:
        """Freeze the read models, which are at ``position``; None (and nothing stored)
        if ``still_at`` says they moved on while being read."""
        digest, rows = content_hash(partner_documents(self.db, t))
        if not still_at():
            return None
        snapshot = Snapshot(uuid.uuid4().hex[:16], label, position, datetime.now(UTC).isoformat(), digest)
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"INSERT INTO {SNAPSHOTS} VALUES (%s, %s, %s, %s, %s)",
                (snapshot.snapshot_id, label, position, snapshot.taken_at, digest),
            )
            cursor.executemany(
                f"INSERT INTO {ROWS} VALUES (%s, %s, %s)", [(snapshot.snapshot_id, p, d) for p, d in rows]
            )
        return snapshot

    def list(self) -> list[Snapshot]:
        with self.db.connect() as conn, self.db.reading(conn) as cursor:
            cursor.execute(f"SELECT snapshot_id, label, position, taken_at, hash FROM {SNAPSHOTS} ORDER BY position, taken_at")
            return [Snapshot(r[0], r[1], int(r[2]), r[3], r[4]) for r in cursor.fetchall()]

    def get(self, snapshot_id: str) -> Snapshot | None:
        return next((s for s in self.list() if s.snapshot_id == snapshot_id), None)

    def documents(self, snapshot_id: str, partner_id: str | None = None) -> Iterator[dict[str, Any]]:
        where, params = "snapshot_id = %s", [snapshot_id]
        if partner_id is not None:
            where, params = where + " AND partner_id = %s", [snapshot_id, partner_id]
        for row in scan(self.db, ROWS, ("snapshot_id", "partner_id"), where, tuple(params)):
            yield json.loads(row[-1])


def _immutability(db: Database) -> list[str]:
    if not db.is_postgres:
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            for table in (SNAPSHOTS, ROWS) for op in ("UPDATE", "DELETE")
        ]
    return [
        "CREATE OR REPLACE FUNCTION ledger_snapshot_immutable() RETURNS trigger LANGUAGE plpgsql "
        f"AS $$ BEGIN RAISE EXCEPTION '{_REFUSE}: % refused', TG_OP; END $$",
        *(
            f"CREATE OR REPLACE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION ledger_snapshot_immutable()"
            for table in (SNAPSHOTS, ROWS)
        ),
    ]
