"""The relay publishes from the bytes the store wrote (``WireSource.from_row``): the
same records as the long way (decode into the event's model, dump, encode) makes, on
both stores, on a log written before the lean core, and after a person is forgotten;
the envelope's JSON, written by hand around the payload's stored bytes, is the
envelope document."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import orjson
import pytest
from eventsourcing.persistence import Notification

import adapters.event_store
from adapters.kafka import KafkaConfig
from entrypoints.relay import OutboundRecord, WireSource, records_for
from entrypoints.settings import load_settings
from events.schema_export import UNPUBLISHED_TYPES
from events.wire import may_hold_private, public_json
from tests import builders as b
from tests.conftest import Driver
from tests.test_fold_record import _rows_reshaped, drop_a_defaulted_field

CONFIG: KafkaConfig = load_settings({"LEDGER_KAFKA_TOPIC_PREFIX": "x."}).kafka


def published(records: list[OutboundRecord]) -> list[tuple[str, bytes, list[tuple[str, bytes]], Any]]:
    """Records as a consumer reads them: the value parsed (a payload published as the
    store wrote it keeps its members in the model's order, the long way sorts them)."""
    return [(r.topic, r.key, r.headers, orjson.loads(r.value)) for r in records]


def refuse_to_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the store's reader of rows fails on any row it decodes the long way."""
    def refuse(originator_id: Any, version: int, topic: str, state: bytes) -> Any:
        raise AssertionError(f"decoded {topic}")

    monkeypatch.setattr(adapters.event_store, "decode_row", refuse)


def history(ledger: Driver) -> None:
    """Every kind of payload the relay meets: personal data sealed and hashed, payout
    accounts, statements and payouts, a customer's claim, a forgotten partner."""
    ledger.ok(
        b.program(), *b.partner("p1", email="owner@p1.example"), *b.partner("p2"),
        *b.customer("c1", "p1", email="alice@c1.example"), *b.customer("c2", "p2", channel="resell"), b.signup("c3", email="bob@c3.example"),
        b.cmd("set_payout_details", partner_id="p1", method="iban", account="DE89370400440532013000"),
        b.cmd("submit_tax_form", partner_id="p1", form="W-8BEN"),
        b.payment("pay1", "c1"), b.payment("pay2", "c2"), b.payment("pay3", "c3"),
        b.refund("r1", "pay1", "10.00"), b.cost("cost1", "c1", "20.00"),
        b.cmd("set_do_not_contact", customer_id="c2", value=True, at="2025-03-01T00:00:00Z"),
        b.close("2025-02", at="2025-03-01T01:00:00Z"),
    )
    [statement] = ledger.app.queries.statements("p1", "2025-02")
    ledger.ok(b.payout("po1", statement["due"], [statement["statement_id"]]),
              b.cmd("forget_partner", partner_id="p2", reason="erasure request"))


def assert_published_as_the_long_way(ledger: Driver) -> tuple[int, int]:
    """Every published event's records, with and without an earlier attribution,
    equal the long way's; returns how many events were compared, and how many of
    them had private data left out."""
    store, compared, private = ledger.app.store, 0, 0
    for stored, notification in zip(store.page(0, 100_000), store.notifications(0, 100_000), strict=True):
        if notification.topic in UNPUBLISHED_TYPES:
            continue
        source = WireSource.from_row(stored, store)  # the row as the relay reads it
        assert source.event_id_text == str(store.decode(notification).event_id)  # by hand, as the envelope's
        for attributed_to in (None, "p-earlier"):
            long_way = records_for(store.decode(notification), notification.id, CONFIG, attributed_to)
            records = source.records(CONFIG, attributed_to)
            assert published(records) == published(long_way), (notification.id, notification.topic)
            assert orjson.loads(records[0].value) == source.document(attributed_to)
        compared += 1
        private += source.document()["payload"] != source.fields
    return compared, private


def test_records_from_the_stored_bytes_are_the_long_ways(ledger: Driver) -> None:
    history(ledger)
    compared, private = assert_published_as_the_long_way(ledger)
    assert compared > 30 and private >= 5, (compared, private)


def test_a_current_event_is_not_decoded_again(sqlite_ledger: Driver, monkeypatch: pytest.MonkeyPatch) -> None:
    history(sqlite_ledger)
    refuse_to_decode(monkeypatch)
    store = sqlite_ledger.app.store
    for stored in store.page(0, 100_000):
        if stored[3] not in UNPUBLISHED_TYPES:
            WireSource.from_row(stored, store)


def test_a_log_written_before_the_lean_core_publishes_as_the_long_way(before_ledger: Driver) -> None:
    compared, private = assert_published_as_the_long_way(before_ledger)
    assert compared > 400 and private > 0, (compared, private)


def test_a_payload_stored_without_a_field_the_model_has_now_is_published_as_the_long_way(sqlite_ledger: Driver) -> None:
    """A field an event type gained later, with a default, is published with that
    default, as the long way does (that the relay's reader, like the read models', gives
    the default and refuses an unknown key: test_fold_record's READERS)."""
    history(sqlite_ledger)
    store = sqlite_ledger.app.store
    rows = [r for r in _rows_reshaped(sqlite_ledger, drop_a_defaulted_field) if r[3] not in UNPUBLISHED_TYPES]
    for position, originator_id, version, topic, state in rows:
        older = store.decode(Notification(originator_id, version, topic, state, position))
        source = WireSource.from_row((position, originator_id, version, topic, state), store)
        assert published(source.records(CONFIG)) == published(records_for(older, position, CONFIG)), topic
    assert len(rows) > 5


@pytest.mark.parametrize("text", ['p"1', "back\\slash", "line\nbreak", "\u2028é漢\x00", "sealed:x"])
def test_the_envelope_written_by_hand_escapes_every_text(text: str) -> None:
    source = WireSource(
        7, "customer.claimed", 1, uuid4(), 3, "2025-01-01T00:00:00+00:00", "2025-01-02T00:00:00.120000+00:00",
        text, text, {"customer_id": text, "partner_id": text, "note": text},
    )
    for attributed_to in (None, text):
        [record] = source.records(CONFIG, attributed_to)
        assert orjson.loads(record.value) == source.document(attributed_to)
        assert record.key == text.encode()


def test_a_payload_stored_with_private_data_is_published_without_it(
    sqlite_ledger: Driver, monkeypatch: pytest.MonkeyPatch,
) -> None:
    history(sqlite_ledger)
    store = sqlite_ledger.app.store
    [stored] = [r for r in store.page(0, 100_000) if r[3] == "partner.payout_details_set"]
    assert b"sealed:" in stored[4]
    refuse_to_decode(monkeypatch)
    source = WireSource.from_row(stored, store)
    assert source.stored_payload is None  # not published as it was stored
    [record] = source.records(CONFIG)
    assert b"sealed:" not in record.value and b'"account"' not in record.value
    assert orjson.loads(record.value)["payload"]["account_masked"].endswith("3000")


def test_only_topics_that_cannot_hold_a_private_field_skip_the_search_for_one() -> None:
    """``public_json`` given a topic skips the private-field search for a type that
    cannot hold one, but still drops sealed text under any name; a topic the catalogue
    does not know is searched in full."""
    assert not may_hold_private("payment.recorded")
    assert may_hold_private("partner.payout_details_set") and may_hold_private("customer.signed_up")
    assert may_hold_private("no.such.topic")
    plain = b'{"payment_id":"pay1","note":"x"}'
    assert public_json(plain, "payment.recorded") is plain
    assert orjson.loads(public_json(b'{"payment_id":"pay1","note":"sealed:x"}', "payment.recorded")) == {"payment_id": "pay1"}
    private = b'{"partner_id":"p1","account":"DE89"}'
    assert orjson.loads(public_json(private, "no.such.topic")) == {"partner_id": "p1"}
