"""The read models' light record (projections/record.py): a stored event read as raw
bytes gives the record the committed envelope gives, an event stored at an older
schema version is upcast as the catalogue says, stored times become the columns'
text exactly as the parsed times would, and a rebuild that builds its indexes at the
end gives the live read models' rows and indexes."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid5

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

import adapters.event_store
from adapters.event_store import current_document, encode_state, payload_field, read_document, stored_payload
from entrypoints.relay import WireSource
from events.base import event_class_for_topic
from events.partner import PayoutDetailsSet
from events.revenue import PaymentRecorded
from ledger.aggregate import Envelope, event_id_text
from projections.catalog import live_views
from projections.columns import ts
from projections.money import money_lines, record_lines
from projections.record import Record, from_envelope, from_stored, iso_text, ts_text
from projections.runner import ProjectionRunner, Tables
from tests.test_events import UpcastDemo, _envelope, _hand_stored
from tests.test_events import _payment as events_payment
from tests.test_properties import table_rows
from tests.test_replay_audit import history

_FIELDS = ("position", "topic", "version", "effective_at", "recorded_at", "actor", "source", "correlation_id",
           "payload", "payload_json")


def _payment() -> Envelope:
    """test_events' payment, earning what the assertions read, as the bus records it:
    a recorded time with microseconds, an effective time in whole seconds."""
    earning = events_payment().earning.model_copy(update={"amount": Decimal("30.00"),
                                                          "payable_at": datetime(2025, 3, 1, tzinfo=UTC)})
    return _envelope(events_payment(earning=earning), version=3, recorded=datetime(2026, 12, 2, 13, 46, 45, 139059, tzinfo=UTC),
                     effective=datetime(2025, 2, 5, 9, 30, tzinfo=UTC))


def _fields(record: Record) -> tuple[object, ...]:
    return tuple(getattr(record, name) for name in _FIELDS)


def test_a_stored_event_reads_as_the_committed_one_on_either_database():
    envelope = _payment()
    committed = from_envelope(41, envelope)
    state = encode_state(envelope)
    for stored_id in (envelope.originator_id, envelope.originator_id.hex):  # PostgreSQL's uuid, SQLite's hex text
        stored = from_stored((41, stored_id, 3, PaymentRecorded.TOPIC, state))
        assert _fields(stored) == _fields(committed)
        assert stored.payload_json == envelope.payload_json  # the very bytes the store wrote
        assert stored.event_id_text == committed.event_id_text == envelope.event_id_text == str(envelope.event_id)
    assert record_lines(committed) == money_lines(envelope.payload)
    [line] = record_lines(committed)
    assert (line.amount, line.payable_at, line.held) == (Decimal("30.00"), "2025-03-01T00:00:00.000000+00:00", False)


def test_an_event_stored_at_an_older_schema_version_is_upcast():
    payload = {"partner_id": "p1", "method": "sepa", "account": "sealed:partner:p1:x", "account_masked": "****1234"}
    stored = _hand_stored(PayoutDetailsSet.TOPIC, payload, schema_version=1,
                          recorded=datetime(2024, 5, 1, 10, 0, 1, 2, tzinfo=UTC), effective=datetime(2024, 5, 1, 10, tzinfo=UTC))
    record = from_stored((7, stored.originator_id.hex, 2, PayoutDetailsSet.TOPIC, stored.state))
    assert record.payload == {**payload, "bic": None}  # v1 -> v2 adds the BIC
    assert orjson.loads(record.payload_json) == record.payload
    assert (record.effective_at, record.recorded_at) == ("2024-05-01T10:00:00.000000+00:00", "2024-05-01T10:00:01.000002+00:00")


def _rows_reshaped(ledger: Any, reshape: Any) -> list[tuple[int, Any, int, str, bytes]]:
    """The log's rows whose payload ``reshape`` changed (it returns False to leave one)."""
    rows = []
    for position, originator_id, version, topic, state in ledger.app.store.page(0, 100_000):
        document = orjson.loads(state)
        if reshape(topic, document["payload"]) is not False:
            rows.append((position, originator_id, version, topic, orjson.dumps(document)))
    return rows


def _decoded_the_long_way(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[str]:
    """The topics the reader in ``module`` hands to ``decode_row`` from now on."""
    topics: list[str] = []
    decode_row = module.decode_row

    def spy(originator_id: Any, version: int, topic: str, state: bytes) -> Envelope:
        topics.append(topic)
        return decode_row(originator_id, version, topic, state)

    monkeypatch.setattr(module, "decode_row", spy)
    return topics


# The fast readers of stored rows: each with the module whose ``decode_row`` it falls
# back to (the store's one reader, ``read_document``, calls it there for all three), and
# what it makes of the payload. (The relay's store: the class serves, its reads are static.)
READERS = {
    "records": (adapters.event_store, lambda row: from_stored(row).payload),
    "books": (adapters.event_store, lambda row: stored_payload(row)[3]),
    "relay": (adapters.event_store, lambda row: WireSource.from_row(row, adapters.event_store.EventStore).fields),
}


def drop_a_defaulted_field(topic: str, payload: dict[str, Any]) -> bool:
    """Reshapes a payload as stored before its model gained a field with a default."""
    fields = event_class_for_topic(topic).model_fields
    defaulted = [name for name, field in fields.items() if not field.is_required() and name in payload]
    if not defaulted:
        return False
    del payload[defaulted[0]]
    return True


@pytest.mark.parametrize("reader", READERS)
def test_a_payload_stored_without_a_field_the_model_has_now_gets_its_default(sqlite_ledger, monkeypatch, reader):
    history(sqlite_ledger)
    rows = _rows_reshaped(sqlite_ledger, drop_a_defaulted_field)
    module, read = READERS[reader]
    decoded = _decoded_the_long_way(monkeypatch, module)
    for row in rows:
        assert read(row).keys() == event_class_for_topic(row[3]).model_fields.keys(), row[3]
    assert len(rows) > 5 and decoded == [row[3] for row in rows]
    assert all(orjson.loads(from_stored(row).payload_json) == from_stored(row).payload for row in rows)


@pytest.mark.parametrize("reader", READERS)
def test_a_payload_stored_with_a_key_the_model_does_not_have_is_refused_not_folded(sqlite_ledger, monkeypatch, reader):
    history(sqlite_ledger)
    rows = _rows_reshaped(sqlite_ledger, lambda topic, payload: payload.update(unknown="kept?"))
    module, read = READERS[reader]
    decoded = _decoded_the_long_way(monkeypatch, module)
    for row in rows:
        with pytest.raises(ValidationError, match="unknown"):
            read(row)
    assert len(rows) > 20 and decoded == [row[3] for row in rows]


def test_one_payload_field_reads_as_the_whole_document_does(sqlite_ledger, monkeypatch):
    """``payload_field`` skips the rest of the document, yet gives what ``read_document``
    gives: as stored when the document is current, else its default or upcast value."""
    history(sqlite_ledger)
    rows = sqlite_ledger.app.store.page(0, 100_000)
    for row in rows:
        payload = read_document(row)[3]
        for name in (*payload, "no_such_field"):
            assert payload_field(row, name) == payload.get(name), (row[3], name)
    reshaped = _rows_reshaped(sqlite_ledger, drop_a_defaulted_field)
    dropped = [next(name for name in event_class_for_topic(row[3]).model_fields if name not in orjson.loads(row[4])["payload"])
               for row in reshaped]
    decoded = _decoded_the_long_way(monkeypatch, adapters.event_store)
    for row, name in zip(reshaped, dropped, strict=True):
        assert payload_field(row, name) == event_class_for_topic(row[3]).model_fields[name].default, row[3]
    assert len(reshaped) > 5 and decoded == [row[3] for row in reshaped]
    old = _hand_stored(PayoutDetailsSet.TOPIC, {"partner_id": "p1", "method": "sepa", "account": "sealed:partner:p1:x",
                                                "account_masked": "****1234"}, schema_version=1)
    old_row = (7, old.originator_id.hex, 2, PayoutDetailsSet.TOPIC, old.state)
    assert (payload_field(old_row, "bic"), payload_field(old_row, "account_masked")) == (None, "****1234")  # v1 -> v2
    greeted = _hand_stored(UpcastDemo.TOPIC, {"name": "Ada", "greeting": "hi"}, schema_version=1)  # v1 -> v2 greets anew
    assert payload_field((8, greeted.originator_id.hex, 1, UpcastDemo.TOPIC, greeted.state), "greeting") == "hello Ada"


def _reshaped(state: bytes, change: Any) -> bytes:
    document = orjson.loads(state)
    change(document)
    return orjson.dumps(document)


@pytest.mark.parametrize("change", [
    lambda d: d["payload"].update(unknown=1),
    lambda d: d["payload"].pop("tax"),
    lambda d: d["meta"].update(unknown="x"),
    lambda d: d["meta"].pop("actor"),
    lambda d: d.update(unknown=1),
    lambda d: d.update(schema_version=0),
    lambda d: d.update(payload=d.pop("payload"), recorded_at=d.pop("recorded_at")),  # the payload not last
    lambda d: d.update(payload=[d.pop("payload")]),
])
def test_only_a_current_models_own_json_is_read_as_stored(change):
    state = encode_state(_payment())
    assert current_document(PaymentRecorded.TOPIC, state) == (
        1, orjson.loads(state)["recorded_at"], orjson.loads(state)["meta"], orjson.loads(state)["payload"],
        _payment().payload_json,
    )
    assert current_document(PaymentRecorded.TOPIC, _reshaped(state, change)) is None
    assert current_document(PaymentRecorded.TOPIC, state.replace(b',"payload":', b', "payload":')) is None


@given(st.uuids(), st.integers(min_value=0, max_value=2**63))
def test_an_event_id_is_the_uuid5_of_its_version_in_its_aggregates_id(originator_id, version):
    expected = str(uuid5(originator_id, str(version)))
    assert event_id_text(originator_id, version) == event_id_text(originator_id.hex, version) == expected


_MOMENTS = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]),
)


@given(_MOMENTS, st.booleans())
def test_stored_times_become_the_columns_text_of_the_parsed_time(moment, whole_seconds):
    if whole_seconds:
        moment = moment.replace(microsecond=0)
    adapter = TypeAdapter(datetime)
    # as pydantic and the store write them, and as a column holds them
    for text in (adapter.dump_json(moment).decode().strip('"'), moment.isoformat(), ts(moment)):
        parsed = adapter.validate_json(f'"{text}"')
        assert ts_text(text) == ts(parsed)
        assert iso_text(text) == parsed.isoformat()


@given(st.text(max_size=40) | st.text(max_size=30).map(lambda t: t + "+00:00") | st.text(max_size=22).map(lambda t: t + "Z"))
def test_a_text_that_is_no_time_is_refused_as_a_value_error(text):
    """What the relay's long way catches (``WireSource.from_row``), whatever the text."""
    with contextlib.suppress(ValueError):
        iso_text(text)


def _indexes(runtime: Any, prefix: str) -> set[str]:
    db = runtime.db
    if db.is_postgres:
        rows = db.fetch_all("SELECT indexname FROM pg_indexes WHERE schemaname = %s AND indexname LIKE %s"
                            " AND indexname NOT LIKE %s", (db.schema, f"{prefix}%", "%_pkey"))  # primary keys aside
    else:
        rows = db.fetch_all("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE %s AND sql IS NOT NULL",
                            (f"{prefix}%",))  # (a primary key's index has no sql)
    return {row[0].removeprefix(prefix) for row in rows}


def test_a_rebuild_appends_without_secondary_indexes_and_builds_them_at_the_end(ledger):
    history(ledger)
    runtime = ledger.app
    rebuilt = ProjectionRunner(runtime.db, runtime.store, live_views(), prefix="idx_", disposable=True)
    rebuilt.setup(indexes=False)
    try:
        assert _indexes(runtime, "idx_") == set()
        rebuilt.rebuild()
        rebuilt.create_indexes()
        assert _indexes(runtime, "idx_") == _indexes(runtime, "proj_") != set()
        assert table_rows(runtime, Tables("idx_")) == table_rows(runtime, Tables("proj_"))
    finally:
        rebuilt.drop()
