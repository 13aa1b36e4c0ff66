"""DESIGN.md "Customers and attribution" and the partner lifecycle: one partner per
customer, qualification rules, recorded rejections, do-not-contact."""

from __future__ import annotations

from typing import Any

from tests import builders as b


def rejected_claims(ledger: Any, customer_id: str) -> list[dict[str, Any]]:
    trail = ledger.cli_json("audit", "--customer", customer_id)
    return [e for e in trail if e["type"] == "customer.claim_rejected"]


def test_first_valid_claim_wins_and_later_claims_are_rejected_and_recorded(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.partner("p2"), *b.customer("c1", "p1"))
    before = ledger.event_count()
    error = ledger.refused(b.claim("c1", "p2", "code", at="2025-01-11T00:00:00Z"))
    assert (error["code"], error["field"]) == ("claim_rejected", "customer_id")
    assert "already attributed" in error["message"]
    assert ledger.event_count() == before + 1  # the rejection itself is kept
    [entry] = rejected_claims(ledger, "c1")
    assert entry["details"]["partner_id"] == "p2" and entry["details"]["rejected"] is True
    assert "already attributed" in entry["details"]["reason"]
    # the customer stays with p1
    [paid] = ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}))
    assert paid["earning"]["partner_id"] == "p1"
    assert ledger.balance("p2") == {}


def test_claim_of_a_customer_who_already_paid_is_rejected(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), b.signup("c1"),
              b.payment("pay1", "c1", {"subscription": "100.00"}, at="2025-01-05T00:00:00Z"))
    error = ledger.refused(b.claim("c1", "p1", at="2025-01-10T00:00:00Z"))
    assert error["code"] == "claim_rejected" and "paying" in error["message"]
    assert len(rejected_claims(ledger, "c1")) == 1
    ledger.ok(b.payment("pay2", "c1", {"subscription": "100.00"}, at="2025-02-05T00:00:00Z"))
    assert ledger.balance("p1") == {}


def test_claim_by_a_partner_who_is_not_approved_is_rejected(ledger):
    ledger.ok(
        b.program(terms=b.terms()),
        b.application("applied"),
        b.application("refused"), b.cmd("reject_application", partner_id="refused", reason="no fit"),
        *b.partner("gone"), b.cmd("terminate_partner", partner_id="gone", reason="left", at="2025-01-05T00:00:00Z"),
        b.signup("c1"),
    )
    for partner_id in ("applied", "refused", "gone"):
        error = ledger.refused(b.claim("c1", partner_id))
        assert error["code"] == "claim_rejected" and "not approved" in error["message"], partner_id
    assert [e["details"]["partner_id"] for e in rejected_claims(ledger, "c1")] == ["applied", "refused", "gone"]


def test_claim_by_an_unknown_partner_records_nothing(ledger):
    ledger.ok(b.program(terms=b.terms()), b.signup("c1"))
    before = ledger.event_count()
    error = ledger.refused(b.claim("c1", "ghost"))
    assert (error["code"], error["field"]) == ("not_found", "partner_id")
    assert ledger.event_count() == before


def test_leads_need_training_when_the_terms_require_it(ledger):
    ledger.ok(b.program(terms=b.terms(training_required_for_leads=True)), *b.partner("p1"),
              b.signup("c1"), b.signup("c2"), b.signup("c3"))
    error = ledger.refused(b.claim("c1", "p1", "lead", at="2025-01-10T00:00:00Z"))
    assert error["code"] == "claim_rejected" and "training" in error["message"]
    assert len(rejected_claims(ledger, "c1")) == 1
    ledger.ok(b.claim("c2", "p1", "link", at="2025-01-10T00:00:00Z"))  # only leads need it
    ledger.ok(b.cmd("complete_training", partner_id="p1", at="2025-01-15T00:00:00Z"))
    ledger.ok(b.claim("c3", "p1", "lead", at="2025-01-16T00:00:00Z"))
    assert ledger.app.queries.partner("p1")["training_completed"] is True


def test_leads_need_no_training_by_default(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1", "lead"))


def test_do_not_contact_only_for_resold_customers(ledger):
    ledger.ok(b.program(preset="refer-resell"), *b.partner("p1"),
              *b.customer("resold", "p1", "resell"), *b.customer("referred", "p1", "link"))
    ledger.ok(b.cmd("set_do_not_contact", customer_id="resold", value=True))
    before = ledger.event_count()
    error = ledger.refused(b.cmd("set_do_not_contact", customer_id="referred", value=True))
    assert (error["code"], error["field"]) == ("invalid", "customer_id")
    assert ledger.event_count() == before
    trail = ledger.cli_json("audit", "--customer", "resold")
    assert any(e["type"] == "customer.do_not_contact_set" and e["details"]["value"] is True for e in trail)


def test_payment_of_an_unattributed_customer_earns_nothing(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), b.signup("c1"))
    [paid] = ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}))
    assert paid["earning"]["kind"] == "none"


def test_partner_lifecycle_states(ledger):
    ledger.ok(b.program(terms=b.terms()), b.application("p1"), b.application("p2"))
    q = ledger.app.queries
    assert (q.partner("p1")["state"], q.partner("p1")["level"], q.partner("p1")["rate"]) == ("applied", None, None)
    ledger.ok(b.approve("p1", "Gold"), b.cmd("reject_application", partner_id="p2", reason="no fit"))
    assert (q.partner("p1")["state"], q.partner("p1")["level"], q.partner("p1")["rate"]) == ("approved", "Gold", "0.25")
    assert q.partner("p2")["state"] == "rejected"
    assert ledger.refused(b.approve("p2"))["code"] == "invalid_state"
    assert ledger.refused(b.approve("p1"))["code"] == "invalid_state"
    assert ledger.refused(b.cmd("change_level", partner_id="p1", level="Diamond"))["field"] == "level"
    ledger.ok(b.cmd("submit_tax_form", partner_id="p1", form="W-8BEN"))
    assert q.partner("p1")["tax_form"] == "W-8BEN"
    ledger.ok(b.cmd("terminate_partner", partner_id="p1", reason="left"))
    assert q.partner("p1")["state"] == "terminated"
