"""The event store: the eventsourcing library's Application and recorders with a
catalogue-aware mapper. Every insert also extends the hash chain (``hash_chain``),
validates what a batch only read, and destroys forgotten subjects' keys, all in the
insert's own transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Mapper, Notification, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from adapters.database import Database
from adapters.hash_chain import CHAIN_TABLE, seal
from adapters.schema import create_chain_table, create_log_guards
from adapters.vault import KEYS_TABLE
from events.base import EventMeta, event_class_for_topic
from ledger.aggregate import A, Envelope


def _chunks(items: Sequence[UUID], size: int = 500) -> list[Sequence[UUID]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class EnvelopeMapper(Mapper):  # type: ignore[type-arg]
    """Stores an envelope as JSON under its payload's registered topic, and runs the
    payload's upcasters on the way back (the library's own pydantic example does not)."""

    def __init__(self) -> None:
        super().__init__(transcoder=JSONTranscoder())

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        envelope: Envelope = domain_event
        payload = envelope.payload
        state = {
            "schema_version": payload.SCHEMA_VERSION,
            "recorded_at": envelope.timestamp.isoformat(),
            "meta": envelope.meta.model_dump(mode="json"),
            "payload": payload.model_dump(mode="json"),
        }
        return StoredEvent(
            originator_id=envelope.originator_id,
            originator_version=envelope.originator_version,
            topic=payload.TOPIC,
            state=json.dumps(state, separators=(",", ":")).encode(),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        return decode(stored_event)


def decode(stored_event: StoredEvent) -> Envelope:
    """Rebuild the envelope of any stored event or notification."""
    state = json.loads(stored_event.state)
    payload_class = event_class_for_topic(stored_event.topic)
    payload = payload_class.upcast(state["payload"], state["schema_version"])
    originator_id = stored_event.originator_id
    return Envelope(
        originator_id=UUID(originator_id) if isinstance(originator_id, str) else originator_id,
        originator_version=stored_event.originator_version,
        timestamp=datetime.fromisoformat(state["recorded_at"]),
        meta=EventMeta.model_validate(state["meta"]),
        payload=payload_class.model_validate(payload),
    )


def _check_reads(cursor: Any, table: str, placeholder: str, read_versions: dict[UUID, int] | None, hex_ids: bool) -> None:
    """Optimistic read validation, inside the insert's transaction: if an aggregate a
    batch decided on (without writing to it) has moved on since it was read, the batch
    decided on stale facts; refuse it like a version conflict, and it is replayed."""
    if not read_versions:
        return
    ids = list(read_versions)
    for chunk in _chunks(ids, 1000):
        keys = [i.hex if hex_ids else i for i in chunk]
        cursor.execute(
            f"SELECT originator_id, MAX(originator_version) FROM {table} WHERE originator_id IN "
            f"({', '.join(placeholder for _ in keys)}) GROUP BY originator_id",
            keys,
        )
        for row in cursor.fetchall():
            originator_id, version = (row[0], row[1]) if not isinstance(row, dict) else (row["originator_id"], row["max"])
            aggregate_id = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
            if version > read_versions[aggregate_id]:
                raise IntegrityError(f"aggregate {aggregate_id} changed after it was read (version {version})")


def _shred(cursor: Any, table: str, placeholder: str, subjects: Sequence[str] | None) -> None:
    """Crypto-shredding, in the transaction that records the forget event."""
    for subject in subjects or ():
        cursor.execute(
            f"INSERT INTO {table} (subject, secret, forgotten_at) VALUES ({placeholder}, NULL, CURRENT_TIMESTAMP)"
            " ON CONFLICT (subject) DO UPDATE SET secret = NULL, forgotten_at = CURRENT_TIMESTAMP",
            (subject,),
        )


class SealingSQLiteRecorder(SQLiteApplicationRecorder):
    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of many aggregates in one query, by aggregate then version."""
        events: list[StoredEvent] = []
        for chunk in _chunks(originator_ids):
            marks = ",".join("?" * len(chunk))
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT * FROM {self.events_table_name} WHERE originator_id IN ({marks})"
                    " ORDER BY originator_id, originator_version",
                    [i.hex for i in chunk],
                )
                events += [
                    StoredEvent(self.convert_originator_id(r["originator_id"]), r["originator_version"], r["topic"], r["state"])
                    for r in c.fetchall()
                ]
        return events

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Any:
        ids = super()._insert_events(c, stored_events, **kwargs)
        # After the insert: the transaction now holds SQLite's write lock.
        _check_reads(c, self.events_table_name, "?", kwargs.get("read_versions"), hex_ids=True)
        _shred(c, KEYS_TABLE, "?", kwargs.get("forget_subjects"))
        if ids:
            seal(c, CHAIN_TABLE, "?", ids, stored_events)
        return ids


class SealingPostgresRecorder(PostgresApplicationRecorder):
    def select_events_of(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of many aggregates in one query, by aggregate then version."""
        events: list[StoredEvent] = []
        statement = SQL("SELECT * FROM {0}.{1} WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name)
        )
        for chunk in _chunks(originator_ids):
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(statement, [list(chunk)])
                events += [
                    StoredEvent(r["originator_id"], r["originator_version"], r["topic"], bytes(r["state"]))
                    for r in curs.fetchall()
                ]
        return events

    def _insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        """Runs first in the insert's transaction. The library raises errors from later
        steps only after its transaction block has ended (committed), so the read check
        happens here, under the table lock taken early, where raising rolls back."""
        super()._insert_events(curs, stored_events, **kwargs)
        if kwargs.get("read_versions"):
            self._lock_table(curs)
            table = f"{self.datastore.schema}.{self.events_table_name}"
            _check_reads(curs, table, "%s", kwargs["read_versions"], hex_ids=False)
        _shred(curs, f"{self.datastore.schema}.{KEYS_TABLE}", "%s", kwargs.get("forget_subjects"))

    # The library holds an EXCLUSIVE lock on the events table while inserting, so
    # the chain head cannot move under us between reading it and extending it.
    def _fetch_ids_after_insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            seal(curs, f"{self.datastore.schema}.{CHAIN_TABLE}", "%s", ids, stored_events)
        return ids


class EventStore(Application):  # type: ignore[type-arg]
    """The library's Application, configured for the ledger's database."""

    name = "ledger"

    def __init__(self, db: Database) -> None:
        self.db = db
        recorder = SealingPostgresRecorder if db.is_postgres else SealingSQLiteRecorder
        env = db.eventsourcing_env() | {
            "APPLICATION_RECORDER_TOPIC": f"{recorder.__module__}:{recorder.__qualname__}",
        }
        create_chain_table(db)
        super().__init__(env=env)
        create_log_guards(db)

    decode = staticmethod(decode)

    def construct_mapper(self) -> Mapper:  # type: ignore[type-arg]
        return EnvelopeMapper()

    def notifications(self, after: int, limit: int, stop: int | None = None) -> Sequence[Notification]:
        return self.recorder.select_notifications(
            start=after, limit=limit, stop=stop, inclusive_of_start=False
        )

    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, list[Envelope]]:
        """Decoded events of many aggregates at once (absent ones are left out)."""
        found: dict[UUID, list[Envelope]] = {}
        recorder: Any = self.recorder
        for stored in recorder.select_events_of(aggregate_ids):
            envelope = decode(stored)
            found.setdefault(envelope.originator_id, []).append(envelope)
        return found

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def get(self, aggregate_id: UUID) -> Any:
        """The aggregate's current state, or None if it has no events."""
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def append(self, envelopes: Sequence[Envelope], *, read_versions: dict[UUID, int], forget_subjects: Sequence[str]) -> int:
        """Append in one transaction. Straight to the library's event store:
        ``Application.save`` would only add snapshotting and notification hooks this
        ledger does not use."""
        return len(self.events.put(list(envelopes), read_versions=read_versions, forget_subjects=forget_subjects))

    def load(self, cls: type[A], key: str, known_at: datetime | None = None) -> A | None:
        """An aggregate as the ledger knows it now, or knew it at ``known_at`` (recorded time)."""
        aggregate_id = cls.id_for(key)
        if known_at is None:
            found = self.get(aggregate_id)
            return found if isinstance(found, cls) else None
        aggregate: Any = None
        for stored in self.recorder.select_events(aggregate_id):
            envelope = decode(stored)
            if envelope.recorded_at > known_at:
                break
            aggregate = envelope.mutate(aggregate)
        return aggregate if isinstance(aggregate, cls) else None
