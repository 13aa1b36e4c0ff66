"""The JSON Schemas handed to Kafka consumers stay in step with the pydantic models."""

from __future__ import annotations

import json

import jsonschema
import orjson

from events import schema_export
from events.wire import PRIVATE_FIELDS, public_json, public_payload
from projections import audit_view


def test_schema_files_match_the_models():
    problems = schema_export.drift()
    assert problems == [], "events/schemas/ drifted from the models; run `python -m events.schema_export`:\n" + "\n".join(problems)


def test_drift_is_detected(tmp_path):
    schema_export.write(tmp_path)
    assert schema_export.drift(tmp_path) == []
    target = tmp_path / "payment.recorded.v1.json"
    target.write_text(target.read_text().replace('"payment_id"', '"payment_ref"'))
    (tmp_path / "gone.v1.json").write_text("{}\n")
    (tmp_path / "customer.claimed.v1.json").unlink()
    assert schema_export.drift(tmp_path) == [
        "missing: customer.claimed.v1.json",
        "stale (nothing generates it): gone.v1.json",
        "out of date: payment.recorded.v1.json",
    ]
    assert schema_export.main(["--check", "--dir", str(tmp_path)]) == 1


def test_every_published_event_type_has_a_valid_schema_without_personal_fields():
    published = schema_export.published_events()
    assert {"payment.recorded", "statement.issued", "payout.recorded"} <= set(published)
    for event_type, model in published.items():
        path = schema_export.SCHEMA_DIR / schema_export.file_name(event_type, model.SCHEMA_VERSION)
        schema = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["x-event-type"] == event_type

        assert not _private_properties(schema), event_type


def _private_properties(node: object) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_private_properties(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = set(PRIVATE_FIELDS) & set(node.get("properties", {}))
    return found.union(*(_private_properties(value) for value in node.values()))


def test_one_privacy_rule_for_the_audit_trail_and_kafka():
    assert audit_view.public_json is public_json
    fields = {"partner_id": "p1", "profile": {"company": "A", "contact_email": "sealed:x", "city": "Berlin"},
              "email_hash": "h", "items": [{"account": "sealed:y", "n": 1}, "sealed:z", "ok"], "note": "sealed:q"}
    # Personal fields go even in plain text (events recorded before they were sealed).
    public = {"partner_id": "p1", "profile": {"city": "Berlin"}, "items": [{"n": 1}, "ok"]}
    assert public_payload(fields) == orjson.loads(public_json(orjson.dumps(fields))) == public
