"""Issue 18 parts 1-3 in the ledger: referral links and private partner codes (made at
approval, the code rotatable), sign-ups and claims by code or link, leads and the
referral program's reasons, resellers' own customers."""

from __future__ import annotations

from typing import Any

from tests import builders as b

TRAINED_TERMS = b.terms(training_required_for_leads=True)


def record(ledger: Any, partner_id: str) -> dict[str, Any]:
    return ledger.cli_json("partner", partner_id)


def test_approval_gives_a_link_and_a_private_code_that_are_never_in_the_published_or_audited_events(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.partner("p2"))
    p1, p2 = record(ledger, "p1"), record(ledger, "p2")
    assert len(p1["referral_link"]) == 10 and p1["referral_link"] != p2["referral_link"]
    code = p1["partner_code"]
    assert len(code) == 14 and code.count("-") == 2 and code != p2["partner_code"]
    plain = code.replace("-", "")
    # Neither the code nor its hash reaches the audit trail or the log in plain text.
    assert plain not in str(ledger.cli_json("audit", "p1"))
    assert ledger.app.queries.partner("p1")["referral_link"] == p1["referral_link"]
    assert "partner_code" not in ledger.app.queries.partner("p1")


def test_sign_up_by_code_or_link_attributes_the_customer_with_that_channel(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"))
    p1 = record(ledger, "p1")
    typed = p1["partner_code"].lower().replace("-", " ")  # as a customer might type it
    [by_code] = ledger.ok(b.cmd("sign_up_customer", customer_id="c1", referral_code=typed, at="2025-01-10T00:00:00Z"))
    assert (by_code["partner_id"], by_code["channel"]) == ("p1", "code")
    [by_link] = ledger.ok(b.cmd("sign_up_customer", customer_id="c2", referral_link=p1["referral_link"],
                                at="2025-01-10T00:00:00Z"))
    assert (by_link["partner_id"], by_link["channel"]) == ("p1", "link")
    ledger.ok(b.signup("c3"))
    [claimed] = ledger.ok(b.cmd("claim_customer", customer_id="c3", referral_link=p1["referral_link"],
                                at="2025-01-11T00:00:00Z"))
    assert claimed["channel"] == "link"
    [paid] = ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}))
    assert paid["earning"]["partner_id"] == "p1"


def test_an_unknown_or_rotated_code_is_refused_and_changes_nothing_while_its_customers_stay(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"))
    old = record(ledger, "p1")["partner_code"]
    ledger.ok(b.cmd("sign_up_customer", customer_id="c1", referral_code=old, at="2025-01-10T00:00:00Z"))
    [rotated] = ledger.ok(b.cmd("rotate_partner_code", partner_id="p1", at="2025-01-12T00:00:00Z"))
    assert old.replace("-", "") not in str(rotated)  # results are kept as receipts: no code in them
    new = record(ledger, "p1")["partner_code"]
    assert new != old
    before = ledger.event_count()
    error = ledger.refused(b.cmd("sign_up_customer", customer_id="c2", referral_code=old, at="2025-01-13T00:00:00Z"))
    assert (error["code"], error["field"]) == ("code_rotated", "referral_code")
    assert old not in error["message"] and old.replace("-", "") not in error["message"]
    error = ledger.refused(b.cmd("claim_customer", customer_id="c2", referral_code="ZZZZ-ZZZZ-ZZZZ"))
    assert (error["code"], error["field"]) == ("unknown_referral", "referral_code")
    error = ledger.refused(b.cmd("sign_up_customer", customer_id="c2", referral_link="nosuchlink"))
    assert (error["code"], error["field"]) == ("unknown_referral", "referral_link")
    assert ledger.event_count() == before
    ledger.ok(b.cmd("sign_up_customer", customer_id="c2", referral_code=new, at="2025-01-13T00:00:00Z"))
    [paid] = ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}))
    assert paid["earning"]["partner_id"] == "p1"  # attributed by the old code, and stays


def test_a_claim_names_exactly_one_partner_and_the_channel_follows_the_referral(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), b.signup("c1"))
    link = record(ledger, "p1")["referral_link"]
    for fields, field in (({"partner_id": "p1", "referral_link": link, "channel": "link"}, "partner_id"),
                          ({}, "partner_id"), ({"partner_id": "p1"}, "channel"),
                          ({"referral_link": link, "channel": "code"}, "channel")):
        error = ledger.refused(b.cmd("claim_customer", customer_id="c1", **fields))
        assert (error["code"], error["field"]) == ("invalid", field), fields


def test_a_sign_up_whose_referral_does_not_qualify_stands_without_attribution(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"))
    link = record(ledger, "p1")["referral_link"]
    ledger.ok(b.cmd("terminate_partner", partner_id="p1", reason="left", at="2025-01-05T00:00:00Z"))
    [result] = ledger.ok(b.cmd("sign_up_customer", customer_id="c1", referral_link=link, at="2025-01-10T00:00:00Z"))
    assert result["attribution"] == "refused" and "not approved" in result["reason"]
    ledger.ok(b.payment("pay1", "c1", {"subscription": "100.00"}))
    assert ledger.balance("p1") == {}


def lead(lead_id: str, partner_id: str, email: str, at: str = "2025-01-08T00:00:00Z") -> dict[str, Any]:
    return b.cmd("submit_lead", lead_id=lead_id, partner_id=partner_id, company=f"{lead_id} Inc", email=email,
                 note="wants a demo", at=at)


def test_a_lead_becomes_the_partners_customer_when_its_contact_signs_up(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"))
    [submitted] = ledger.ok(lead("l1", "p1", "cto@hooli.example"))
    assert submitted["state"] == "open"
    [signed] = ledger.ok(b.signup("hooli", email="CTO@hooli.example "))
    assert (signed["partner_id"], signed["channel"], signed["lead_id"]) == ("p1", "lead", "l1")
    [row] = ledger.app.referrals.leads(partner_id="p1")
    assert (row["state"], row["customer_id"], row["company"], row["email"]) == ("converted", "hooli", "l1 Inc", "cto@hooli.example")


def test_leads_that_do_not_qualify_are_refused_with_the_programs_reason_and_kept(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.partner("p2"),
              b.signup("globex", email="ap@globex.example"),
              b.signup("paid", email="it@paid.example"), b.payment("pay1", "paid", {"subscription": "10.00"}),
              lead("l1", "p1", "cto@hooli.example"))
    cases = [
        (lead("l2", "p2", "cto@hooli.example"), "previously submitted by another partner"),
        (lead("l3", "p2", "ceo@globex.example"), "current customer"),  # same company domain
        (lead("l4", "p2", "it@paid.example"), "previously purchased"),
    ]
    for command, reason in cases:
        error = ledger.refused(command)
        assert error["code"] == "lead_refused" and reason in error["message"], command
    refused = {row["lead_id"]: row for row in ledger.app.referrals.leads(partner_id="p2")}
    assert {lead_id: row["state"] for lead_id, row in refused.items()} == dict.fromkeys(("l2", "l3", "l4"), "refused")
    assert "current customer" in refused["l3"]["reason"]
    error = ledger.refused(lead("l5", "p1", "cto@hooli.example"))
    assert (error["code"], error["field"]) == ("conflict", "email")  # its own open lead, twice


def test_training_is_required_before_any_lead_when_the_program_says_so(ledger):
    ledger.ok(b.program(terms=TRAINED_TERMS), *b.partner("p1"))
    error = ledger.refused(lead("l1", "p1", "cto@hooli.example"))
    assert error["code"] == "lead_refused" and "training" in error["message"]
    ledger.ok(b.cmd("complete_training", partner_id="p1", at="2025-01-09T00:00:00Z"),
              lead("l2", "p1", "cfo@initech.example", at="2025-01-10T00:00:00Z"))


def test_a_reseller_creates_its_own_customer_in_one_step_with_do_not_contact(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), b.signup("globex", email="ap@globex.example"))
    [made] = ledger.ok(b.cmd("create_resold_customer", partner_id="p1", customer_id="umbrella", company="Umbrella",
                             email="it@umbrella.example", do_not_contact=True, at="2025-01-10T00:00:00Z"))
    assert made == {"ok": True, "type": "create_resold_customer", "customer_id": "umbrella", "partner_id": "p1",
                    "channel": "resell", "do_not_contact": True}
    customers = ledger.app.queries.resale("p1")
    assert customers is not None
    before = ledger.event_count()
    # One account per customer: an existing id or address is refused, nothing recorded.
    error = ledger.refused(b.cmd("create_resold_customer", partner_id="p1", customer_id="umbrella", company="Umbrella"))
    assert (error["code"], error["field"]) == ("conflict", "customer_id")
    error = ledger.refused(b.cmd("create_resold_customer", partner_id="p1", customer_id="globex-2", company="Globex",
                                 email="AP@globex.example"))
    assert (error["code"], error["field"]) == ("conflict", "email")
    assert ledger.event_count() == before


def test_a_batch_of_leads_reads_its_leads_at_once_not_one_by_one(ledger, monkeypatch):
    """The bus loads every aggregate a batch's commands name in one query before deciding
    (a lead too): deciding them reads none of them alone."""
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), lead("l0", "p1", "ceo@known.example"))
    store, alone = ledger.app.store, []
    real_get = store.get
    monkeypatch.setattr(store, "get", lambda aggregate_id, *args, **kw: alone.append(aggregate_id) or real_get(aggregate_id, *args, **kw))
    results = ledger.apply(*(lead(f"l{i}", "p1", f"cto@lead{i}.example") for i in range(1, 6)), lead("l0", "p1", "ceo@known.example"))
    assert [r["ok"] for r in results] == [True] * 6
    assert alone == []
