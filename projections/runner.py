"""Keeps read models up to date from the event log, exactly once.

Each batch of notifications is applied to every view and the views' tracking
positions are written in the same transaction, so a crash at any point resumes from
the last committed position with nothing lost and nothing counted twice. The same
runner, given a table prefix, rebuilds the views into a scratch area for replay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog

from adapters.database import Database
from adapters.event_store import EventStore, decode
from ledger.aggregate import Envelope

log = structlog.get_logger(__name__)

BATCH_SIZE = 2000


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

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
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
    def __init__(self, db: Database, store: EventStore, views: Sequence[View], prefix: str = "proj_") -> None:
        self.db, self.store, self.views = db, store, list(views)
        self.t = Tables(prefix)
        self._ready = False

    def setup(self) -> None:
        if self._ready:
            return
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.t.tracking} (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"
            )
            for view in self.views:
                for statement in view.ddl(self.t):
                    cursor.execute(statement)
                cursor.execute(
                    f"INSERT INTO {self.t.tracking} (view, position) VALUES (%s, 0) ON CONFLICT (view) DO NOTHING",
                    (view.name,),
                )
        self._ready = True

    def positions(self) -> dict[str, int]:
        self.setup()
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(f"SELECT view, position FROM {self.t.tracking}")
            return {row[0]: int(row[1]) for row in cursor.fetchall()}

    def catch_up(
        self, *, stop: int | None = None, known_at: datetime | None = None, batch_size: int = BATCH_SIZE,
        max_batches: int | None = None,
    ) -> int:
        """Apply every notification after each view's position (up to ``stop``, and only
        events recorded by ``known_at``); returns how many were applied."""
        self.setup()
        applied = batches = position = 0
        with self.db.connect() as conn:
            while max_batches is None or batches < max_batches:
                try:
                    done, position = self._batch(conn, stop, known_at, batch_size)
                except BaseException:
                    for view in self.views:
                        view.discard()
                    raise
                if done is None:
                    break
                applied += done
                batches += 1
        if applied:
            log.debug("projections_caught_up", applied=applied, position=position)
        return applied

    def _batch(self, conn: Any, stop: int | None, known_at: datetime | None, batch_size: int) -> tuple[int | None, int]:
        """One batch in one transaction; (events applied or None when caught up, position)."""
        applied = 0
        with self.db.transaction(conn) as cursor:
            # Lock the tracking rows: a second runner waits, then sees our positions,
            # so two workers never apply the same event twice.
            lock = " FOR UPDATE" if self.db.is_postgres else ""
            cursor.execute(f"SELECT view, position FROM {self.t.tracking}{lock}")
            positions = {row[0]: int(row[1]) for row in cursor.fetchall()}
            position = min(positions[view.name] for view in self.views)
            notifications = self.store.notifications(position, batch_size, stop)
            if not notifications:
                return None, position
            for notification in notifications:
                readers = [v for v in self.views if notification.id > positions[v.name] and v.wants(notification.topic)]
                if not readers:
                    applied += 1
                    continue
                envelope = decode(notification)
                if known_at is not None and envelope.recorded_at > known_at:
                    continue
                for view in readers:
                    view.handle(cursor, self.t, envelope, notification.id)
                applied += 1
            for view in self.views:
                view.flush(cursor, self.t)
            position = notifications[-1].id
            cursor.executemany(
                f"UPDATE {self.t.tracking} SET position = %s WHERE view = %s",
                [(max(positions[view.name], position), view.name) for view in self.views],
            )
        return applied, position

    def drop(self) -> None:
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            for view in self.views:
                for table in getattr(view, "TABLES", ()):
                    cursor.execute(f"DROP TABLE IF EXISTS {getattr(self.t, table)}")
            cursor.execute(f"DROP TABLE IF EXISTS {self.t.tracking}")
        self._ready = False
