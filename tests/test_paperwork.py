"""A partner's own paperwork (issue 18 item 4): the tax form with its details sealed and
a signed PDF kept sealed in the vault, payout details (an IBAN checked with its BIC, or
PayPal), profile edits; each through the bus with the partner as the actor, audited,
shown masked. A balance carried forward only for want of the tax form becomes payable
once the partner hands it in. v1 events still read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.event_store import decode
from events.partner import PayoutDetailsSet, TaxFormSubmitted
from tests import builders as b
from tests.builders import TERMS, close
from tests.pages import notice
from tests.test_events import _hand_stored

PDF = b"%PDF-1.4\n% a signed W-8BEN\n" + b"0" * 2000 + b"\n%%EOF\n"
W8BEN = {"type": "submit_tax_form", "partner_id": "p1", "form": "W-8BEN", "legal_name": "Ada Lovelace",
         "country": "DE", "tax_id": "DE123456789"}
IBAN = {"type": "set_payout_details", "partner_id": "p1", "method": "iban", "account": "DE89 3704 0044 0532 0130 00"}


def held_for_want_of_a_tax_form(http: Any) -> None:
    """p1 earned 100.00 in January; the January close carried it forward: no tax form."""
    http.driver.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.partner("p2"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def send(http: Any, command: dict[str, Any], partner_id: str = "p1") -> Any:
    return http.post("/v1/commands", as_="partner", partner_id=partner_id, json=command)


# -- the held payout ----------------------------------------------------------------------------


def test_a_held_payout_becomes_payable_once_the_partner_hands_in_its_tax_form_and_payout_details(http):
    held_for_want_of_a_tax_form(http)
    [statement] = http.get("/v1/partners/p1/statements/2025-01", as_="partner", partner_id="p1").json()
    assert (statement["closing"], statement["due"], statement["carried_forward_because"]) == (
        "100.00", "0.00", ["no tax form on file"])
    assert http.driver.balance("p1")["due"] == "0.00"

    form = send(http, W8BEN)
    assert form.status_code == 200, form.text
    assert form.json()["released"] == ["prog/p1/USD/2025-01"] and form.json()["tax_id"] == "********789"
    assert send(http, IBAN).status_code == 200

    balance = http.get("/v1/partners/p1/balance", as_="partner", partner_id="p1").json()["currencies"]["USD"]
    assert balance["due"] == "100.00"
    # Time travel agrees: as of now the balance is due, as of before the form it was not.
    assert http.driver.balance("p1", as_of=datetime.now(UTC))["due"] == "100.00"
    assert http.driver.balance("p1", as_of=datetime(2025, 3, 1, tzinfo=UTC))["due"] == "0.00"
    due = http.get("/v1/payouts/due", as_="finance").json()["items"]
    assert [(d["partner_id"], d["due"], d["statement_ids"]) for d in due] == [("p1", "100.00", ["prog/p1/USD/2025-01"])]
    http.driver.ok(b.payout("po-1", "100.00", ["prog/p1/USD/2025-01"]))
    assert http.driver.balance("p1")["due"] == "0.00" and http.driver.balance("p1")["paid"] == "100.00"
    # The statement stays as issued; the release is its own line in the audit trail, by the partner.
    trail = http.get("/v1/partners/p1/audit", as_="partner", partner_id="p1").json()
    released = [e for e in trail if e["type"] == "statement.released"]
    assert [(e["actor"], e["what"]) for e in released] == [("partner:p1", "statement released prog/p1/USD/2025-01 due 100.00 USD")]


def test_only_a_missing_tax_form_is_released_not_a_balance_below_the_minimum(http):
    http.driver.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-01-15T00:00:00Z"),  # 20.00: below the 50.00 minimum
        close("2025-01", "2025-02-01T01:00:00Z"),
    )
    assert send(http, W8BEN).json()["released"] == []
    assert http.driver.balance("p1")["due"] == "0.00"


# -- sealed, masked, audited --------------------------------------------------------------------


def test_the_tax_form_is_sealed_and_shown_masked_and_audited_with_the_partner_as_actor(http):
    held_for_want_of_a_tax_form(http)
    assert send(http, W8BEN).status_code == 200
    record = http.get("/v1/partners/p1", as_="partner", partner_id="p1").json()
    assert record["tax_form_details"] | {"handed_in_at": None} == {
        "form": "W-8BEN", "handed_in_at": None, "legal_name": "A*** L***", "country": "DE", "tax_id": "********789",
        "signed_form": None,
    }
    stored = _stored_payloads(http, "partner.tax_form_submitted")
    assert "Ada Lovelace" not in stored and "DE123456789" not in stored and "sealed:" in stored
    [entry] = [e for e in http.get("/v1/partners/p1/audit", as_="admin").json() if e["type"] == "partner.tax_form_submitted"]
    assert entry["actor"] == "partner:p1" and entry["what"] == "partner tax form submitted p1 (W-8BEN, DE)"
    assert not {"legal_name", "tax_id", "tax_id_masked"} & set(entry["details"])


def test_payout_details_check_the_iban_and_bic_and_show_them_masked(http):
    held_for_want_of_a_tax_form(http)
    answer = send(http, IBAN).json()
    assert (answer["account"], answer["bic"]) == ("******************3000", "COBADEFFXXX")  # the BIC its bank code names
    record = http.get("/v1/partners/p1", as_="partner", partner_id="p1").json()
    assert record["payout_method"] == {"method": "iban", "account": "******************3000", "bic": "COBADEFFXXX"}
    assert "DE89370400440532013000" not in _stored_payloads(http, "partner.payout_details_set")
    paypal = send(http, {"type": "set_payout_details", "partner_id": "p1", "method": "paypal", "account": "ada@example.com"})
    assert paypal.status_code == 200 and paypal.json()["bic"] is None


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"account": "DE89 3704 0044 0532 0130 01"}, "account", "Invalid checksum"),
    ({"account": "XX00 1234"}, "account", "not a valid IBAN"),
    ({"bic": "BNPAFRPP"}, "bic", "the IBAN is from DE"),
    ({"bic": "NOT A BIC"}, "bic", "not a valid BIC"),
    ({"method": "paypal", "account": "not-an-address"}, "account", "e-mail address"),
    ({"method": "paypal", "account": "ada@example.com", "bic": "COBADEFFXXX"}, "bic", "only an iban"),
])
def test_bad_payout_details_are_refused_naming_the_field_and_nothing_is_recorded(http, change, field, says):
    held_for_want_of_a_tax_form(http)
    before = http.driver.event_count()
    answer = send(http, {**IBAN, **change})
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["errors"]
    assert problem["field"] == field and says in problem["message"]
    assert http.driver.event_count() == before


@pytest.mark.parametrize(("change", "field"), [
    ({"tax_id": None}, "tax_id"),  # legal name, country and tax id go together
    ({"country": "US"}, "country"),  # a W-8BEN is for foreign persons
    ({"form": "W-9"}, "country"),  # a W-9 for US persons
    ({"signed_form": {"content_base64": "bm90IGEgcGRm"}}, "signed_form.content_base64"),  # "not a pdf"
    ({"signed_form": {"content_base64": "***"}}, "signed_form.content_base64"),
])
def test_a_bad_tax_form_is_refused_naming_the_field(http, change, field):
    held_for_want_of_a_tax_form(http)
    command = {k: v for k, v in {**W8BEN, **change}.items() if v is not None}
    answer = send(http, command)
    assert answer.status_code == 422, answer.text
    assert field in [p["field"] for p in answer.json()["errors"]]
    assert http.driver.balance("p1")["due"] == "0.00"


def test_a_profile_edit_is_sealed_masked_and_moves_self_referral_detection(http):
    held_for_want_of_a_tax_form(http)
    answer = send(http, {"type": "update_profile", "partner_id": "p1", "contact_email": "ada@newco.example",
                         "website": "https://newco.example"})
    assert answer.status_code == 200 and answer.json()["changed"] == ["contact_email", "website"]
    profile = http.get("/v1/partners/p1", as_="partner", partner_id="p1").json()["profile"]
    assert (profile["contact_email"], profile["website"]) == ("a***@newco.example", "https://newco.example")
    assert "ada@newco.example" not in _stored_payloads(http, "partner.profile_updated")
    # A customer at the new domain now looks like the partner's own business: held for review.
    http.driver.ok(*b.customer("c2", "p1", email="cfo@newco.example"),
                   b.payment("pay2", "c2", {"subscription": "100.00"}, at="2025-02-15T00:00:00Z"))
    assert [h["payment_id"] for h in http.get("/v1/holds?partner=p1", as_="admin").json()["items"]] == ["pay2"]


# -- the dashboard's forms ----------------------------------------------------------------------


def test_the_partner_hands_in_its_paperwork_through_the_pages(http):
    held_for_want_of_a_tax_form(http)
    csrf = http.sign_in("partner", "p1")
    page = http.client.get("/partners/p1/paperwork")
    assert page.status_code == 200 and 'action="/partners/p1/tax-form"' in page.text
    form = {"csrf_token": csrf, "form": "W-8BEN", "legal_name": "Ada Lovelace", "country": "de", "tax_id": "DE123456789"}
    answer = http.client.post("/partners/p1/tax-form", data=form, files={"signed_form": ("w8ben.pdf", PDF, "application/pdf")},
                              follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/partners/p1/paperwork"
    shown = http.client.get("/partners/p1/paperwork").text
    assert notice(shown) == "ok: Tax form W-8BEN on file. The balance held back by prog/p1/USD/2025-01 is payable now."
    assert "A*** L***" in shown and "********789" in shown and "PDF, 2.0 KiB" in shown and "DE123456789" not in shown
    answer = http.client.post("/partners/p1/payout-details", follow_redirects=False,
                              data={"csrf_token": csrf, "method": "iban", "iban": "DE89 3704 0044 0532 0130 00", "bic": ""})
    assert answer.status_code == 303
    shown = http.client.get("/partners/p1/paperwork").text
    assert "******************3000" in shown and "COBADEFFXXX" in shown
    dashboard = http.client.get("/partners/p1").text
    assert 'data-figure="due"><strong>100.00 USD' in dashboard and "W-8BEN on file" in dashboard
    # The signed form is sealed in the vault under the partner's key: forgetting the partner makes it unreadable.
    [document_id] = [json.loads(p)["signed_form"]["document_id"] for p in _payloads(http, "partner.tax_form_submitted")]
    assert http.driver.app.vault.open_document(document_id) == ("application/pdf", PDF)
    http.driver.ok(b.cmd("forget_partner", partner_id="p1", reason="erasure request"))
    assert http.driver.app.vault.open_document(document_id) is None


def test_a_refused_form_says_why_and_changes_nothing(http):
    held_for_want_of_a_tax_form(http)
    csrf = http.sign_in("partner", "p1")
    before = http.driver.event_count()
    answer = http.client.post("/partners/p1/payout-details", follow_redirects=False,
                              data={"csrf_token": csrf, "method": "iban", "iban": "DE00 1234 5678", "bic": ""})
    assert answer.status_code == 303
    said = notice(http.client.get("/partners/p1/paperwork").text)
    assert said.startswith("error: Nothing changed for partner p1: account: not a valid IBAN")
    too_big = b"%PDF-" + b"0" * (512 * 1024)
    form = {"csrf_token": csrf, "form": "W-8BEN", "legal_name": "Ada", "country": "DE", "tax_id": "DE123456789"}
    http.client.post("/partners/p1/tax-form", data=form, files={"signed_form": ("big.pdf", too_big, "application/pdf")},
                     follow_redirects=False)
    assert "larger than 512 KiB" in notice(http.client.get("/partners/p1/paperwork").text)
    assert http.driver.event_count() == before


def test_another_partner_neither_sees_nor_changes_the_paperwork(http):
    held_for_want_of_a_tax_form(http)
    csrf = http.sign_in("partner", "p2")
    assert http.client.get("/partners/p1/paperwork").status_code == 404
    answer = http.client.post("/partners/p1/tax-form", data={"csrf_token": csrf, **{k: v for k, v in W8BEN.items() if k != "type"}})
    assert answer.status_code == 404
    assert http.get("/v1/partners/p1", as_="admin").json()["tax_form"] is None
    assert send(http, W8BEN, partner_id="p2").status_code == 404


# -- old events ---------------------------------------------------------------------------------


def test_v1_tax_form_and_payout_events_still_read():
    form = decode(_hand_stored("partner.tax_form_submitted", {"partner_id": "p1", "form": "W-9"}, schema_version=1))
    assert form.payload == TaxFormSubmitted(partner_id="p1", form="W-9", legal_name=None, country=None, tax_id=None,
                                            tax_id_masked=None, signed_form=None)
    payout = decode(_hand_stored("partner.payout_details_set", {"partner_id": "p1", "method": "iban", "account": "sealed:x",
                                                               "account_masked": "****3000"}, schema_version=1))
    assert payout.payload == PayoutDetailsSet(partner_id="p1", method="iban", account="sealed:x", account_masked="****3000", bic=None)


def test_a_partner_with_a_v1_tax_form_reads_as_having_it_on_file(ledger):
    """An admin's v1 note (the form only), as recorded before the details existed."""
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), b.cmd("submit_tax_form", partner_id="p1", form="W-9"))
    record = ledger.app.queries.partner("p1")
    assert record["tax_form"] == "W-9"
    assert record["tax_form_details"]["legal_name"] is None and record["tax_form_details"]["tax_id"] is None


# -- helpers ------------------------------------------------------------------------------------


def _payloads(http: Any, topic: str) -> list[str]:
    db = http.driver.app.db
    rows = db.fetch_all(f"SELECT state FROM {db.events_table()} WHERE topic = %s", (topic,))
    return [json.dumps(json.loads(bytes(row[0]))["payload"]) for row in rows]


def _stored_payloads(http: Any, topic: str) -> str:
    return "\n".join(_payloads(http, topic))

