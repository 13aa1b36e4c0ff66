"""Keeps read models up to date from the event log, exactly once.

Each batch of notifications is applied to every view and the views' tracking
positions are written in the same transaction, so a crash at any point resumes from
the last committed position with nothing lost and nothing counted twice. The same
runner, given a table prefix, rebuilds the views into a scratch area for replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import structlog

from adapters.database import Database, schema_fingerprint
from adapters.event_store import EventStore, Row
from ledger.aggregate import Envelope
from projections.columns import ts
from projections.record import Record, from_envelope, from_stored

log = structlog.get_logger(__name__)

BATCH_SIZE = 2000
REBUILD_BATCH = 20_000
Item = tuple[int, str, Envelope | Row]  # (position, topic, the event decoded or as stored)


class View:
    """A read model: its tables, how one event changes them, and (for views that
    buffer rows to write a batch at once) ``flush`` and ``discard``."""

    name: str
    TABLES: tuple[str, ...] = ()
    # The event topics this view reads (None: every topic). Events no view reads are
    # not even decoded.
    TOPICS: frozenset[str] | None = None

    def wants(self, topic: str) -> bool:
        return self.TOPICS is None or topic in self.TOPICS

    def ddl(self, t: Tables) -> list[str]:
        raise NotImplementedError

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        """Fold one event (``record``, at log ``position``) into what the view writes."""
        raise NotImplementedError

    def flush(self, cursor: Any, t: Tables) -> None:
        """Write whatever ``handle`` buffered; called before the batch commits."""

    def discard(self) -> None:
        """Drop what was buffered for a batch that rolled back."""


class Tables:
    """Table names under a prefix: live views use ``proj_``, replays a scratch one."""

    def __init__(self, prefix: str = "proj_") -> None:
        self.prefix = prefix

    def __getattr__(self, name: str) -> str:
        return f"{self.prefix}{name}"


class ProjectionRunner:
    def __init__(
        self, db: Database, store: EventStore, views: Sequence[View], prefix: str = "proj_", *, disposable: bool = False,
    ) -> None:
        """``disposable``: the tables are a scratch copy (replay's), rebuilt rather than
        recovered after a crash."""
        self.db, self.store, self.views, self.disposable = db, store, list(views), disposable
        self.t = Tables(prefix)
        self._ready = False
        self._readers: dict[str, list[View]] = {}  # per topic, the views that read it

    def setup(self, *, indexes: bool = True) -> None:
        """Create the views' tables (and, unless ``indexes`` is false, their secondary
        indexes: a rebuild from event zero appends faster without them and builds them
        once at the end with ``create_indexes``)."""
        if self._ready:
            return
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.t.tracking} (view TEXT PRIMARY KEY, position BIGINT NOT NULL)",
            *(statement for view in self.views for statement in view.ddl(self.t)
              if indexes or not statement.startswith("CREATE INDEX")),
        ]
        if self.disposable and self.db.is_postgres:  # a scratch copy: PostgreSQL need not log its writes
            statements = [s.replace("CREATE TABLE", "CREATE UNLOGGED TABLE", 1) for s in statements]
        fingerprint = schema_fingerprint([*statements, *(view.name for view in self.views)])
        if not self.db.schema_is_current(self._schema_part, fingerprint, self.t.tracking):
            with self.db.schema_change() as cursor:
                for statement in statements:
                    cursor.execute(statement)
                cursor.executemany(
                    f"INSERT INTO {self.t.tracking} (view, position) VALUES (%s, 0) ON CONFLICT (view) DO NOTHING",
                    [(view.name,) for view in self.views],
                )
                self.db.record_schema(cursor, self._schema_part, fingerprint)
        self._ready = True

    def create_indexes(self) -> None:
        """The secondary indexes a ``setup(indexes=False)`` left out."""
        self._ready = False
        self.setup()

    @property
    def _schema_part(self) -> str:
        return f"read models {self.t.prefix}"

    def positions(self) -> dict[str, int]:
        self.setup()
        with self.db.connect() as conn, self.db.reading(conn) as cursor:
            cursor.execute(f"SELECT view, position FROM {self.t.tracking}")
            return {row[0]: int(row[1]) for row in cursor.fetchall()}

    def catch_up(
        self, *, stop: int | None = None, known_at: datetime | None = None, batch_size: int = BATCH_SIZE,
        max_batches: int | None = None, recent: Sequence[tuple[int, Envelope]] = (),
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Apply every notification after each view's position (up to ``stop``, and only
        events recorded by ``known_at``); returns how many were applied. ``recent``:
        events a writer just committed; when the views are right behind them they are
        applied as they are, not read back from the log and decoded again."""
        self.setup()
        applied = batches = 0
        pending = list(recent)
        position = min(self.positions().values()) if not pending else 0
        with self.db.connect() as conn:
            while max_batches is None or batches < max_batches:
                if not pending and self._caught_up(position, stop):
                    break  # nothing to apply: no write transaction, no lock taken
                with self._undo_on_failure(), self.db.transaction(conn) as cursor:
                    positions = self._lock_positions(cursor)
                    position = min(positions[view.name] for view in self.views)
                    if pending and pending[0][0] == position + 1:
                        items: list[Item] = [(p, e.payload.TOPIC, e) for p, e in pending]
                    else:
                        items = [(row[0], row[3], row) for row in self.store.page(position, batch_size, stop)]
                    pending = []
                    if not items:
                        break
                    applied += self._apply(cursor, positions, items, known_at)
                    position = items[-1][0]
                batches += 1
                if progress:
                    progress(len(items))
        if applied:
            log.debug("projections_caught_up", applied=applied, position=position)
        return applied

    def _caught_up(self, position: int, stop: int | None) -> bool:
        """Whether the views, at ``position`` or past it, have nothing left to read."""
        return (stop is not None and position >= stop) or position >= self.store.max_position()

    def rebuild(
        self, *, stop: int | None = None, known_at: datetime | None = None, batch_size: int = REBUILD_BATCH,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Catch up from the log read in order in large chunks (a server-side cursor),
        ``batch_size`` events per transaction: replay's way, at the speed of a scan."""
        self.setup()
        applied = 0
        batch: list[Item] = []
        with self.db.connect() as conn:
            for row in self.store.rows(min(self.positions().values()), stop):
                batch.append((row[0], row[3], row))
                if len(batch) >= batch_size:
                    applied += self._commit(conn, batch, known_at)
                    if progress:
                        progress(len(batch))
                    batch = []
            if batch:
                applied += self._commit(conn, batch, known_at)
                if progress:
                    progress(len(batch))
        return applied

    def _commit(self, conn: Any, items: list[Item], known_at: datetime | None) -> int:
        with self._undo_on_failure(), self.db.transaction(conn) as cursor:
            return self._apply(cursor, self._lock_positions(cursor), items, known_at)

    @contextmanager
    def _undo_on_failure(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            for view in self.views:
                view.discard()
            raise

    def _lock_positions(self, cursor: Any) -> dict[str, int]:
        # Lock the tracking rows: a second runner waits, then sees our positions,
        # so two workers never apply the same event twice. In one order (a scan's order
        # changes as the rows are updated): three runners locking them in two orders
        # can deadlock.
        lock = " ORDER BY view FOR UPDATE" if self.db.is_postgres else ""
        cursor.execute(f"SELECT view, position FROM {self.t.tracking}{lock}")
        return {row[0]: int(row[1]) for row in cursor.fetchall()}

    def _apply(self, cursor: Any, positions: dict[str, int], items: list[Item], known_at: datetime | None) -> int:
        """Apply ``items`` (in log order) to the views that have not seen them, write
        what the views buffered, and move their positions; returns events applied."""
        applied = 0
        level = max(positions[view.name] for view in self.views)  # past it, every view reads
        known = ts(known_at) if known_at is not None else None
        for position, topic, event in items:
            if position > level:
                readers = self._readers_of(topic)
            else:  # a view added later is catching up alone
                readers = [v for v in self.views if position > positions[v.name] and v.wants(topic)]
            if not readers:
                applied += 1
                continue
            record = from_envelope(position, event) if isinstance(event, Envelope) else from_stored(event)
            if known is not None and record.recorded_at > known:
                continue
            for view in readers:
                view.handle(cursor, self.t, record, position)
            applied += 1
        for view in self.views:
            view.flush(cursor, self.t)
        last = items[-1][0]
        cursor.executemany(
            f"UPDATE {self.t.tracking} SET position = %s WHERE view = %s",
            [(max(positions[view.name], last), view.name) for view in self.views],
        )
        return applied

    def _readers_of(self, topic: str) -> list[View]:
        readers = self._readers.get(topic)
        if readers is None:
            readers = self._readers[topic] = [view for view in self.views if view.wants(topic)]
        return readers

    def drop(self) -> None:
        with self.db.schema_change() as cursor:
            for view in self.views:
                for table in getattr(view, "TABLES", ()):
                    cursor.execute(f"DROP TABLE IF EXISTS {getattr(self.t, table)}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.t.tracking}")
            self.db.record_schema(cursor, self._schema_part, None)
        self._ready = False
