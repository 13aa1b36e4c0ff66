"""Replay: rebuild every read model from event zero into a scratch area and, with
``verify``, prove the live read models, every issued statement and every snapshot
are exactly what the log implies."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
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
from replay.tablescan import scan, table_columns

log = structlog.get_logger(__name__)

SCRATCH = "replay_"
MAX_REPORTED = 50


@dataclass(frozen=True)
class Difference:
    """One thing the live side says that the log does not imply: whose figure, which
    field, the live value and the rebuilt one (money in currency units), and where."""

    where: str  # the table and row key, the statement or the snapshot
    message: str
    partner_id: str | None = None
    field: str | None = None
    live: str | None = None
    rebuilt: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"partner_id": self.partner_id, "field": self.field, "live": self.live, "rebuilt": self.rebuilt,
                "where": self.where, "message": self.message}


@dataclass
class ReplayReport:
    events: int
    position: int
    differences: list[Difference] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "events": self.events, "position": self.position, "checked": self.checked,
                "differences": [d.as_dict() for d in self.differences[:MAX_REPORTED]],
                "difference_count": len(self.differences)}


def replay(
    db: Database, store: EventStore, live: ProjectionRunner, snapshots: SnapshotStore, *,
    known_at: datetime | None = None, verify: bool = False, progress: Callable[[int], None] | None = None,
) -> ReplayReport:
    """``progress(n)`` hears of every ``n`` log positions rebuilt (towards ``position``)."""
    live.catch_up()
    target = min(live.positions().values())
    scratch = ProjectionRunner(db, store, live_views(), prefix=SCRATCH, disposable=True)
    scratch.drop()
    scratch.setup(indexes=False)
    report = ReplayReport(events=0, position=target)
    if verify and known_at is None:
        for snapshot in (s for s in snapshots.list() if s.position <= target):
            report.events += scratch.rebuild(stop=snapshot.position, progress=progress)
            report.differences += _diff_snapshot(db, scratch.t, snapshots, snapshot.snapshot_id, snapshot.hash)
            report.checked["snapshots"] = report.checked.get("snapshots", 0) + 1
    report.events += scratch.rebuild(stop=target, known_at=known_at, progress=progress)
    if verify:
        # The checks read the rebuilt tables by partner and by statement. A replay that
        # does not verify leaves them with their primary keys only: nothing else reads
        # them, and the secondary indexes were 6 to 9 % of its time on the bench's S.
        scratch.create_indexes()
        if known_at is None:
            for table, keys in TABLE_KEYS.items():
                found = _diff_table(db, getattr(live.t, table), getattr(scratch.t, table), keys)
                report.differences += found
                report.checked[f"{table}_tables"] = 1
            moved = min(live.positions().values())
            if moved != target:  # a writer's catch-up ran meanwhile: the diff proves nothing
                report.differences.insert(0, Difference(
                    "read models", f"live read models moved from position {target} to {moved} during"
                    " verification: run it again while no writer is catching up"))
        statements = _verify_statements(db, store, scratch.t, target, known_at)
        report.checked["statements"] = next(statements)
        report.differences += list(statements)
    log.info("replay_done", events=report.events, differences=len(report.differences))
    return report


def _diff_table(db: Database, live: str, rebuilt: str, keys: tuple[str, ...]) -> list[Difference]:
    """Merge two key-ordered streams; report rows missing, extra or different (each
    differing column on its own, money in currency units)."""
    differences: list[Difference] = []
    columns = (*keys, *table_columns(db, live))
    live_rows, rebuilt_rows = scan(db, live, keys), scan(db, rebuilt, keys)
    a, b = next(live_rows, None), next(rebuilt_rows, None)
    width = len(keys)
    while (a is not None or b is not None) and len(differences) < MAX_REPORTED:
        key_a = a[:width] if a is not None else None
        key_b = b[:width] if b is not None else None
        if key_b is None or (key_a is not None and _key(key_a) < _key(key_b)):
            assert a is not None
            differences.append(_row_difference(live, columns, keys, a, None, "in the live read model but not implied by the log"))
            a = next(live_rows, None)
        elif key_a is None or _key(key_b) < _key(key_a):
            assert b is not None
            differences.append(_row_difference(live, columns, keys, None, b, "implied by the log but missing from the live read model"))
            b = next(rebuilt_rows, None)
        else:
            assert a is not None and b is not None
            if a != b:  # most rows are equal as read: compare their columns only when not
                differences += _column_differences(live, columns, width, a, b)
            a, b = next(live_rows, None), next(rebuilt_rows, None)
    return differences


def _row_difference(table: str, columns: tuple[str, ...], keys: tuple[str, ...], live: tuple[Any, ...] | None,
                    rebuilt: tuple[Any, ...] | None, message: str) -> Difference:
    row = dict(zip(columns, live or rebuilt or (), strict=True))
    shown = _shown_row(row)
    return Difference(f"{table} {_where(row, keys)}", message, row.get("partner_id"), None,
                      shown if live is not None else None, shown if rebuilt is not None else None)


def _column_differences(table: str, columns: tuple[str, ...], width: int, live: tuple[Any, ...],
                        rebuilt: tuple[Any, ...]) -> list[Difference]:
    live_row, rebuilt_row = dict(zip(columns, live, strict=True)), dict(zip(columns, rebuilt, strict=True))
    return [
        Difference(f"{table} {_where(live_row, columns[:width])}", "the live value differs from the one the log implies",
                   live_row.get("partner_id"), _field_name(column), _shown(live_row, column), _shown(rebuilt_row, column))
        for column in columns[width:]
        if _normal((live_row[column],)) != _normal((rebuilt_row[column],))
        and _semantic((live_row[column],)) != _semantic((rebuilt_row[column],))
    ]


def _field_name(column: str) -> str:
    return column.removesuffix("_minor")


def _shown(row: dict[str, Any], column: str) -> str | None:
    """A column's value as people read it: minor units become currency units."""
    value = row[column]
    if value is None:
        return None
    if column.endswith("_minor") and row.get("currency"):
        return str(from_minor(value, row["currency"]))
    return str(value)


def _shown_row(row: dict[str, Any]) -> str:
    return ", ".join(f"{_field_name(c)}={_shown(row, c)}" for c in row if c not in ("document", "details"))


def _where(row: dict[str, Any], keys: tuple[str, ...]) -> str:
    return ", ".join(f"{k}={row[k]}" for k in keys)


def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(int(k) if isinstance(k, int | Decimal) else k for k in key)


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(int(v) if isinstance(v, Decimal) else v for v in row)


def _semantic(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A row with its JSON documents parsed: a read model written by an older version
    may have serialised the same document with other spacing."""
    return tuple(_parsed(v) for v in _normal(row))


def _parsed(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return _without_nulls(json.loads(value))
        except ValueError:
            return value
    return value


def _without_nulls(value: Any) -> Any:
    """A document without its empty fields: a field an event type gained later (with
    no value in events recorded before) says nothing, whether a read model written
    by an older version shows it or not."""
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _verify_statements(db: Database, store: EventStore, t: Tables, stop: int, known_at: datetime | None) -> Iterator[Any]:
    """First yields how many statements were checked, then each difference found."""
    issued = list(_issued_statements(store, stop, known_at))
    yield len(issued)
    previous: dict[tuple[str, str], tuple[int, Decimal]] = {}
    with db.connect() as conn, db.transaction(conn) as cursor:
        # Each statement's lines are read by statement: an index on the rebuilt
        # journal only (the live one is never read so).
        cursor.execute(f"CREATE INDEX IF NOT EXISTS {t.lines}_statement ON {t.lines} (statement_id)")
        for position, statement in issued:
            name = statement.statement_id
            total = sum((line.amount for line in statement.lines), Decimal(0))
            where, partner = f"statement {name}", statement.partner_id
            if statement.opening + total != statement.closing:
                yield Difference(where, "opening plus lines is not the closing balance", partner, "closing",
                                 str(statement.closing), str(statement.opening + total))
            cursor.execute(
                f"SELECT position, seq, bucket, amount_minor FROM {t.lines} WHERE statement_id = %s ORDER BY position, seq",
                (name,),
            )
            journal = {f"{int(p)}:{int(s)}": from_minor(u, statement.currency) * COMMISSION_SIGN[b] for p, s, b, u in cursor.fetchall()}
            stated = {line.line_key: line.amount for line in statement.lines}
            if journal != stated:
                yield Difference(where, "the statement's lines are not the journal's lines", partner, "lines",
                                 _lines_text(stated), _lines_text(journal))
            account = (statement.partner_id, statement.currency)
            before_position, before_closing = previous.get(account, (0, Decimal(0)))
            cursor.execute(
                f"SELECT COALESCE(SUM(amount_minor), 0) FROM {t.lines} WHERE partner_id = %s AND currency = %s"
                f" AND bucket = '{PAID}' AND position > %s AND position < %s",
                (*account, before_position, position),
            )
            paid = from_minor(cursor.fetchone()[0], statement.currency)
            if statement.opening != before_closing - paid:
                yield Difference(where, f"opening is not the previous closing {before_closing} less payouts {paid}",
                                 partner, "opening", str(statement.opening), str(before_closing - paid))
            previous[account] = (position, statement.closing)


def _lines_text(lines: dict[str, Decimal]) -> str:
    return ", ".join(f"{key} {amount}" for key, amount in sorted(lines.items())) or "none"


def _issued_statements(store: EventStore, stop: int, known_at: datetime | None) -> Iterator[tuple[int, StatementIssued]]:
    after = 0
    while True:
        batch = store.notifications(after, 2000, stop, topics=[StatementIssued.TOPIC])
        if not batch:
            return
        for notification in batch:
            envelope = decode(notification)
            assert isinstance(envelope.payload, StatementIssued)
            if known_at is None or envelope.recorded_at <= known_at:
                yield notification.id, envelope.payload
        after = batch[-1].id


def _diff_snapshot(db: Database, t: Tables, snapshots: SnapshotStore, snapshot_id: str, expected: str) -> list[Difference]:
    digest, rows = content_hash(partner_documents(db, t))
    if digest == expected:
        return []
    where = f"snapshot {snapshot_id}"
    differences = [Difference(where, "the snapshot's hash is not the one the log implies", None, "hash", expected, digest)]
    rebuilt = {partner: _flat(json.loads(document)) for partner, document in rows}
    frozen = {d["partner_id"]: _flat(d) for d in snapshots.documents(snapshot_id)}
    for partner in sorted(set(frozen) | set(rebuilt)):
        old, new = frozen.get(partner, {}), rebuilt.get(partner, {})
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                differences.append(Difference(where, "frozen figure differs from the replayed one", partner, name,
                                              old.get(name), new.get(name)))
    return differences[:MAX_REPORTED]


def _flat(document: Any, prefix: str = "") -> dict[str, str]:
    """A snapshot document as field paths (``currencies.USD.earned``) to values."""
    if isinstance(document, dict):
        return {k: v for key, value in document.items() if key != "partner_id" or prefix
                for k, v in _flat(value, f"{prefix}{key}.").items()}
    if isinstance(document, list):
        return {k: v for i, value in enumerate(document) for k, v in _flat(value, f"{prefix}{i}.").items()}
    return {prefix.rstrip("."): str(document)}


__all__ = ["Difference", "ReplayReport", "replay"]
