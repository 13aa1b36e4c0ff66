"""The event catalogue: stable topics, exact JSON storage, upcasting, code moves."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

import events  # noqa: F401  (registers the whole catalogue)
from adapters.event_store import decode, encode_state
from events import base
from events.base import Event, EventMeta, event_class_for_topic, registered_events
from events.revenue import Earning, PaymentRecorded, RevenueLine
from ledger.aggregate import Envelope

# The stored names of every event. A rename breaks every stored event of that type,
# so it must be a deliberate change of this list (and come with a migration).
CATALOGUE_TOPICS = {
    "adjustment.recorded",
    "command.accepted",
    "cost.recorded",
    "customer.claim_rejected",
    "customer.claimed",
    "customer.do_not_contact_set",
    "customer.first_paid",
    "customer.forgotten",
    "customer.signed_up",
    "lead.converted",
    "lead.refused",
    "lead.submitted",
    "partner.active_until_set",
    "partner.application_approved",
    "partner.application_rejected",
    "partner.application_submitted",
    "partner.code_issued",
    "partner.commission_rate_set",
    "partner.forgotten",
    "partner.level_changed",
    "partner.meeting_recorded",
    "partner.notices_set",
    "partner.payout_details_set",
    "partner.payout_account_revealed",
    "partner.profile_updated",
    "partner.sign_in_link_issued",
    "partner.referral_link_issued",
    "partner.tax_form_submitted",
    "partner.terminated",
    "partner.training_completed",
    "payment.commission_reviewed",
    "payment.recorded",
    "payment.reversed",
    "payout.recorded", "payout.requested",
    "referral.assigned",
    "program.defined",
    "program.period_closed",
    "program.promo_closed",
    "program.promo_slot_taken",
    "program.terms_changed",
    "statement.issued",
    "statement.released",
}

T = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


def _catalogue() -> dict[str, type[Event]]:
    """The registry without the demo events tests define for themselves."""
    return {topic: cls for topic, cls in registered_events().items() if not topic.startswith("test.")}


def _all_subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _meta(at: datetime = T) -> EventMeta:
    return EventMeta(effective_at=at, actor="tester", source="api", correlation_id="corr-1")


def _envelope(payload: Event, *, recorded: datetime = T, effective: datetime = T, version: int = 1) -> Envelope:
    return Envelope(uuid4(), version, recorded, _meta(effective), payload)


def _payment(**overrides: Any) -> PaymentRecorded:
    fields: dict[str, Any] = {
        "payment_id": "pay-1", "customer_id": "c-1", "currency": "USD",
        "lines": [RevenueLine(kind="subscription", amount=Decimal("10.50")),
                  RevenueLine(kind="setup", amount=Decimal("0.1"))],
        "tax": Decimal("2.00"), "paid_amount": Decimal("12.60"),
        "earning": Earning(kind="commission", partner_id="p-1", rate=Decimal("0.333"),
                           base=Decimal("10.50"), amount=Decimal("3.50"), payable_at=T + timedelta(days=30)),
    }
    return PaymentRecorded(**(fields | overrides))


# -- topics -------------------------------------------------------------------------------


def test_catalogue_topics_are_exactly_the_stable_list() -> None:
    assert set(_catalogue()) == CATALOGUE_TOPICS


def test_every_event_class_has_its_own_topic_and_is_registered_under_it() -> None:
    concrete = [cls for cls in _all_subclasses(Event) if "TOPIC" in cls.__dict__]
    catalogue = [cls for cls in concrete if not cls.TOPIC.startswith("test.")]
    topics = [cls.TOPIC for cls in catalogue]
    assert len(topics) == len(set(topics)), sorted(t for t in topics if topics.count(t) > 1)
    for cls in catalogue:
        assert event_class_for_topic(cls.TOPIC) is cls
        # A topic is a stable dotted name, never a Python path ("module:qualname").
        assert ":" not in cls.TOPIC and cls.__module__ not in cls.TOPIC
        assert cls.TOPIC.lower() == cls.TOPIC and cls.TOPIC.count(".") == 1


def test_every_schema_version_has_its_upcasters() -> None:
    for topic, cls in _catalogue().items():
        assert cls.SCHEMA_VERSION >= 1, topic
        for version in range(1, cls.SCHEMA_VERSION):
            assert callable(getattr(cls, f"upcast_v{version}_v{version + 1}", None)), (topic, version)


def test_unknown_topic_is_a_lookup_error() -> None:
    with pytest.raises(LookupError):
        event_class_for_topic("no.such_event")


def test_a_second_class_cannot_take_an_existing_topic() -> None:
    with pytest.raises(TypeError, match="registered twice"):
        type("Impostor", (Event,), {"TOPIC": "payment.recorded", "__annotations__": {}})
    assert event_class_for_topic("payment.recorded") is PaymentRecorded


# -- exact JSON storage ---------------------------------------------------------------------


def _stored(envelope: Envelope) -> StoredEvent:
    """An envelope as the store writes it (``EventStore.append``): its topic and ``encode_state``."""
    return StoredEvent(envelope.originator_id, envelope.originator_version, envelope.payload.TOPIC, encode_state(envelope))


def test_decimals_and_times_round_trip_exactly_through_the_store_encoding() -> None:
    original = _envelope(_payment(), recorded=T + timedelta(microseconds=1))
    stored = _stored(original)
    back = decode(stored)

    assert stored.topic == "payment.recorded"
    payload = back.payload
    assert isinstance(payload, PaymentRecorded)
    assert payload == original.payload
    # Same value *and* same representation: "10.50" stays "10.50", "0.1" stays "0.1".
    assert str(payload.lines[0].amount) == "10.50"
    assert payload.lines[0].amount.as_tuple() == Decimal("10.50").as_tuple()
    assert str(payload.lines[1].amount) == "0.1"
    assert payload.lines[1].amount == Decimal("0.1")  # exact, not 0.1000000000000000055...
    assert str(payload.earning.rate) == "0.333"
    assert str(payload.paid_amount) == "12.60"

    # Times keep their microseconds and stay UTC, in business and recorded time alike.
    assert back.timestamp == T + timedelta(microseconds=1)
    assert back.timestamp.microsecond == 123457
    assert back.timestamp.utcoffset() == timedelta(0)
    assert back.meta.effective_at == T and back.meta.effective_at.utcoffset() == timedelta(0)
    assert payload.earning.payable_at == T + timedelta(days=30)
    assert back.meta == original.meta
    assert (back.originator_id, back.originator_version) == (original.originator_id, original.originator_version)
    assert back.event_id == original.event_id


def test_stored_state_is_plain_json_with_decimal_strings_not_pickle() -> None:
    stored = _stored(_envelope(_payment()))
    assert stored.state.startswith(b"{") and not stored.state.startswith(b"\x80")
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(stored.state)
    state = json.loads(stored.state)
    assert set(state) == {"schema_version", "recorded_at", "meta", "payload"}
    assert state["schema_version"] == 1
    # Amounts are JSON strings (never floats), written exactly as given.
    assert state["payload"]["lines"][0]["amount"] == "10.50"
    assert state["payload"]["lines"][1]["amount"] == "0.1"
    assert state["payload"]["tax"] == "2.00"
    assert state["meta"]["effective_at"].startswith("2025-03-04T05:06:07.123456")
    assert state["recorded_at"] == "2025-03-04T05:06:07.123456+00:00"
    assert b"events.revenue" not in stored.state and b"PaymentRecorded" not in stored.state


def test_json_state_is_the_same_bytes_after_a_round_trip() -> None:
    stored = _stored(_envelope(_payment()))
    again = _stored(decode(stored))
    assert again.state == stored.state and again.topic == stored.topic


def test_non_utc_effective_time_keeps_the_same_instant() -> None:
    plus_two = T.astimezone(timezone(timedelta(hours=2)))
    back = decode(_stored(_envelope(_payment(), effective=plus_two)))
    assert back.meta.effective_at == T  # the same instant
    assert back.meta.effective_at.microsecond == 123456


def test_amounts_are_stored_exactly_through_a_real_store(sqlite_ledger: Any) -> None:
    from tests import builders as b

    sqlite_ledger.ok(
        b.program(preset="refer-resell"), *b.partner("p1"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "10.50", "setup": "0.10"}, tax="1.05"),
    )
    store = sqlite_ledger.app.store
    [stored] = [n for n in store.notifications(0, 1000) if n.topic == "payment.recorded"]
    state = json.loads(stored.state)
    assert [line["amount"] for line in state["payload"]["lines"]] == ["10.50", "0.10"]
    assert state["payload"]["paid_amount"] == "11.65"
    assert state["payload"]["earning"]["amount"] == "1.58"  # 15 % of 10.50 = 1.575 -> 1.58 (half up)
    envelope = decode(stored)
    assert str(envelope.payload.lines[0].amount) == "10.50"  # type: ignore[attr-defined]


# -- upcasting --------------------------------------------------------------------------------


class UpcastDemo(Event):
    """v1 had only ``name``; v2 added ``greeting``."""

    TOPIC = "test.upcast_demo"
    SCHEMA_VERSION = 2
    name: str
    greeting: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "greeting": f"hello {state['name']}"}


class ThreeStepDemo(Event):
    TOPIC = "test.three_step_demo"
    SCHEMA_VERSION = 3
    amount: Decimal
    currency: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> dict[str, Any]:
        return {"amount": str(Decimal(state["cents"]).scaleb(-2))}

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> dict[str, Any]:
        return {**state, "currency": "USD"}


class GapDemo(Event):
    """Version 3 with no upcaster from v1: old events cannot be read."""

    TOPIC = "test.gap_demo"
    SCHEMA_VERSION = 3
    value: str

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> dict[str, Any]:
        return state


def _hand_stored(topic: str, payload: dict[str, Any], schema_version: int, *, recorded: datetime = T,
                 effective: datetime = T) -> StoredEvent:
    state = {
        "schema_version": schema_version,
        "recorded_at": recorded.isoformat(),
        "meta": _meta(effective).model_dump(mode="json"),
        "payload": payload,
    }
    return StoredEvent(originator_id=uuid4(), originator_version=1, topic=topic, state=json.dumps(state).encode())


def test_decode_upcasts_a_v1_payload_to_the_current_model() -> None:
    envelope = decode(_hand_stored("test.upcast_demo", {"name": "Ada"}, schema_version=1))
    assert isinstance(envelope.payload, UpcastDemo)
    assert envelope.payload == UpcastDemo(name="Ada", greeting="hello Ada")
    assert envelope.timestamp == T


def test_current_version_is_decoded_without_upcasting() -> None:
    envelope = decode(_hand_stored("test.upcast_demo", {"name": "Ada", "greeting": "hi"}, schema_version=2))
    assert envelope.payload == UpcastDemo(name="Ada", greeting="hi")


def test_upcasters_chain_over_several_versions() -> None:
    envelope = decode(_hand_stored("test.three_step_demo", {"cents": "1050"}, schema_version=1))
    assert envelope.payload == ThreeStepDemo(amount=Decimal("10.50"), currency="USD")
    assert str(envelope.payload.amount) == "10.50"  # type: ignore[attr-defined]


def test_new_events_are_stored_with_their_current_schema_version() -> None:
    stored = _stored(_envelope(UpcastDemo(name="Ada", greeting="hi")))
    assert json.loads(stored.state)["schema_version"] == 2
    assert decode(stored).payload == UpcastDemo(name="Ada", greeting="hi")


def test_missing_upcaster_raises_lookup_error() -> None:
    with pytest.raises(LookupError, match="no upcaster from v1"):
        decode(_hand_stored("test.gap_demo", {"value": "x"}, schema_version=1))
    # From v2 the chain is complete.
    assert decode(_hand_stored("test.gap_demo", {"value": "x"}, schema_version=2)).payload == GapDemo(value="x")


def test_upcasting_does_not_touch_the_stored_bytes() -> None:
    stored = _hand_stored("test.upcast_demo", {"name": "Ada"}, schema_version=1)
    before = bytes(stored.state)
    decode(stored)
    assert stored.state == before


# -- classes can move -------------------------------------------------------------------------


def test_a_moved_event_class_still_decodes_because_the_topic_is_stored() -> None:
    topic = "test.moved_demo"

    class MovedDemo(Event):
        TOPIC = "test.moved_demo"
        note: str
        amount: Decimal

    try:
        stored = _stored(_envelope(MovedDemo(note="before", amount=Decimal("1.10"))))
        assert stored.topic == topic
        # Nothing about the Python location is in the stored event.
        for python_path in (MovedDemo.__module__, MovedDemo.__qualname__, "MovedDemo", "tests."):
            assert python_path not in stored.topic
            assert python_path.encode() not in stored.state

        # The code moves: a new process knows only the class in its new module,
        # under a new name, with the same topic.
        base._REGISTRY.pop(topic)
        relocated = type(
            "RenamedDemo", (Event,),
            {
                "__module__": "somewhere.else.entirely",
                "__qualname__": "Namespace.RenamedDemo",
                "__annotations__": {"note": "str", "amount": "Decimal"},
                "TOPIC": topic,
            },
        )
        relocated.model_rebuild(_types_namespace={"Decimal": Decimal})
        assert event_class_for_topic(topic) is relocated

        payload = decode(stored).payload
        assert type(payload) is relocated
        assert payload.note == "before"  # type: ignore[attr-defined]
        assert payload.amount == Decimal("1.10") and str(payload.amount) == "1.10"  # type: ignore[attr-defined]
    finally:
        base._REGISTRY.pop(topic, None)
