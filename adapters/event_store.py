"""The event store: the ledger's own log table, read and written with the ledger's SQL
on the ledger's connections (``docs/architecture.md``, "The event store, honestly", says
why, with the figure that decided it). The table has the names, columns and keys the
eventsourcing library's recorders created before (``adapters.schema``), so a log they
made reads, verifies and grows unchanged; the library still gives the rows' value types
(``Notification``, ``StoredEvent``) and the conflict the bus replays (``IntegrityError``).

A batch of events is written in one transaction: under the log's write lock, the
versions of what the batch only read are validated, the events get their positions
and go in with one ``COPY`` (PostgreSQL) or one ``executemany`` (SQLite), the hash
chain is extended in Python and written the same way, forgotten subjects' keys are
destroyed, and the batch's idempotency keys are written (``adapters.idempotency``).
A version or key another writer took meanwhile (a unique-key or serialization
conflict) fails the whole transaction with the library's ``IntegrityError``; the bus
replays the batch on fresh state (on SQLite the log's guard against inserting over a
taken key says so first: ``adapters.schema.KEY_TAKEN``). Any other integrity error
(NOT NULL, CHECK, the log's append-only triggers) is ``WriteRefused``: no replay can
cure it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import cache, lru_cache
from typing import Any, Literal
from uuid import UUID

import msgspec
import orjson
from eventsourcing.persistence import IntegrityError, Notification, StoredEvent
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from adapters import idempotency
from adapters.database import Database
from adapters.hash_chain import CHAIN_TABLE, seal
from adapters.schema import KEY_TAKEN, create_log_guards, create_log_tables
from adapters.vault import KEYS_TABLE, scrub_destroyed_keys
from events.base import Event, EventMeta, event_class_for_topic
from ledger.aggregate import A, Envelope
from ledger.errors import WriteRefused

# The PostgreSQL columns of the log, for a binary COPY: originator_id, originator_version, topic, state, notification_id.
_LOG_TYPES = ("uuid", "int8", "text", "bytea", "int8")
SCAN_CHUNK = 5_000  # events per round trip when reading the log in order
LOCK_TIMEOUT_S = 30  # how long a writer waits for the log's write lock


def _chunks(items: Sequence[UUID], size: int = 500) -> list[Sequence[UUID]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- encoding ------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _meta_json(meta: EventMeta) -> bytes:
    """The events of one command share their metadata: serialise it once."""
    return meta.model_dump_json().encode()


def encode_state(envelope: Envelope) -> bytes:
    """The bytes stored for one envelope, made once: a JSON document of schema version,
    recorded time, metadata and payload (the payload's ``payload_json``, which the read
    models read too). The store writes them and the hash chain seals them."""
    return b'{"schema_version":%d,"recorded_at":"%s","meta":%s,"payload":%s}' % (
        envelope.payload.SCHEMA_VERSION, envelope.timestamp.isoformat().encode(), _meta_json(envelope.meta),
        envelope.payload_json,
    )


# A stored event read as its model's own JSON, with no model (``current_document``):
# (schema version, recorded time as stored, ``EventMeta``'s fields as stored, payload,
# the payload's bytes as stored). A plain tuple: a named one costs ~0.2 us more to make,
# once per event read.
CurrentDocument = tuple[int, str, dict[str, Any], dict[str, Any], bytes]


_PAYLOAD_KEY = b',"payload":'
_HEAD_KEYS = frozenset({"schema_version", "recorded_at", "meta"})
_META_KEYS = frozenset(EventMeta.model_fields)


def current_document(topic: str, state: bytes) -> CurrentDocument | None:
    """The stored document of an event of ``topic``, decoded with orjson alone, when it
    is what ``encode_state`` writes for that event's model now: the payload last, the
    current schema version, the metadata's fields and exactly the payload's fields the
    model has. For anything else (an older schema version, a field the model gained
    since with its default, a key it no longer has, a hand-edited row) ``None``:
    ``decode_row`` reads those, upcasters and validation included. The one check every
    fast reader of the log (the read models' records, the relay) trusts stored bytes by."""
    try:
        # The payload is the document's last member. The first ',"payload":' is where it
        # starts if both halves parse: a raw quote cannot be inside a JSON string, a
        # nested key would leave the head's braces open, and an earlier top-level one
        # the tail with more after it.
        split = state.index(_PAYLOAD_KEY)
        head, payload_json = orjson.loads(state[:split] + b"}"), state[split + len(_PAYLOAD_KEY) : -1]
        payload, meta = orjson.loads(payload_json), head["meta"]
        current = (
            head.keys() == _HEAD_KEYS and meta.keys() == _META_KEYS
            and head["schema_version"] == _schema_version(topic) and payload.keys() == _field_names(topic)
        )
    except (KeyError, TypeError, ValueError, AttributeError):  # not JSON, or not objects where objects belong
        return None
    return (head["schema_version"], head["recorded_at"], meta, payload, payload_json) if current else None


@cache
def _schema_version(topic: str) -> int:
    return event_class_for_topic(topic).SCHEMA_VERSION


@cache
def _field_names(topic: str) -> frozenset[str]:
    return frozenset(event_class_for_topic(topic).model_fields)


@cache
def _stored_model(payload_class: type[Event]) -> type[BaseModel]:
    """A model of the whole stored document of one event type at its current schema
    version, so a stored event is parsed and validated once, from bytes."""
    return create_model(
        f"Stored{payload_class.__name__}",
        __config__=ConfigDict(frozen=True, extra="forbid"),
        schema_version=(Literal[payload_class.SCHEMA_VERSION], ...),  # type: ignore[arg-type]
        recorded_at=(datetime, ...),
        meta=(EventMeta, ...),
        payload=(payload_class, ...),
    )


def decode(stored_event: StoredEvent) -> Envelope:
    """Rebuild the envelope of any stored event or notification (upcasting payloads
    stored under an older schema version)."""
    return decode_row(as_uuid(stored_event.originator_id), stored_event.originator_version,
                      stored_event.topic, stored_event.state)


def decode_row(originator_id: UUID, version: int, topic: str, state: bytes) -> Envelope:
    """``decode`` of a row's fields, with no ``StoredEvent`` made for it."""
    payload_class = event_class_for_topic(topic)
    try:
        document: Any = _stored_model(payload_class).model_validate_json(state)
        return Envelope(originator_id, version, document.recorded_at, document.meta, document.payload)
    except ValidationError:
        pass  # an older schema version (or a hand-edited row): the general path below
    stored = orjson.loads(state)
    payload = payload_class.upcast(stored["payload"], stored["schema_version"])
    return Envelope(
        originator_id=originator_id,
        originator_version=version,
        timestamp=datetime.fromisoformat(stored["recorded_at"]),
        meta=EventMeta.model_validate(stored["meta"]),
        payload=payload_class.model_validate(payload),
    )


def read_document(row: Row, *, long_way: bool = False) -> CurrentDocument:
    """A row of the log as its stored document: as stored, decoded with orjson alone
    (no model validated), when it is its model's own JSON now (``current_document``);
    any other (an older schema version, a field added since, a hand-edited row) is
    upcast and validated as ``decode`` does, and given as the current model writes it.
    ``long_way``: that second way whatever the bytes. The one reader every fast reader
    of stored rows shares (the read models' records, the books, the relay); each then
    makes its own shape of it."""
    _, originator_id, version, topic, state = row
    if not isinstance(state, bytes):
        state = bytes(state)
    if not long_way:
        document = current_document(topic, state)
        if document is not None:
            return document
    envelope = decode_row(as_uuid(originator_id), version, topic, state)
    meta = envelope.meta
    return (
        envelope.payload.SCHEMA_VERSION, envelope.timestamp.isoformat(),
        # the time as ``isoformat`` writes it: ``fromisoformat`` gives back the very time
        {**meta.model_dump(mode="json"), "effective_at": meta.effective_at.isoformat()},
        orjson.loads(envelope.payload_json), envelope.payload_json,
    )


def payload_field(row: Row, name: str) -> Any:
    """One field of a stored event's payload, read without decoding the rest (msgspec
    skips every other member, about a sixth of ``read_document``'s cost): for a reader
    that tells from one field whether an event is worth decoding at all. A document of
    another schema version, or without the field, is read as ``read_document`` reads
    it (upcasters and defaults included); None where the payload has no such field.
    Unlike ``read_document`` it does not check the rest of the document: a row that one
    would refuse (a key its model does not have) is refused where it is decoded."""
    _, _, _, topic, state = row
    try:
        peeked = _field_decoder(name).decode(state)
    except msgspec.MsgspecError:  # not JSON, or not objects where objects belong
        peeked = None
    if peeked is not None and peeked.schema_version == _schema_version(topic):
        value = getattr(peeked.payload, name)
        if value is not msgspec.UNSET:
            return value
    return read_document(row)[3].get(name)


@cache
def _field_decoder(name: str) -> msgspec.json.Decoder[Any]:
    payload = msgspec.defstruct("PayloadField", [(name, Any, msgspec.UNSET)])
    return msgspec.json.Decoder(msgspec.defstruct("StoredField", [("schema_version", int), ("payload", payload)]))


# A stored event as plain values: (position, effective time, topic, payload as a JSON object).
StoredPayload = tuple[int, datetime, str, dict[str, Any]]


def stored_payload(row: Row) -> StoredPayload:
    """A row of the log as plain values (``read_document``): the payload as the
    catalogue's model would dump it."""
    document = read_document(row)
    return row[0], datetime.fromisoformat(document[2]["effective_at"]), row[3], document[3]


# -- writing -----------------------------------------------------------------------------


def _shred(cursor: Any, subjects: Sequence[str]) -> None:
    """Crypto-shredding, in the transaction that records the forget event."""
    for subject in subjects:
        cursor.execute(
            f"INSERT INTO {KEYS_TABLE} (subject, secret, forgotten_at) VALUES (%s, NULL, CURRENT_TIMESTAMP)"
            " ON CONFLICT (subject) DO UPDATE SET secret = NULL, forgotten_at = CURRENT_TIMESTAMP",
            (subject,),
        )


# SQLite's codes of a unique-key clash (the only conflict two writers can have there:
# ``BEGIN IMMEDIATE`` serializes them).
_SQLITE_CONFLICTS = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def _is_conflict(exc: Exception) -> bool:
    """Whether another writer caused this error (a unique key taken, a serialization
    failure or deadlock), so replaying the batch on fresh state can succeed."""
    if isinstance(exc, sqlite3.IntegrityError):
        name = getattr(exc, "sqlite_errorname", "")
        return name in _SQLITE_CONFLICTS or (name == "SQLITE_CONSTRAINT_TRIGGER" and KEY_TAKEN in str(exc))
    import psycopg  # a PostgreSQL ledger's error: its driver is loaded already

    return isinstance(exc, psycopg.errors.UniqueViolation | psycopg.errors.TransactionRollback)


def _reason(exc: Exception) -> str:
    """The database's one-line reason (PostgreSQL's detail would quote the row's data)."""
    diag = getattr(exc, "diag", None)
    return getattr(diag, "message_primary", None) or str(exc).splitlines()[0]


# A row of the log as stored: (position, originator id, version, topic, state). The
# originator id is a ``UUID`` on PostgreSQL and 32 hex digits on SQLite (``as_uuid``).
Row = tuple[int, Any, int, str, bytes]


def as_uuid(originator_id: Any) -> UUID:
    return originator_id if isinstance(originator_id, UUID) else UUID(originator_id)


def _notification(row: Row) -> Notification:
    position, originator_id, version, topic, state = row
    return Notification(as_uuid(originator_id), version, topic, bytes(state), position)


class EventStore:
    """The ledger's log: its table, the reads the ledger needs, and the batch writer
    (``append``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = db.events_table()
        self._position = "notification_id" if db.is_postgres else "rowid"
        self._columns = f"{self._position}, originator_id, originator_version, topic, state"
        with db.schema_lock():
            create_log_tables(db)
            create_log_guards(db)
            with db.schema_change() as cursor:
                idempotency.create_table(cursor, self.table, db.table_exists(cursor, idempotency.TABLE))
                self._sequence = ""
                if db.is_postgres:
                    cursor.execute("SELECT pg_get_serial_sequence(%s, 'notification_id')", (f"{db.schema}.{self.table}",))
                    self._sequence = cursor.fetchone()[0]

    decode = staticmethod(decode)
    read_document = staticmethod(read_document)
    as_uuid = staticmethod(as_uuid)

    # -- reading ------------------------------------------------------------------------

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The rows of one statement, which is its own consistent read (autocommit): no
        BEGIN and COMMIT around it. In binary on PostgreSQL, as ``rows`` reads them."""
        with self.db.connect() as conn:
            if self.db.is_postgres:
                return list(conn.execute(sql, params, binary=True).fetchall())
            return list(conn.execute(self.db.sql(sql), params).fetchall())

    def notifications(
        self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> list[Notification]:
        """Up to ``limit`` events after position ``after`` (up to ``stop``; only those
        ``topics`` when given), in order."""
        return [_notification(row) for row in self.page(after, limit, stop, topics)]

    def page(self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()) -> list[Row]:
        """``notifications`` as raw rows (``Row``)."""
        sql = f"SELECT {self._columns} FROM {self.table} WHERE {self._position} > %s"
        params: list[Any] = [after]
        if stop is not None:
            sql += f" AND {self._position} <= %s"
            params.append(stop)
        if topics:
            sql += f" AND topic IN ({', '.join('%s' for _ in topics)})"
            params += topics
        return self._select(f"{sql} ORDER BY {self._position} LIMIT %s", [*params, limit])

    def payloads(
        self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> list[StoredPayload]:
        """``page`` as plain values (``stored_payload``): the books' way in."""
        return [stored_payload(row) for row in self.page(after, limit, stop, topics)]

    def scan(self, after: int = 0, stop: int | None = None, chunk: int = SCAN_CHUNK) -> Iterator[Notification]:
        """The log after ``after`` (up to ``stop``) in order, read in large chunks
        (a server-side cursor on PostgreSQL): memory stays flat however long it is."""
        for row in self.rows(after, stop, chunk):
            yield _notification(row)

    def rows(self, after: int = 0, stop: int | None = None, chunk: int = SCAN_CHUNK) -> Generator[Row, None, None]:
        """``scan`` as raw rows (``Row``), with no object made per event: replay's way in.
        A caller may stop early: closing the generator lets its reader and connection go."""
        if not self.db.is_postgres:  # SQLite reads in process: a page at a time by rowid costs nothing more
            while batch := self.page(after, chunk, stop):
                yield from batch
                after = batch[-1][0]
            return
        bound = "" if stop is None else " AND notification_id <= %s"
        sql = f"SELECT {self._columns} FROM {self.table} WHERE notification_id > %s{bound} ORDER BY notification_id"
        # Binary rows: the event's bytes come as they are stored, not hex-encoded by the
        # server and decoded here (a scan of 20,007 events: about 3 µs less client CPU per row).
        with self.db.connect() as conn, conn.transaction(), conn.cursor(name="ledger_scan", binary=True) as cursor:
            cursor.execute(sql, (after,) if stop is None else (after, stop))
            # One chunk read ahead on a thread while the caller works through the last:
            # the server's scan and the network overlap replay's folding (the wait
            # releases the GIL). Only that thread touches the cursor.
            with ThreadPoolExecutor(1, thread_name_prefix="ledger-scan") as reader:
                ahead = reader.submit(cursor.fetchmany, chunk)
                while batch := ahead.result():
                    ahead = reader.submit(cursor.fetchmany, chunk)
                    yield from batch

    def max_position(self) -> int:
        return int(self._select(f"SELECT COALESCE(MAX({self._position}), 0) FROM {self.table}")[0][0])

    def _key(self, aggregate_id: UUID) -> UUID | str:
        """An aggregate id as the log's column holds it (a UUID, or hex text on SQLite)."""
        return aggregate_id if self.db.is_postgres else aggregate_id.hex

    def _ids_in(self, ids: Sequence[UUID]) -> tuple[str, list[Any]]:
        """A condition on ``originator_id`` matching any of ``ids``, and its parameters."""
        if self.db.is_postgres:  # one array parameter: a statement the server plans once
            return "= ANY(%s)", [list(ids)]
        return f"IN ({', '.join('%s' for _ in ids)})", [self._key(i) for i in ids]

    def _ids_rows(self, ids: Sequence[UUID]) -> tuple[str, str, list[Any]]:
        """``ids`` as a table of one row each: (its FROM clause, its column, its parameters)."""
        if self.db.is_postgres:
            return "unnest(%s::uuid[]) AS ids(id)", "ids.id", [list(ids)]
        return f"(VALUES {', '.join('(%s)' for _ in ids)}) AS ids", "ids.column1", [self._key(i) for i in ids]

    def _events_of(self, aggregate_id: UUID) -> list[Envelope]:
        rows = self._select(
            f"SELECT originator_version, topic, state FROM {self.table} WHERE originator_id = %s"
            " ORDER BY originator_version", (self._key(aggregate_id),),
        )
        return [decode_row(aggregate_id, version, topic, state) for version, topic, state in rows]

    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, list[Envelope]]:
        """Decoded events of many aggregates at once, one query per 500 (absent ones are
        left out)."""
        found: dict[UUID, list[Envelope]] = {}
        for chunk in _chunks(aggregate_ids):
            ids_in, params = self._ids_in(chunk)
            rows = self._select(f"SELECT originator_id, originator_version, topic, state FROM {self.table}"
                                f" WHERE originator_id {ids_in} ORDER BY originator_id, originator_version", params)
            for originator_id, version, topic, state in rows:
                envelope = decode_row(as_uuid(originator_id), version, topic, state)
                found.setdefault(envelope.originator_id, []).append(envelope)
        return found

    def get(self, aggregate_id: UUID) -> Any:
        """The aggregate's current state, or None if it has no events."""
        aggregate: Any = None
        for envelope in self._events_of(aggregate_id):
            aggregate = envelope.mutate(aggregate)
        return aggregate

    def load(self, cls: type[A], key: str, known_at: datetime | None = None) -> A | None:
        """An aggregate as the ledger knows it now, or knew it at ``known_at`` (recorded time)."""
        aggregate: Any = None
        for envelope in self._events_of(cls.id_for(key)):
            if known_at is not None and envelope.recorded_at > known_at:
                break
            aggregate = envelope.mutate(aggregate)
        return aggregate if isinstance(aggregate, cls) else None

    def receipts(self, keys: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(fingerprint, first result) of those idempotency keys already used."""
        if not keys:
            return {}
        with self.db.connect() as conn, self.db.reading(conn) as cursor:
            return idempotency.lookup(cursor, keys)

    # -- writing ------------------------------------------------------------------------

    def append(
        self, envelopes: Sequence[Envelope], *, read_versions: dict[UUID, int], forget_subjects: Sequence[str],
        receipts: Sequence[tuple[str, str, dict[str, Any]]] = (),
    ) -> list[int]:
        """Append a batch in one transaction (see the module's docstring); returns the
        events' positions in the log."""
        events = [(e.originator_id, e.originator_version, e.payload.TOPIC, encode_state(e)) for e in envelopes]
        try:
            with self.db.connect() as conn, self.db.transaction(conn) as cursor:
                positions = self._write_events(cursor, events, read_versions)
                _shred(cursor, forget_subjects)
                idempotency.insert(cursor, receipts)
        except self.db.write_errors as exc:
            if _is_conflict(exc):
                raise IntegrityError(f"another writer got there first: {exc}") from exc
            raise WriteRefused(f"the database refused the write: {_reason(exc)}") from exc
        if forget_subjects:  # committed: now out of the files as well
            scrub_destroyed_keys(self.db)
        return positions

    def _write_events(
        self, cursor: Any, events: list[tuple[UUID, int, str, bytes]], read_versions: dict[UUID, int]
    ) -> list[int]:
        if not events and not read_versions:
            return []
        if self.db.is_postgres:
            # Writers take turns on the log, so positions are committed in order and
            # the chain head cannot move between reading and extending it. Readers
            # are not blocked.
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'")
            cursor.execute(f"LOCK TABLE {self.table} IN EXCLUSIVE MODE")
        # (SQLite: ``BEGIN IMMEDIATE`` already holds the database's write lock.)
        if read_versions:
            self._check_reads(cursor, read_versions)
        if not events:
            return []
        positions = self._positions(cursor, len(events))
        # (position, id as hex, version, topic, state): SQLite's rows as they are, and what the chain seals
        rows = [(p, i.hex, v, t, s) for (i, v, t, s), p in zip(events, positions, strict=True)]
        if self.db.is_postgres:
            cursor.insert_many(
                self.table, [(i, v, t, s, p) for (i, v, t, s), p in zip(events, positions, strict=True)], _LOG_TYPES
            )
        else:  # ids are hex text there, and positions are rowids
            cursor.executemany(
                f"INSERT INTO {self.table} (rowid, originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
        seal(cursor, CHAIN_TABLE, rows)
        return positions

    def _check_reads(self, cursor: Any, read_versions: dict[UUID, int]) -> None:
        """Optimistic read validation, under the log's write lock: if an aggregate a batch
        decided on (without writing to it) has moved on since it was read, the batch
        decided on stale facts; refuse it like a version conflict, and it is replayed."""
        for chunk in _chunks(list(read_versions), 1000):
            ids, id_column, params = self._ids_rows(chunk)
            # Each id's last version by one step down the primary key's index, however
            # long its history: a ``GROUP BY`` over the matching rows read every version
            # of every aggregate from the table (30-106 ms a batch at M, 8 this way).
            cursor.execute(
                f"SELECT {id_column}, (SELECT MAX(originator_version) FROM {self.table}"
                f" WHERE originator_id = {id_column}) FROM {ids}", params,
            )
            for originator_id, version in cursor.fetchall():
                aggregate_id = as_uuid(originator_id)
                if version is not None and version > read_versions[aggregate_id]:
                    raise IntegrityError(f"aggregate {aggregate_id} changed after it was read (version {version})")

    def _positions(self, cursor: Any, count: int) -> list[int]:
        if self.db.is_postgres:
            cursor.execute("SELECT nextval(%s) FROM generate_series(1, %s)", (self._sequence, count))
            return sorted(int(row[0]) for row in cursor.fetchall())
        cursor.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {self.table}")
        last = int(cursor.fetchone()[0])
        return list(range(last + 1, last + 1 + count))
