"""The event store's reads (issue 19 item 8: the store owns its table): every way of
reading the log gives the same events in position order, on both databases, and a log
written before the store owned its table reads the same way."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from adapters.event_store import EventStore, as_uuid, decode, decode_row
from commands import unit_of_work
from ledger.customer import Customer
from ledger.partner import Partner
from tests import builders as b
from tests.conftest import Driver

WORLD = [b.program(), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay-1", "c1"), b.payment("pay-2", "c1")]


def _same_reads(store: EventStore) -> None:
    head = store.max_position()
    assert head > 0
    rows = list(store.rows())
    scanned = list(store.scan(chunk=3))  # several chunks
    assert [r[0] for r in rows] == [n.id for n in scanned] == sorted({r[0] for r in rows}), "positions, in order"
    assert rows[-1][0] == head
    assert [(as_uuid(r[1]), r[2], r[3], bytes(r[4])) for r in rows] == [
        (n.originator_id, n.originator_version, n.topic, n.state) for n in scanned
    ]
    assert all(isinstance(n.originator_id, UUID) for n in scanned)
    # A page after a position, up to a stop, of some topics only.
    middle = rows[len(rows) // 2][0]
    assert [n.id for n in store.notifications(middle, 2)] == [r[0] for r in rows if r[0] > middle][:2]
    assert [r[0] for r in store.page(0, 1000, stop=middle)] == [r[0] for r in rows if r[0] <= middle]
    assert list(store.rows(middle, stop=middle)) == []
    topic = rows[-1][3]
    assert [n.id for n in store.notifications(0, 1000, topics=[topic])] == [r[0] for r in rows if r[3] == topic]
    assert store.notifications(head, 10) == []
    # Decoded, a row and its notification are the same envelope.
    for row, notification in zip(rows, scanned, strict=True):
        assert decode_row(as_uuid(row[1]), row[2], row[3], bytes(row[4])) == decode(notification)


def test_every_read_of_the_log_agrees(ledger: Driver) -> None:
    ledger.ok(*WORLD)
    _same_reads(ledger.app.store)


def test_a_scan_left_early_lets_its_reader_go(ledger: Driver) -> None:
    """Replay reads one chunk ahead on a thread (PostgreSQL): a caller that stops after
    the first event leaves no reader behind and its connection back in the pool."""
    ledger.ok(*WORLD)
    store = ledger.app.store
    every = [row[0] for row in store.rows(chunk=2)]
    rows = store.rows(chunk=2)
    assert next(rows)[0] == every[0]
    rows.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("ledger-scan")]
    for _ in range(3):  # more scans than a leaked connection per scan would allow for long
        assert [row[0] for row in store.rows(chunk=2)] == every


def test_aggregates_load_one_at_a_time_or_many_at_once(ledger: Driver) -> None:
    ledger.ok(*WORLD)
    store = ledger.app.store
    customer, partner, absent = Customer.id_for("c1"), Partner.id_for("p1"), Customer.id_for("nobody")
    many = store.load_many([customer, partner, absent])
    assert set(many) == {customer, partner}, "an aggregate with no events is left out"
    assert [e.originator_version for e in many[customer]] == list(range(1, len(many[customer]) + 1))
    assert store.get(absent) is None and store.load(Customer, "nobody") is None
    loaded = store.load(Customer, "c1")
    assert isinstance(loaded, Customer) and loaded.version == store.get(customer).version == len(many[customer])
    first = many[customer][0].recorded_at
    assert store.load(Customer, "c1", known_at=first).version == sum(e.recorded_at <= first for e in many[customer])


def test_a_batch_decided_on_an_aggregate_that_moved_on_since_is_refused(ledger: Driver) -> None:
    """The optimistic read check under the log's lock: a batch passes while every
    aggregate it decided on is still at the version it read, whatever the length of their
    histories or the number of them (more than one query's worth), and is refused,
    naming the aggregate, as soon as one has moved on. Nothing is written either way."""
    ledger.ok(*WORLD, *[
        {"type": "set_payout_details", "partner_id": "p1", "method": "iban", "account": "DE89370400440532013000",
         "at": f"2025-01-{day:02d}T00:00:00Z"} for day in range(5, 17)
    ])
    store = ledger.app.store
    versions: dict[UUID, int] = {}
    for row in store.rows():
        versions[as_uuid(row[1])] = row[2]
    longest = max(versions, key=versions.__getitem__)
    customer, partner = Customer.id_for("c1"), Partner.id_for("p1")
    current = {customer: versions[customer], partner: versions[partner], longest: versions[longest]}
    assert versions[longest] > 10, "a long history"
    absent = {Customer.id_for(f"nobody-{i}"): 0 for i in range(1500)}  # two queries' worth, none of them stored
    head = store.max_position()

    store.append([], read_versions={**absent, **current}, forget_subjects=[])
    for stale in (customer, partner, longest):
        with pytest.raises(IntegrityError, match=f"aggregate {stale} changed after it was read"):
            store.append([], read_versions={**absent, **current, stale: current[stale] - 1}, forget_subjects=[])
    with pytest.raises(IntegrityError, match=str(customer)):  # read before it had any event
        store.append([], read_versions={customer: 0}, forget_subjects=[])
    assert store.max_position() == head


def test_a_log_written_before_the_store_owned_its_table_reads_the_same(before_ledger: Driver) -> None:
    _same_reads(before_ledger.app.store)


def test_the_aggregates_kept_between_batches_are_the_most_recently_used(
    ledger: Driver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past its bound, the unit of work's cache drops the aggregates used least recently:
    the partner and customer every batch decides on stay loaded while one-off payments
    fill it, batch after batch (the whole cache was once cleared, and they were loaded
    from the log again), and every batch still decides on their current state."""
    monkeypatch.setattr(unit_of_work, "MAX_CACHED", 12)
    ledger.ok(*WORLD)
    loaded: list[UUID] = []
    store = ledger.app.store
    load_many, get = store.load_many, store.get
    monkeypatch.setattr(store, "load_many", lambda ids: loaded.extend(ids) or load_many(ids))
    monkeypatch.setattr(store, "get", lambda aggregate_id: loaded.append(aggregate_id) or get(aggregate_id))
    for batch in range(8):  # 5 new payments a batch: past the bound every other batch
        ledger.ok(*[b.payment(f"pay-{batch}-{i}", "c1") for i in range(5)])
    busy = {Customer.id_for("c1"), Partner.id_for("p1")}
    assert all(loaded.count(aggregate_id) <= 1 for aggregate_id in busy), "loaded at most once, then kept"
    assert len(loaded) >= 8 * 5, "every new payment was looked up"
    assert len(ledger.app.bus.uow._loaded) <= 12
