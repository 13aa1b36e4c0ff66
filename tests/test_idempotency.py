"""Idempotency keys live in their own table, not in the log; logs written when they
were events (``command.accepted``) still load, replay, verify and keep their keys."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid5

from adapters.idempotency import TABLE
from commands.bus import fingerprint
from commands.parsing import parse
from events.base import EventMeta
from events.receipt import CommandAccepted
from ledger.aggregate import LEDGER_NAMESPACE, Envelope
from tests import builders as b
from tests.conftest import Driver


def rows(ledger: Driver, sql: str) -> list[tuple]:
    with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def test_keys_are_stored_beside_the_log_not_in_it(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"))
    first = ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}))[0]
    events = ledger.event_count()
    again = ledger.apply(b.payment("pay1", "c1", {"subscription": "100.00"}))[0]
    assert again == first  # the first result, nothing recorded
    assert ledger.event_count() == events
    other = ledger.apply(b.payment("pay1", "c1", {"subscription": "999.00"}))[0]
    assert other["error"]["code"] == "conflict" and other["error"]["field"] == "payment_id"
    assert ledger.event_count() == events
    assert [key for (key,) in rows(ledger, f"SELECT key FROM {TABLE} WHERE key LIKE 'payment:%'")] == ["payment:pay1"]
    topics = {n.topic for n in ledger.app.store.notifications(0, 1000)}
    assert "command.accepted" not in topics


def test_a_key_used_twice_in_one_batch_gives_the_first_result(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"))
    payment = b.payment("pay1", "c1", {"subscription": "100.00"})
    first, second, third = ledger.apply(payment, payment, b.payment("pay1", "c1", {"subscription": "5.00"}))
    assert first["ok"] and second == first
    assert third["error"]["code"] == "conflict"
    assert sum(n.topic == "payment.recorded" for n in ledger.app.store.notifications(0, 1000)) == 1


def test_a_log_with_receipt_events_keeps_its_keys_and_replays(ledger_url):
    old = Driver(ledger_url)
    try:
        old.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"))
        # What an older ledger wrote for a payment: its receipt as an event.
        payment = b.payment("pay-old", "c1", {"subscription": "100.00"})
        command = parse(payment)
        result = {"ok": True, "type": "record_payment", "payment_id": "pay-old", "from": "an older ledger"}
        receipt = CommandAccepted(key="payment:pay-old", fingerprint=fingerprint(command, old.app.vault.keyed_hash), result=result)
        meta = EventMeta(effective_at=datetime.now(UTC), actor="cli", source="cli", correlation_id="legacy")
        envelope = Envelope(uuid5(LEDGER_NAMESPACE, "receipt:payment:pay-old"), 1, datetime.now(UTC), meta, receipt)
        old.app.store.append([envelope], read_versions={}, forget_subjects=[])
        with old.app.db.connect() as conn, old.app.db.transaction(conn) as cursor:
            cursor.execute(f"DROP TABLE {TABLE}")  # as it was before the table existed
    finally:
        old.close()

    ledger = Driver(ledger_url)  # opening the log fills the table from its receipts
    try:
        assert ledger.apply(payment)[0] == result
        assert ledger.apply(b.payment("pay-old", "c1", {"subscription": "1.00"}))[0]["error"]["code"] == "conflict"
        assert ledger.cli("verify")[0] == 0
        code, out = ledger.cli("replay", "--verify")
        assert code == 0, out
        assert all(entry["type"] != "command.accepted" for entry in ledger.app.queries.audit(customer_id="c1"))
    finally:
        ledger.close()
