"""The outbox: messages derived from the event log (or put in directly, like a sign-in
link asked for on a page), each stored once, then delivered by a worker, outside any
command's transaction.

Two tables beside the log:

- ``ledger_outbox_tracking``: per consumer (``mail``, ``webhooks``...), the log position
  up to which its messages are derived. Messages of a batch of events and the new
  position are written in one transaction, so a crash loses none and a restart derives
  none twice (and two workers deriving at once insert each message once: its key is
  the table's primary key).
- ``ledger_outbox``: one row per (consumer, message key), its state (``pending``,
  ``sent``, ``failed``: given up after the last attempt, ``skipped``: not to be sent),
  attempts, when it may next be tried, the worker's lease while it delivers it, and a
  sealed secret (an invite link) kept only until it is sent.

Delivery is at least once: a row is marked sent only after the far side accepted it, so a
crash between the two sends it again once its lease runs out; senders make a repeat
harmless (a mail's Message-ID, a webhook's event id, are the message key).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from adapters.database import Database
from adapters.event_store import EventStore, decode
from ledger.outbox import Derive, Message, Stored

OUTBOX_TABLE = "ledger_outbox"
TRACKING_TABLE = "ledger_outbox_tracking"
State = Literal["pending", "sent", "failed", "skipped"]
STATES: tuple[State, ...] = ("pending", "sent", "failed", "skipped")

_DDL = [
    f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (consumer TEXT PRIMARY KEY, position BIGINT NOT NULL)",
    f"CREATE TABLE IF NOT EXISTS {OUTBOX_TABLE} ("
    " consumer TEXT NOT NULL, message_key TEXT NOT NULL, kind TEXT NOT NULL, recipient TEXT NOT NULL,"
    " data TEXT NOT NULL, position BIGINT NOT NULL, created_at TEXT NOT NULL, state TEXT NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, lease_until TEXT, last_error TEXT,"
    " sent_at TEXT, secret TEXT, PRIMARY KEY (consumer, message_key))",
    f"CREATE INDEX IF NOT EXISTS {OUTBOX_TABLE}_due ON {OUTBOX_TABLE} (consumer, state, next_attempt_at)",
    f"CREATE INDEX IF NOT EXISTS {OUTBOX_TABLE}_recipient ON {OUTBOX_TABLE} (consumer, kind, recipient, created_at)",
]
_COLUMNS = "consumer, message_key, kind, recipient, data, attempts, secret"


def moment(at: datetime) -> str:
    """Times as fixed-width UTC text: they compare as they sort, on both databases."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Outbox:
    def __init__(self, db: Database, store: EventStore) -> None:
        self.db, self.store = db, store
        self._registered: set[str] = set()
        db.apply_schema("outbox", _DDL, OUTBOX_TABLE)

    # -- the tracked position -----------------------------------------------------------

    def register(self, consumer: str, *, from_head: bool = False) -> None:
        """Start tracking ``consumer`` (nothing if it is tracked already): from the first
        event, or from the log's head (what happened before is not sent)."""
        if consumer in self._registered:
            return
        start = self.store.max_position() if from_head else 0
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"INSERT INTO {TRACKING_TABLE} (consumer, position) VALUES (%s, %s) ON CONFLICT (consumer) DO NOTHING",
                (consumer, start),
            )
        self._registered.add(consumer)

    def position(self, consumer: str) -> int:
        rows = self.db.fetch_all(f"SELECT position FROM {TRACKING_TABLE} WHERE consumer = %s", (consumer,))
        return int(rows[0][0]) if rows else 0

    def skip_to_head(self, consumer: str) -> int:
        """Derive nothing from what the log holds now (a demo's history); the head."""
        head = self.store.max_position()
        self.register(consumer)
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(f"UPDATE {TRACKING_TABLE} SET position = %s WHERE consumer = %s AND position < %s",
                           (head, consumer, head))
        return head

    def derive(self, consumer: str, derive: Derive, topics: frozenset[str] | None = None, *,
               batch_size: int = 1000, now: datetime | None = None) -> int:
        """Store the messages of every event after ``consumer``'s position (``topics``: the
        only events it reads; others are not even decoded), a batch per transaction;
        returns the messages stored."""
        self.register(consumer)
        stored = 0
        while True:
            position = self.position(consumer)
            notifications = self.store.notifications(position, batch_size)
            if not notifications:
                return stored
            rows = []
            for notification in notifications:
                if topics is not None and notification.topic not in topics:
                    continue
                envelope = decode(notification)
                rows += [(message, envelope.event_id, notification.id) for message in derive(envelope)]
            stored += self._store(consumer, position, notifications[-1].id, rows, now or datetime.now(UTC))

    def _store(self, consumer: str, seen: int, last: int, rows: Sequence[tuple[Message, Any, int]], now: datetime) -> int:
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(f"UPDATE {TRACKING_TABLE} SET position = %s WHERE consumer = %s AND position = %s"
                           " RETURNING consumer", (last, consumer, seen))
            if cursor.fetchone() is None:
                return 0  # another worker derived this batch first
            for message, event_id, position in rows:
                self._insert(cursor, consumer, message.key(event_id), message, position, now)
        return len(rows)

    # -- putting a message in directly ----------------------------------------------------

    def enqueue(self, consumer: str, key: str, message: Message, *, secret: str | None = None,
                now: datetime | None = None) -> bool:
        """A message not derived from an event (a sign-in link); False if the key is taken."""
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            return self._insert(cursor, consumer, key, message, 0, now or datetime.now(UTC), secret)

    def _insert(self, cursor: Any, consumer: str, key: str, message: Message, position: int, now: datetime,
                secret: str | None = None) -> bool:
        cursor.execute(
            f"INSERT INTO {OUTBOX_TABLE} (consumer, message_key, kind, recipient, data, position, created_at, state,"
            " next_attempt_at, secret) VALUES (%s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)"
            " ON CONFLICT (consumer, message_key) DO NOTHING RETURNING message_key",
            (consumer, key, message.kind, message.recipient, json.dumps(dict(message.data), sort_keys=True), position,
             moment(now), moment(now), secret),
        )
        return cursor.fetchone() is not None

    def sent_recently(self, consumer: str, kind: str, recipient: str, since: datetime) -> int:
        """How many ``kind`` messages to ``recipient`` were put in since then (a rate limit)."""
        rows = self.db.fetch_all(
            f"SELECT COUNT(*) FROM {OUTBOX_TABLE} WHERE consumer = %s AND kind = %s AND recipient = %s AND created_at >= %s",
            (consumer, kind, recipient, moment(since)),
        )
        return int(rows[0][0])

    # -- delivering -----------------------------------------------------------------------

    def claim(self, consumer: str, *, limit: int, lease: timedelta, now: datetime | None = None) -> list[Stored]:
        """Pending messages due by ``now`` that no other worker holds, leased to the caller
        for ``lease`` (a worker that dies holding one lets it go when the lease ends); each
        claim counts as an attempt."""
        now = now or datetime.now(UTC)
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.db.is_postgres else ""
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"SELECT message_key FROM {OUTBOX_TABLE} WHERE consumer = %s AND state = 'pending' AND next_attempt_at <= %s"
                " AND (lease_until IS NULL OR lease_until <= %s) ORDER BY next_attempt_at, position, message_key"
                f" LIMIT %s{skip_locked}",
                (consumer, moment(now), moment(now), limit),
            )
            keys = [row[0] for row in cursor.fetchall()]
            if not keys:
                return []
            marks = ", ".join("%s" for _ in keys)
            cursor.execute(
                f"UPDATE {OUTBOX_TABLE} SET lease_until = %s, attempts = attempts + 1"
                f" WHERE consumer = %s AND message_key IN ({marks})",
                (moment(now + lease), consumer, *keys),
            )
            cursor.execute(f"SELECT {_COLUMNS} FROM {OUTBOX_TABLE} WHERE consumer = %s AND message_key IN ({marks})",
                           (consumer, *keys))
            rows = {row[1]: row for row in cursor.fetchall()}
        return [Stored(r[0], r[1], r[2], r[3], json.loads(r[4]), int(r[5]), r[6]) for r in (rows[k] for k in keys)]

    def keep_secret(self, message: Stored, secret: str) -> None:
        """A sealed secret a message carries until it is sent (the same one on a retry)."""
        self._update(message, "secret = %s", (secret,))

    def mark_sent(self, message: Stored, now: datetime | None = None) -> None:
        self._update(message, "state = 'sent', sent_at = %s, lease_until = NULL, last_error = NULL, secret = NULL",
                     (moment(now or datetime.now(UTC)),))

    def retry_at(self, message: Stored, at: datetime, error: str) -> None:
        self._update(message, "next_attempt_at = %s, lease_until = NULL, last_error = %s", (moment(at), error[:500]))

    def give_up(self, message: Stored, state: Literal["failed", "skipped"], reason: str) -> None:
        self._update(message, "state = %s, lease_until = NULL, last_error = %s, secret = NULL", (state, reason[:500]))

    def _update(self, message: Stored, assignments: str, params: tuple[Any, ...]) -> None:
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(f"UPDATE {OUTBOX_TABLE} SET {assignments} WHERE consumer = %s AND message_key = %s",
                           (*params, message.consumer, message.key))

    # -- looking -------------------------------------------------------------------------

    def summary(self, consumer: str) -> dict[str, int]:
        """Messages per state (every state named, 0 when none), and the tracked position."""
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        for state, count in self.db.fetch_all(
            f"SELECT state, COUNT(*) FROM {OUTBOX_TABLE} WHERE consumer = %s GROUP BY state", (consumer,)
        ):
            counts[state] = int(count)
        return {**counts, "position": self.position(consumer)}

    def messages(self, consumer: str, state: State | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest messages (never their secrets), newest first."""
        where, params = ("AND state = %s", (consumer, state, limit)) if state else ("", (consumer, limit))
        rows = self.db.fetch_all(
            f"SELECT message_key, kind, recipient, state, attempts, created_at, next_attempt_at, sent_at, last_error"
            f" FROM {OUTBOX_TABLE} WHERE consumer = %s {where} ORDER BY created_at DESC, message_key LIMIT %s", params,
        )
        names = ("key", "kind", "recipient", "state", "attempts", "created_at", "next_attempt_at", "sent_at", "last_error")
        return [dict(zip(names, row, strict=True)) for row in rows]
