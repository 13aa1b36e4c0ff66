"""Month close states from the books (``ledger.account.Books``, folded from the log),
not from the journal read model: at every close of a long stream (commissions held and
released or voided, refunds, chargebacks, costs, adjustments, carried balances) the
books draft exactly what the journal drafts, line for line and byte for byte; the books
read another writer's events from the log; a log written before issue 19 gives the same
drafts."""

from __future__ import annotations

import shutil
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from adapters import event_store
from commands import unit_of_work
from commands.handlers.statements import program_drafts
from demo.generate import generate
from events.revenue import PaymentRecorded
from ledger.account import BOOK_TOPICS, Books, StatementDraft
from tests import builders as b
from tests.conftest import Driver
from tests.journal_drafts import journal_drafts

BEFORE = Path(__file__).parent / "fixtures" / "ledger-before-issue-19.db"


def books_drafts(driver: Driver, program_id: str, period: str) -> list[StatementDraft]:
    """What the month close's own code (``program_drafts``) would state."""
    uow = driver.app.bus.uow
    drafts = program_drafts(uow, program_id, period)
    uow.discard()
    return drafts


def as_bytes(drafts: list[StatementDraft]) -> list[tuple[str, str, list[bytes]]]:
    """The drafts as the statements would store them (a Decimal's exponent, a time's zone)."""
    return [(d.partner_id, d.currency, [line.model_dump_json().encode() for line in d.lines]) for d in drafts]


def assert_same_drafts(driver: Driver, program_id: str, period: str) -> list[StatementDraft]:
    journal = journal_drafts(driver.app.read_models, program_id, period)
    books = books_drafts(driver, program_id, period)
    assert books == journal, (program_id, period)
    assert as_bytes(books) == as_bytes(journal), (program_id, period)
    return books


def test_every_close_of_a_long_stream_states_what_the_journal_would(ledger_url: str) -> None:
    driver = Driver(ledger_url)
    try:
        chunk: list[dict[str, Any]] = []
        closes, lines = 0, 0
        for command in islice(generate(7, "S"), 7_000):
            if command["type"] != "close_period":
                chunk.append(command)
                continue
            driver.apply(*chunk)
            chunk = []
            lines += sum(len(d.lines) for d in assert_same_drafts(driver, command["program_id"], command["period"]))
            [result] = driver.apply(command)
            assert result["ok"], result
            closes += 1
        assert closes >= 9 and lines > 1_000, (closes, lines)
    finally:
        driver.close()


def test_the_books_read_what_another_writer_recorded(ledger_url: str) -> None:
    one, other = Driver(ledger_url), Driver(ledger_url)
    try:
        one.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1", at="2025-01-05T00:00:00Z"))
        one.ok(b.payment("in_1", "c1", {"platform_fee": "1000.00"}, at="2025-01-10T00:00:00Z"))
        assert_same_drafts(one, "prog", "2025-03")  # the books are now current in ``one``
        other.ok(b.payment("in_2", "c1", {"platform_fee": "500.00"}, at="2025-01-11T00:00:00Z"))
        one.ok(b.payment("in_3", "c1", {"platform_fee": "200.00"}, at="2025-01-12T00:00:00Z"))
        [draft] = books_drafts(one, "prog", "2025-03")
        assert [line.source_id for line in draft.lines] == ["in_1", "in_2", "in_3"]
        assert_same_drafts(one, "prog", "2025-03")
        one.ok(b.close("2025-03", at="2025-04-01T00:00:00Z"))
        # The other writer's books learn the statement from the log: nothing is stated twice.
        other.ok(b.payment("in_4", "c1", {"platform_fee": "100.00"}, at="2025-04-03T00:00:00Z"))
        [draft] = books_drafts(other, "prog", "2025-06")
        assert [line.source_id for line in draft.lines] == ["in_4"]
        assert_same_drafts(other, "prog", "2025-06")
    finally:
        one.close()
        other.close()



def test_once_read_the_books_follow_their_own_commits_and_read_only_another_writers(ledger_url: str) -> None:
    """Memory stays the books' own: a unit of work keeps no event for the next close.
    What it commits right after its books is folded as it commits (no read); after
    another writer's events, the next close reads the log from the books' position
    only, in the log's order."""
    one, other = Driver(ledger_url), Driver(ledger_url)
    reads: list[tuple[int, int | None]] = []
    payloads = one.app.store.payloads

    def counted(after: int, limit: int, stop: int | None = None, topics: Any = ()) -> Any:
        reads.append((after, stop))
        return payloads(after, limit, stop, topics)

    one.app.store.payloads = counted  # type: ignore[method-assign]
    try:
        one.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1", at="2025-01-05T00:00:00Z"))
        one.ok(b.payment("in_1", "c1", {"platform_fee": "1000.00"}, at="2025-01-10T00:00:00Z"))
        assert_same_drafts(one, "prog", "2025-03")
        assert reads == [(0, one.event_count())]  # the first close reads the log
        one.ok(b.payment("in_2", "c1", {"platform_fee": "500.00"}, at="2025-01-11T00:00:00Z"))
        one.ok(b.close("2025-01", at="2025-02-01T00:00:00Z"))
        assert len(reads) == 1 and one.app.bus.uow._books_at == one.event_count()  # folded as committed
        read_to = one.event_count()
        other.ok(b.payment("in_3", "c1", {"platform_fee": "200.00"}, at="2025-02-12T00:00:00Z"))
        one.ok(b.payment("in_4", "c1", {"platform_fee": "100.00"}, at="2025-02-13T00:00:00Z"))
        assert one.app.bus.uow._books_at == read_to  # a gap: nothing folded out of order
        [draft] = books_drafts(one, "prog", "2025-03")
        assert reads[1:] == [(read_to, one.event_count())]
        assert [line.source_id for line in draft.lines] == ["in_3", "in_4"]
        assert_same_drafts(one, "prog", "2025-03")
    finally:
        one.close()
        other.close()

def test_a_log_written_before_issue_19_drafts_the_same_from_its_books(tmp_path: Any) -> None:
    path = tmp_path / "before.db"
    shutil.copy(BEFORE, path)
    before = Driver(f"sqlite:///{path}")
    try:
        with before.app.db.connect() as conn, before.app.db.reading(conn) as cursor:
            cursor.execute("SELECT DISTINCT program_id FROM proj_partners")
            program_ids = sorted(row[0] for row in cursor.fetchall())
        assert program_ids
        drafts = [assert_same_drafts(before, program_id, period)
                  for program_id in program_ids for period in ("2024-06", "2025-01", "2025-03", "2026-01")]
        assert sum(len(d) for d in drafts) > 10  # every account stated before carries its balance
    finally:
        before.close()


def books_from_models(driver: Driver) -> Books:
    """The books folded from the log's events decoded and validated by the catalogue's
    models (``EventStore.decode``), each payload dumped by its model."""
    books = Books()
    for notification in driver.app.store.scan():
        if notification.topic in BOOK_TOPICS:
            envelope = driver.app.store.decode(notification)
            books.observe(notification.id, envelope.effective_at, notification.topic, orjson.loads(envelope.payload_json))
    return books


def assert_same_books(driver: Driver, program_ids: list[str], periods: list[str]) -> None:
    """The books a unit of work reads from the log's raw rows are the books of the
    decoded events: the same lines (amounts with their exponents, times and their
    offsets), the same accounts stated before, the same drafts in stored bytes."""
    uow = driver.app.bus.uow
    uow._books, uow._books_at = None, 0  # a fresh process's first read
    raw, decoded = uow.books(), books_from_models(driver)
    assert raw.unstated == decoded.unstated
    assert [[_exact(line) for line in lines.values()] for lines in raw.unstated.values()] == \
        [[_exact(line) for line in lines.values()] for lines in decoded.unstated.values()]
    assert raw._stated_accounts == decoded._stated_accounts
    assert {k: [_exact(line) for line in v] for k, v in raw._by_payment.items()} == \
        {k: [_exact(line) for line in v] for k, v in decoded._by_payment.items()}
    members = raw.partners()
    for program_id in program_ids:
        for period in periods:
            assert as_bytes(raw.drafts(program_id, period, members)) == as_bytes(decoded.drafts(program_id, period, members))


def _exact(line: Any) -> tuple[Any, ...]:
    """A book line with what equality does not compare: a Decimal's exponent, a time's offset."""
    times = (line.effective_at, line.payable_at)
    return (line.position, line.seq, str(line.amount), *(None if t is None else (t.isoformat(), t.utcoffset()) for t in times))


def test_the_books_from_the_logs_rows_are_the_books_of_its_decoded_events(ledger_url: str, monkeypatch: Any) -> None:
    monkeypatch.setattr(unit_of_work, "BOOK_PAGE", 97)  # many pages
    driver = Driver(ledger_url)
    try:
        commands = list(islice(generate(11, "S"), 4_000))
        driver.apply(*commands)
        closes = [c for c in commands if c["type"] == "close_period"]
        assert closes
        windows: list[tuple[int, int | None]] = []
        payloads = driver.app.store.payloads
        monkeypatch.setattr(driver.app.store, "payloads", lambda after, limit, stop=None, topics=():
                            windows.append((after, stop)) or payloads(after, limit, stop, topics))
        assert_same_books(driver, sorted({c["program_id"] for c in closes}), sorted({c["period"] for c in closes}))
        # Read a window of positions at a time, never "the next page up to the head": a
        # window's query costs what it holds whatever plan the server picks.
        assert len(windows) > 10 and all(stop is not None and 0 < stop - after <= 97 for after, stop in windows)
    finally:
        driver.close()


def test_the_books_of_a_log_written_before_issue_19_are_those_of_its_decoded_events(tmp_path: Any) -> None:
    path = tmp_path / "before.db"
    shutil.copy(BEFORE, path)
    before = Driver(f"sqlite:///{path}")
    try:
        assert_same_books(before, ["refer-resell", "referral-tiers", "sales-partner"], ["2024-06", "2025-01", "2025-03", "2026-01"])
    finally:
        before.close()


def test_a_book_event_stored_under_an_older_schema_version_is_upcast_before_the_books_read_it(
    ledger_url: str, monkeypatch: Any,
) -> None:
    """Raw rows are read as they are only at their topic's current schema version; an
    older one goes through the store's upcasters and the model, as ``decode`` does."""
    driver = Driver(ledger_url)
    try:
        driver.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1", at="2025-01-05T00:00:00Z"))
        driver.ok(b.payment("in_1", "c1", {"platform_fee": "1000.00"}, at="2025-01-10T00:00:00Z"))
        store = driver.app.store
        [current] = store.payloads(0, 10, topics=[PaymentRecorded.TOPIC])
        # A version 2 of payment.recorded whose upcaster doubles the commission (the stored row is v1).
        monkeypatch.setattr(PaymentRecorded, "SCHEMA_VERSION", 2)
        monkeypatch.setattr(PaymentRecorded, "upcast_v1_v2", staticmethod(_double_commission), raising=False)
        _forget_what_the_store_knows_of_versions()
        [upcast] = store.payloads(0, 10, topics=[PaymentRecorded.TOPIC])
        assert upcast[:3] == current[:3]
        earning = current[3]["earning"]
        assert upcast[3] == {**current[3], "earning": {**earning, "amount": str(Decimal(earning["amount"]) * 2)}}
    finally:
        driver.close()
        monkeypatch.undo()
        _forget_what_the_store_knows_of_versions()  # nothing made for the pretended version outlives the test


def _forget_what_the_store_knows_of_versions() -> None:
    """The store caches each topic's schema version and model of the stored document."""
    event_store._schema_version.cache_clear()
    event_store._stored_model.cache_clear()


def _double_commission(state: dict[str, Any]) -> dict[str, Any]:
    """An upcaster the test can see at work (v1 -> v2 of payment.recorded)."""
    earning = state["earning"]
    return {**state, "earning": {**earning, "amount": str(Decimal(earning["amount"]) * 2)}}
