"""A unit of work over the event store: aggregates loaded once, many commands, one save.

``ledger apply`` runs hundreds of commands through one unit of work and commits them
in a single transaction, with the idempotency keys they used. Optimistic concurrency covers both what a batch writes
(aggregate versions) and what it only read: the versions of aggregates it decided on
are checked inside the insert transaction, so a batch that decided on facts another
writer has since changed is refused and replayed from fresh state. That is what makes
it safe to keep aggregates cached from one batch to the next.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from typing import Any, TypeVar

import orjson

from commands.ports import EventStore
from events.base import Event, EventMeta
from ledger.account import BOOK_TOPICS, Books
from ledger.aggregate import Aggregate, Envelope

A = TypeVar("A", bound=Aggregate)
Receipt = tuple[str, dict[str, Any]]  # (fingerprint of the command's content, its first result)

# Aggregates kept between batches, at most (memory stays bounded on huge imports).
MAX_CACHED = 100_000
_NOT_LOADED: Any = object()
BOOK_PAGE = 5_000  # positions of the log read per query of its book events
BOOK_TOPIC_LIST = tuple(sorted(BOOK_TOPICS))


class UnitOfWork:
    """Aggregates are kept under a text key, ``<kind>:<key>`` (hashing a string is
    cheap; a ``UUID``'s hash is Python code): the aggregate's UUID is worked out only
    to load it or to create it."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._loaded: dict[str, Aggregate | None] = {}
        self._dirty: dict[int, Aggregate] = {}  # by ``id()``: aggregates this batch wrote to
        self._pending: list[Envelope] = []  # in the order they were recorded
        self._read: set[str] = set()  # aggregates this batch decided on
        self._absent: list[str] = []  # looked up in this batch and not found
        self._forget: list[str] = []  # vault subjects whose keys go with this batch
        self._receipts: dict[str, Receipt | None] = {}  # idempotency keys looked up (None: unused)
        self._new_receipts: dict[str, Receipt] = {}  # keys this batch uses first
        self.recorded = 0  # events recorded since the unit of work began
        # One recorded time per command: its events share their metadata object.
        self._recorded_for: tuple[EventMeta | None, datetime] = (None, datetime.now(UTC))
        # The books (what month closes state), folded from the log up to ``_books_at``;
        # None until a close first asks for them.
        self._books: Books | None = None
        self._books_at = 0

    def get(self, cls: type[A], key: str) -> A | None:
        """The aggregate (None if it does not exist); the batch is decided on it, so
        its version is checked when the batch is written."""
        found = self.peek(cls, key)
        self._read.add(f"{cls.KIND}:{key}")
        return found

    def peek(self, cls: type[A], key: str) -> A | None:
        """``get`` for what an aggregate never changes (a partner's program): another
        writer's later events need not replay the batch."""
        text = f"{cls.KIND}:{key}"
        loaded = self._loaded
        found = loaded.pop(text, _NOT_LOADED)
        if found is _NOT_LOADED:
            found = self.store.get(cls.id_for(key))
            if found is None:
                self._absent.append(text)
        loaded[text] = found  # last: the most recently used (see ``_bound_the_cache``)
        return found if isinstance(found, cls) else None

    def prefetch(self, wanted: Iterable[tuple[type[Aggregate], str]]) -> list[Aggregate]:
        """Load many aggregates in one query (a batch's worth), remembering which
        do not exist; returns those found."""
        ids = {}
        for cls, key in wanted:
            text = f"{cls.KIND}:{key}"
            if text not in self._loaded and text not in ids:
                ids[text] = cls.id_for(key)
        if not ids:
            return []
        streams = self.store.load_many(list(ids.values()))
        found = []
        for text, aggregate_id in ids.items():
            aggregate: Aggregate | None = None
            for envelope in streams.get(aggregate_id, ()):
                aggregate = envelope.mutate(aggregate)
            self._loaded[text] = aggregate
            if aggregate is None:
                self._absent.append(text)
            else:
                found.append(aggregate)
        return found

    def prefetch_receipts(self, keys: Iterable[str]) -> None:
        """Look up a batch's idempotency keys in one query."""
        wanted = [key for key in keys if key not in self._receipts]
        if not wanted:
            return
        found = self.store.receipts(wanted)
        for key in wanted:
            self._receipts[key] = found.get(key)

    def receipt(self, key: str) -> Receipt | None:
        """What the first command with this key decided, if one was recorded (in an
        earlier batch or earlier in this one)."""
        if key in self._new_receipts:
            return self._new_receipts[key]
        self.prefetch_receipts([key])
        return self._receipts[key]

    def keep_receipt(self, key: str, receipt: Receipt) -> None:
        """Record the first use of a key, with the batch's events."""
        self._new_receipts[key] = receipt

    def new(self, cls: type[A], key: str) -> A:
        aggregate = cls(cls.id_for(key))
        self._loaded[f"{cls.KIND}:{key}"] = aggregate
        return aggregate

    def get_or_new(self, cls: type[A], key: str) -> A:
        return self.get(cls, key) or self.new(cls, key)

    def record(self, aggregate: Aggregate, payload: Event, meta: EventMeta) -> Envelope:
        seen, recorded_at = self._recorded_for
        if meta is not seen:
            recorded_at = datetime.now(UTC)
            self._recorded_for = (meta, recorded_at)
        envelope = aggregate.record(payload, meta, recorded_at)
        self._dirty[id(aggregate)] = aggregate
        self._pending.append(envelope)
        self.recorded += 1
        return envelope

    def forget(self, subject: str) -> None:
        """Destroy a subject's key in the same transaction as the batch's events: a
        batch that fails or is replayed forgets nothing."""
        self._forget.append(subject)

    def commit(self) -> list[tuple[int, Envelope]]:
        """Write every pending event in one transaction, in the order they were
        recorded (so the log reads like the commands did), with the batch's new
        idempotency keys; returns the events written with their positions."""
        pending, self._pending = self._pending, []
        for aggregate in self._dirty.values():
            aggregate.collect_events()  # already in ``pending``, in order
        read_versions = {
            found.id: found.version
            for text in self._read
            if (found := self._loaded.get(text)) is not None and id(found) not in self._dirty
        }
        forget, self._forget = self._forget, []
        receipts = [(key, *receipt) for key, receipt in self._new_receipts.items()]
        self._new_receipts = {}
        self._dirty.clear()
        self._read.clear()
        self._bound_the_cache()
        # An absence is not validated at commit: another writer may create it next.
        for text in self._absent:
            if text in self._loaded and self._loaded[text] is None:
                del self._loaded[text]
        self._absent = []
        self._receipts = {}
        if not pending and not receipts:
            return []
        positions = self.store.append(pending, read_versions=read_versions, forget_subjects=forget, receipts=receipts)
        committed = list(zip(positions, pending, strict=True))
        self._fold_into_books(committed)
        return committed

    def _bound_the_cache(self) -> None:
        """Past ``MAX_CACHED`` aggregates, drop the least recently used quarter (the
        cache is in order of use). Clearing it all, as it once did, made every batch
        after it load the busy partners, accounts and customers again, each event
        validated into its model: a log of 444,000 aggregates crossed the bound every
        hundred thousand payments or so."""
        excess = len(self._loaded) - MAX_CACHED
        if excess > 0:
            for text in list(islice(self._loaded, excess + MAX_CACHED // 4)):
                del self._loaded[text]

    def books(self) -> Books:
        """The books as of the log's head. The first call reads the log's book events
        (``EventStore.payloads``: plain payloads, no model validated per event); later
        ones read only what another writer appended since, for the events this unit of
        work commits are folded as it commits them."""
        if self._books is None:
            self._books = Books()
        head = self.store.max_position()
        after = self._books_at
        while after < head:
            # A window of positions at a time, not the next page of book events up to the
            # head: that page's query (ordered, limited) was planned as a sort of every book
            # event to the head whenever the log's statistics lagged behind its growth, so
            # reading a 600,000-event log took 51 s instead of a few. A window costs what
            # it holds, whatever the plan.
            until = min(after + BOOK_PAGE, head)
            for position, effective_at, topic, payload in self.store.payloads(after, BOOK_PAGE, until, BOOK_TOPIC_LIST):
                self._books.observe(position, effective_at, topic, payload)
            after = until
        self._books_at = max(head, self._books_at)
        return self._books

    def _fold_into_books(self, committed: list[tuple[int, Envelope]]) -> None:
        """Once the books are read, a batch that follows them in the log (no other
        writer's events in between) is folded as it commits, from the payload bytes it
        wrote: nothing is kept for the next close but the books themselves. After a
        gap, the next close reads the log from the books' position instead (this
        batch's events too, in the log's order)."""
        if self._books is None or not committed:
            return
        first, last = committed[0][0], committed[-1][0]
        if first != self._books_at + 1 or last - first != len(committed) - 1:
            return
        for position, envelope in committed:
            topic = envelope.payload.TOPIC
            if topic in BOOK_TOPICS:
                self._books.observe(position, envelope.effective_at, topic, orjson.loads(envelope.payload_json))
        self._books_at = last

    def pending(self) -> list[Envelope]:
        """The events recorded since the last commit, in order (a preview reads them)."""
        return list(self._pending)

    def discard(self) -> None:
        """Forget everything loaded and pending (after a conflict or a failure)."""
        self._loaded.clear()
        self._dirty.clear()
        self._pending.clear()
        self._read.clear()
        self._absent.clear()
        self._forget.clear()
        self._receipts.clear()
        self._new_receipts.clear()
