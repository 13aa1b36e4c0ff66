"""Robustness suite, privacy: after forget_partner / forget_customer, nothing of the
person is left readable: not in a full dump of the database (the log decoded), not in
anything the commands printed or logged (at DEBUG), not in what Kafka is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.relay import wire_envelope
from tests import builders as b
from tests.robustness import case, dump, jsonl, ledger_session

JANE = {  # a sole trader: her company is her name
    "email": "jane.doe@janedoe-consulting.example", "company": "Jane Doe Consulting",
    "website": "https://www.janedoe-consulting.example", "account": "DE89370400440532013000",
}
MAX = {"email": "max.mustermann@mustermann-bakery.example", "company": "Max Mustermann Bakery"}
# What must not be readable anywhere: each value and its distinctive parts.
SECRETS = [
    *JANE.values(), "jane.doe", "janedoe-consulting", "Jane Doe", "370400440532013000",
    *MAX.values(), "max.mustermann", "mustermann-bakery", "Mustermann",
]


def history() -> list[dict[str, Any]]:
    application = b.application("p1", email=JANE["email"])
    application["profile"].update(company=JANE["company"], website=JANE["website"])
    signup = {**b.signup("c1", email=MAX["email"]), "company": MAX["company"]}
    return [
        b.program(terms=b.terms()), application, b.approve("p1"),
        b.cmd("set_payout_details", partner_id="p1", method="sepa", account=JANE["account"]),
        b.cmd("submit_tax_form", partner_id="p1", form="W-8BEN"),
        signup, b.claim("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "100.00"}), b.refund("r1", "pay1", "10.00"),
        b.cmd("close_period", program_id="prog", period="2025-02", at="2025-03-01T00:00:00Z"),
    ]


def leaks(text: str) -> list[str]:
    lowered = text.lower()
    return [secret for secret in SECRETS if secret.lower() in lowered]


@pytest.mark.parametrize("store", ["sqlite", "pg"])
def test_nothing_of_a_forgotten_person_is_readable_anywhere(store, request, tmp_path):
    url = request.getfixturevalue(f"{store}_url")
    setup = tmp_path / "history.jsonl"
    setup.write_text(jsonl(history()))
    forget = tmp_path / "forget.jsonl"
    forget.write_text(jsonl([b.cmd("forget_partner", partner_id="p1", reason="erasure request"),
                             b.cmd("forget_customer", customer_id="c1", reason="erasure request")]))
    printed_before, logged_before = ledger_session(url, [["apply", str(setup)]])
    assert printed_before.count('"ok": true') == len(history()), printed_before
    printed, logged = ledger_session(url, [
        ["apply", str(forget)],
        ["partner", "p1"], ["partner", "p1", "--json"], ["audit", "p1"], ["audit", "p1", "--json"],
        ["audit", "--customer", "c1", "--json"], ["list", "partners", "--json"], ["list", "partners"],
        ["list", "applications", "--state", "approved", "--json"], ["statement", "p1", "--period", "2025-02", "--json"],
        ["balance", "p1", "--json"], ["replay", "--verify"], ["verify"], ["snapshot", "take"],
    ])
    assert '"forgotten": true' in printed and printed.count('"code": 0') >= 13, printed
    ledger = bootstrap(database_url=url)
    try:
        published = [
            json.dumps(wire_envelope(ledger.store.decode(n), n.id))
            for n in ledger.store.notifications(0, 10_000)
        ]
        assert ledger.queries.partner("p1")["profile"]["company"] == "[forgotten]"
    finally:
        ledger.close()
    places = {
        "database dump": dump(url), "printed before forgetting": printed_before, "logged before forgetting": logged_before,
        "printed after forgetting": printed, "logged after forgetting": logged, "kafka payloads": "\n".join(published),
    }
    for place, text in places.items():
        with case("privacy"):
            assert leaks(text) == [], f"{place} holds personal data: {leaks(text)}"


def test_the_partner_record_shows_personal_fields_until_forgotten(ledger):
    ledger.ok(*history()[:4])
    profile = ledger.cli_json("partner", "p1")["profile"]
    assert (profile["company"], profile["website"]) == (JANE["company"], JANE["website"])
    assert profile["contact_email"] == "j***@janedoe-consulting.example"
    ledger.ok(b.cmd("forget_partner", partner_id="p1", reason="erasure request"))
    profile = ledger.cli_json("partner", "p1")["profile"]
    assert profile["company"] == profile["website"] == profile["contact_email"] == "[forgotten]"
    assert profile["city"] == "Berlin"  # business facts, not personal data


def test_a_forgotten_customer_cannot_sign_up_again_with_personal_data(ledger):
    ledger.ok(b.program(terms=b.terms()), b.signup("c1"), b.cmd("forget_customer", customer_id="c1", reason="erasure"))
    error = ledger.refused({**b.signup("c2"), "customer_id": "c1", "company": "Max Mustermann Bakery"})
    assert error["code"] in {"forgotten", "conflict"}
