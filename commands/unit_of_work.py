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
from typing import Any, TypeVar
from uuid import UUID

from commands.ports import EventStore
from events.base import Event, EventMeta
from ledger.aggregate import Aggregate, Envelope

A = TypeVar("A", bound=Aggregate)
Receipt = tuple[str, dict[str, Any]]  # (fingerprint of the command's content, its first result)

# Aggregates kept between batches, at most (memory stays bounded on huge imports).
MAX_CACHED = 100_000


class UnitOfWork:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._loaded: dict[UUID, Aggregate | None] = {}
        self._dirty: dict[UUID, Aggregate] = {}
        self._pending: list[Envelope] = []  # in the order they were recorded
        self._read: set[UUID] = set()  # aggregates this batch decided on
        self._absent: list[UUID] = []  # looked up in this batch and not found
        self._forget: list[str] = []  # vault subjects whose keys go with this batch
        self._receipts: dict[str, Receipt | None] = {}  # idempotency keys looked up (None: unused)
        self._new_receipts: dict[str, Receipt] = {}  # keys this batch uses first
        self.recorded = 0  # events recorded since the unit of work began

    def get(self, cls: type[A], key: str) -> A | None:
        aggregate_id = cls.id_for(key)
        if aggregate_id not in self._loaded:
            self._remember(aggregate_id, self.store.get(aggregate_id))
        found = self._loaded[aggregate_id]
        self._read.add(aggregate_id)
        return found if isinstance(found, cls) else None

    def prefetch(self, wanted: Iterable[tuple[type[Aggregate], str]]) -> list[Aggregate]:
        """Load many aggregates in one query (a batch's worth), remembering which
        do not exist; returns those found."""
        ids = [i for i in {cls.id_for(key) for cls, key in wanted} if i not in self._loaded]
        if not ids:
            return []
        streams = self.store.load_many(ids)
        found = []
        for aggregate_id in ids:
            aggregate: Aggregate | None = None
            for envelope in streams.get(aggregate_id, ()):
                aggregate = envelope.mutate(aggregate)
            self._remember(aggregate_id, aggregate)
            if aggregate is not None:
                found.append(aggregate)
        return found

    def _remember(self, aggregate_id: UUID, aggregate: Aggregate | None) -> None:
        self._loaded[aggregate_id] = aggregate
        if aggregate is None:
            self._absent.append(aggregate_id)

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
        self._loaded[aggregate.id] = aggregate
        return aggregate

    def get_or_new(self, cls: type[A], key: str) -> A:
        return self.get(cls, key) or self.new(cls, key)

    def record(self, aggregate: Aggregate, payload: Event, meta: EventMeta) -> Envelope:
        envelope = aggregate.record(payload, meta)
        self._dirty[aggregate.id] = aggregate
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
            i: found.version
            for i in self._read
            if i not in self._dirty and (found := self._loaded.get(i)) is not None
        }
        forget, self._forget = self._forget, []
        receipts = [(key, *receipt) for key, receipt in self._new_receipts.items()]
        self._new_receipts = {}
        self._dirty.clear()
        self._read.clear()
        if len(self._loaded) > MAX_CACHED:
            self._loaded.clear()
        # An absence is not validated at commit: another writer may create it next.
        for aggregate_id in self._absent:
            if aggregate_id in self._loaded and self._loaded[aggregate_id] is None:
                del self._loaded[aggregate_id]
        self._absent = []
        self._receipts = {}
        if not pending and not receipts:
            return []
        positions = self.store.append(pending, read_versions=read_versions, forget_subjects=forget, receipts=receipts)
        return list(zip(positions, pending, strict=True))

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
