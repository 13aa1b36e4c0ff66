"""``POST /v1/commands``: one command, a JSON array or JSON Lines; the Idempotency-Key
header; problems named like the CLI's; nothing recorded from a bad request; role checks
per command type; the invite link an approval answers (never in the log)."""

from __future__ import annotations

import json

from tests import builders as b


def _lines(*commands):
    return "\n".join(json.dumps(c) for c in commands).encode()


def test_one_command_answers_its_result_and_the_log_position(http):
    answer = http.post("/v1/commands", as_="admin", json=b.program())
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ok"] and body["type"] == "define_program"
    assert body["position"] == http.driver.event_count()


def test_a_refused_command_is_a_problem_with_the_clis_code_and_field(http):
    http.post("/v1/commands", as_="admin", json=b.program())
    before = http.driver.event_count()
    refused = http.post("/v1/commands", as_="admin", json=b.approve("ghost"))
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    cli_error = http.driver.refused(b.approve("ghost"))
    assert (problem["code"], problem["field"], problem["detail"]) == (cli_error["code"], cli_error["field"], cli_error["message"])
    assert problem["command_type"] == "approve_application"
    assert http.driver.event_count() == before


def test_unknown_fields_and_bad_values_are_all_named_and_nothing_is_recorded(http):
    bad = {**b.program(), "colour": "red", "program_id": ""}
    refused = http.post("/v1/commands", as_="admin", json=bad)
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert {"colour", "program_id"} <= fields
    assert http.driver.event_count() == 0


def test_malformed_json_is_400_and_nothing_is_recorded(http):
    refused = http.post("/v1/commands", as_="admin", content=b'{"type": "define_program",', headers={"Content-Type": "application/json"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_json"
    lines = _lines(b.program()) + b"\nnot json\n" + _lines(b.program("other")) + b"\n{oops"
    refused = http.post("/v1/commands", as_="admin", content=lines, headers={"Content-Type": "application/x-ndjson"})
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["line 2", "line 4"]
    assert http.driver.event_count() == 0
    assert http.post("/v1/commands", as_="admin", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415


def test_hostile_bodies_are_400_not_a_server_error(http):
    json_type = {"Content-Type": "application/json"}
    for body in (b'{"type": "define_program", "program_id": "\xff"}', b"NaN"):  # a deep body: below
        refused = http.post("/v1/commands", as_="admin", content=body, headers=json_type)
        assert refused.status_code in (400, 422) and refused.json()["code"] in ("invalid_json", "invalid"), refused.text
    lines = b"[" * 100_000 + b"\n" + b"\xff\xfe"
    refused = http.post("/v1/commands", as_="admin", content=lines, headers={"Content-Type": "application/x-ndjson"})
    assert refused.status_code == 400 and [e["field"] for e in refused.json()["errors"]] == ["line 1", "line 2"]
    assert http.driver.event_count() == 0


def test_a_batch_with_one_invalid_command_records_nothing(http):
    batch = [b.program(), {**b.program("p2"), "surprise": 1}]
    refused = http.post("/v1/commands", as_="admin", json=batch)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "[1].surprise"
    assert http.driver.event_count() == 0


def test_a_batch_answers_one_result_per_command_like_ledger_apply(http):
    batch = [b.program(), *b.partner("p1"), b.approve("p1")]
    for body, content_type in ((json.dumps(batch).encode(), "application/json"), (_lines(*batch), "application/x-ndjson")):
        answer = http.post("/v1/commands", as_="admin", content=body, headers={"Content-Type": content_type})
        assert answer.status_code == 200, answer.text
        results = answer.json()["results"]
        assert len(results) == 4
        assert results[-1]["error"]["code"] == "invalid_state"  # approved twice
        assert answer.json()["position"] == http.driver.event_count()


def test_the_idempotency_key_is_the_command_id(http):
    headers = {"Idempotency-Key": "key-1"}
    first = http.post("/v1/commands", as_="admin", json=b.program(), headers=headers)
    again = http.post("/v1/commands", as_="admin", json=b.program(), headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json()["position"] == again.json()["position"], "nothing recorded twice"
    different = http.post("/v1/commands", as_="admin", json=b.program("other"), headers=headers)
    assert different.status_code == 409 and different.json()["field"] == "command_id"
    clash = http.post("/v1/commands", as_="admin", json={**b.program(), "command_id": "x"}, headers=headers)
    assert clash.status_code == 409


def test_the_caller_is_the_actor_in_the_audit_trail(http):
    http.post("/v1/commands", as_="admin", json=b.program())
    answer = http.post("/v1/commands", as_="admin", json=[*b.partner("p1")])
    assert answer.status_code == 200
    trail = http.get("/v1/partners/p1/audit", as_="auditor").json()
    [credential] = [c for c in http.driver.app.access.credentials() if c.role == "admin"]
    assert {e["actor"] for e in trail} == {f"admin:{credential.credential_id}"}
    assert {e["source"] for e in trail} == {"api"}


def test_roles_may_send_only_their_commands(http):
    refused = http.post("/v1/commands", as_="billing", json=b.program())
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert http.post("/v1/commands", as_="auditor", json=b.program()).status_code == 403
    mixed = http.post("/v1/commands", as_="admin", json=[b.program(), b.signup("c1")])
    assert mixed.status_code == 403 and "sign_up_customer" in mixed.json()["detail"]
    assert http.driver.event_count() == 0
    assert http.post("/v1/commands", as_="billing", json=b.signup("c1")).status_code == 200


def test_an_approval_answers_a_one_time_invite_that_never_reaches_the_log(http):
    http.post("/v1/commands", as_="admin", json=[b.program(), b.application("p1")])
    approved = http.post("/v1/commands", as_="admin", json=b.approve("p1"))
    assert approved.status_code == 200
    invite = approved.json()["invite"]
    assert invite["url"].startswith("http://testserver/invite/li_") and invite["expires_at"]
    secret = invite["url"].rsplit("/", 1)[1]
    with http.driver.app.db.connect() as conn, http.driver.app.db.transaction(conn) as cursor:
        cursor.execute(f"SELECT * FROM {http.driver.app.db.events_table()}")
        log = json.dumps(cursor.fetchall(), default=str)
    assert secret not in log
    path = invite["url"].removeprefix("http://testserver")
    assert http.post(path, headers={"Origin": "http://testserver"}).status_code == 303  # from the ledger's own page
    assert http.get("/v1/partners/p1/balance").json()["partner_id"] == "p1"
    assert http.get("/v1/me").json() == {"role": "partner", "partner_id": "p1", "permissions": [
        "command:create_resold_customer", "command:request_payout", "command:rotate_partner_code", "command:set_notices",
        "command:set_payout_details", "command:submit_lead", "command:submit_tax_form", "command:update_profile", "read:own"],
        "actor": "partner:p1"}


def test_a_deeply_nested_body_is_a_clear_400(http):
    deep = b"[" * 100_000 + b"]" * 100_000
    refused = http.post("/v1/commands", as_="admin", content=deep, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_json"
    assert http.driver.event_count() == 0


def test_commands_that_are_not_objects_are_named(http):
    refused = http.post("/v1/commands", as_="admin", json=[b.program(), [1], None, 7])
    assert refused.status_code == 400
    assert [e["field"] for e in refused.json()["errors"]] == ["[1]", "[2]", "[3]"]
    assert http.post("/v1/commands", as_="admin", json=7).status_code == 400
    assert http.driver.event_count() == 0
