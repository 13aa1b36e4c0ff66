"""Replay: rebuild every read model from event zero into a scratch area and, with
``verify``, prove the live read models, every issued statement and every snapshot
are exactly what the log implies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog

from adapters.database import Database
from adapters.event_store import EventStore, decode
from events.statement import StatementIssued
from projections.catalog import TABLE_KEYS, live_views
from projections.columns import from_minor
from projections.money import COMMISSION_SIGN, PAID
from projections.runner import ProjectionRunner, Tables
from replay.snapshots import SnapshotStore, content_hash, partner_documents
from replay.tablescan import scan

log = structlog.get_logger(__name__)

SCRATCH = "replay_"
MAX_REPORTED = 50


@dataclass
class ReplayReport:
    events: int
    position: int
    differences: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "position": self.position, "checked": self.checked,
                "differences": self.differences[:MAX_REPORTED], "difference_count": len(self.differences)}


def replay(
    db: Database, store: EventStore, live: ProjectionRunner, snapshots: SnapshotStore, *,
    known_at: datetime | None = None, verify: bool = False,
) -> ReplayReport:
    live.catch_up()
    target = min(live.positions().values())
    scratch = ProjectionRunner(db, store, live_views(), prefix=SCRATCH)
    scratch.drop()
    scratch.setup()
    report = ReplayReport(events=0, position=target)
    if verify and known_at is None:
        for snapshot in (s for s in snapshots.list() if s.position <= target):
            report.events += scratch.rebuild(stop=snapshot.position)
            report.differences += _diff_snapshot(db, scratch.t, snapshots, snapshot.snapshot_id, snapshot.hash)
            report.checked["snapshots"] = report.checked.get("snapshots", 0) + 1
    report.events += scratch.rebuild(stop=target, known_at=known_at)
    if verify:
        if known_at is None:
            for table, keys in TABLE_KEYS.items():
                found = _diff_table(db, getattr(live.t, table), getattr(scratch.t, table), keys)
                report.differences += found
                report.checked[f"{table}_tables"] = 1
            moved = min(live.positions().values())
            if moved != target:  # a writer's catch-up ran meanwhile: the diff proves nothing
                report.differences.insert(0, f"live read models moved from position {target} to {moved} during"
                                             " verification: run it again while no writer is catching up")
        statements = _verify_statements(db, store, scratch.t, target, known_at)
        report.checked["statements"] = next(statements)
        report.differences += list(statements)
    log.info("replay_done", events=report.events, differences=len(report.differences))
    return report


def _diff_table(db: Database, live: str, rebuilt: str, keys: tuple[str, ...]) -> list[str]:
    """Merge two key-ordered streams; report rows missing, extra or different."""
    differences: list[str] = []
    live_rows, rebuilt_rows = scan(db, live, keys), scan(db, rebuilt, keys)
    a, b = next(live_rows, None), next(rebuilt_rows, None)
    width = len(keys)
    while (a is not None or b is not None) and len(differences) < MAX_REPORTED:
        key_a = a[:width] if a is not None else None
        key_b = b[:width] if b is not None else None
        if key_b is None or (key_a is not None and _key(key_a) < _key(key_b)):
            differences.append(f"{live} {key_a}: in the live read model but not implied by the log")
            a = next(live_rows, None)
        elif key_a is None or _key(key_b) < _key(key_a):
            differences.append(f"{live} {key_b}: implied by the log but missing from the live read model")
            b = next(rebuilt_rows, None)
        else:
            assert a is not None and b is not None
            if _normal(a) != _normal(b):
                differences.append(f"{live} {key_a}: live {_normal(a)[width:]} != replayed {_normal(b)[width:]}")
            a, b = next(live_rows, None), next(rebuilt_rows, None)
    return differences


def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(int(k) if isinstance(k, int | Decimal) else k for k in key)


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(int(v) if isinstance(v, Decimal) else v for v in row)


def _verify_statements(db: Database, store: EventStore, t: Tables, stop: int, known_at: datetime | None) -> Iterator[Any]:
    """First yields how many statements were checked, then each difference found."""
    issued = list(_issued_statements(store, stop, known_at))
    yield len(issued)
    previous: dict[tuple[str, str], tuple[int, Decimal]] = {}
    with db.connect() as conn, db.transaction(conn) as cursor:
        for position, statement in issued:
            name = statement.statement_id
            total = sum((line.amount for line in statement.lines), Decimal(0))
            if statement.opening + total != statement.closing:
                yield f"statement {name}: opening {statement.opening} + lines {total} != closing {statement.closing}"
            cursor.execute(
                f"SELECT position, seq, bucket, amount_minor FROM {t.lines} WHERE statement_id = %s ORDER BY position, seq",
                (name,),
            )
            journal = {f"{int(p)}:{int(s)}": from_minor(u, statement.currency) * COMMISSION_SIGN[b] for p, s, b, u in cursor.fetchall()}
            stated = {line.line_key: line.amount for line in statement.lines}
            if journal != stated:
                yield f"statement {name}: its lines {sorted(stated.items())} != journal {sorted(journal.items())}"
            account = (statement.partner_id, statement.currency)
            before_position, before_closing = previous.get(account, (0, Decimal(0)))
            cursor.execute(
                f"SELECT COALESCE(SUM(amount_minor), 0) FROM {t.lines} WHERE partner_id = %s AND currency = %s"
                f" AND bucket = '{PAID}' AND position > %s AND position < %s",
                (*account, before_position, position),
            )
            paid = from_minor(cursor.fetchone()[0], statement.currency)
            if statement.opening != before_closing - paid:
                yield f"statement {name}: opening {statement.opening} != previous closing {before_closing} less payouts {paid}"
            previous[account] = (position, statement.closing)


def _issued_statements(store: EventStore, stop: int, known_at: datetime | None) -> Iterator[tuple[int, StatementIssued]]:
    after = 0
    while True:
        batch = store.recorder.select_notifications(
            start=after, limit=2000, stop=stop, topics=[StatementIssued.TOPIC], inclusive_of_start=False
        )
        if not batch:
            return
        for notification in batch:
            envelope = decode(notification)
            assert isinstance(envelope.payload, StatementIssued)
            if known_at is None or envelope.recorded_at <= known_at:
                yield notification.id, envelope.payload
        after = batch[-1].id


def _diff_snapshot(db: Database, t: Tables, snapshots: SnapshotStore, snapshot_id: str, expected: str) -> list[str]:
    digest, rows = content_hash(partner_documents(db, t))
    if digest == expected:
        return []
    differences = [f"snapshot {snapshot_id}: hash {expected} but the log implies {digest}"]
    rebuilt = dict(rows)
    frozen = {d["partner_id"]: d for d in snapshots.documents(snapshot_id)}
    for partner, (old, new) in sorted(
        (p, (frozen.get(p), json.loads(rebuilt[p]) if p in rebuilt else None)) for p in set(frozen) | set(rebuilt)
    ):
        if old != new:
            differences.append(f"snapshot {snapshot_id} partner {partner}: frozen {old} != replayed {new}")
    return differences[:MAX_REPORTED]


__all__ = ["ReplayReport", "replay"]
