"""Forgiving where meaning is clear, strict where money is (issue #12): profile counts
and free text take numbers or text; program terms change by JSON Merge Patch."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ledger.merge_patch import merge_patch
from tests import builders as b


def profile(**fields: Any) -> dict[str, Any]:
    command = b.application("p1")
    command["profile"].update(fields)
    return command


def test_profile_counts_accept_numbers_and_digits(ledger):
    ledger.ok(b.program(), profile(team_size="5", client_count=12))
    stored = ledger.cli_json("partner", "p1")["profile"]
    assert (stored["team_size"], stored["client_count"]) == (5, 12)


def test_free_text_profile_fields_accept_numbers_as_written(ledger):
    ledger.ok(b.program(), profile(expected_pipeline=12, focus_market=Decimal("2.50"), company=1800))
    stored = ledger.cli_json("partner", "p1")["profile"]
    assert (stored["expected_pipeline"], stored["focus_market"], stored["company"]) == ("12", "2.50", "1800")


def test_counts_stay_whole_numbers_and_text_stays_text(ledger):
    ledger.ok(b.program())
    error = ledger.refused(profile(team_size="five", client_count=2.5, expected_pipeline=True))
    fields = {p["field"] for p in ledger.apply(profile(team_size="five", client_count=2.5, expected_pipeline=True))[0]["errors"]}
    assert error["field"] in fields
    assert fields == {"profile.team_size", "profile.client_count", "profile.expected_pipeline"}


def test_amounts_are_never_read_through_floats(ledger):
    ledger.ok(b.program(terms=b.terms()), *b.partner("p1"), *b.customer("c1", "p1"))
    [result] = ledger.apply('{"type": "record_payment", "payment_id": "pay1", "customer_id": "c1", "currency": "USD",'
                            ' "lines": [{"kind": "subscription", "amount": 0.1}], "tax": 0, "at": "2025-02-01T00:00:00Z"}')
    assert result["ok"] and result["earning"]["base"] == "0.1"  # exactly 0.1, not 0.1000000000000000055...


def test_merge_patch_follows_rfc_7396():
    target = {"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]}
    assert merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}, "list": [1, 2]}
    assert merge_patch(target, {"list": [3]})["list"] == [3]  # arrays are replaced whole
    assert merge_patch({"a": "b"}, {"a": {"x": 1}}) == {"a": {"x": 1}}
    assert merge_patch({"a": "b"}, ["x"]) == ["x"]
    assert target["c"] == {"d": "e", "f": "g"}  # the target is not modified


def test_change_program_terms_by_merge_patch_answers_with_the_result(ledger):
    ledger.ok(b.program(preset="referral-tiers"))
    [changed] = ledger.ok(b.cmd("change_program_terms", program_id="prog", at="2025-03-01T00:00:00Z",
                                terms_patch={"payout": {"minimum": "50.00"}, "levels": {"Elite": None}}))
    terms = changed["terms"]
    assert terms["payout"]["minimum"] == "50.00" and terms["payout"]["requires_tax_form"] is True  # the rest kept
    assert sorted(terms["levels"]) == ["Master", "Sales Partner"]
    assert terms["status"]["meetings_per_year"] == 2


def test_change_program_terms_with_whole_terms_still_works(ledger):
    ledger.ok(b.program(terms=b.terms()))
    [changed] = ledger.ok(b.cmd("change_program_terms", program_id="prog", terms=b.terms(default_level="Gold")))
    assert changed["terms"]["default_level"] == "Gold"


def test_an_invalid_patched_result_is_refused_naming_the_field(ledger):
    ledger.ok(b.program(preset="referral-tiers"))
    before = ledger.event_count()
    [result] = ledger.apply(b.cmd("change_program_terms", program_id="prog",
                                  terms_patch={"payout": {"minimum": "-1", "hold_days": "soon"}}))
    assert not result["ok"]
    assert {e["field"] for e in result["errors"]} == {"terms_patch.payout.minimum", "terms_patch.payout.hold_days"}
    unknown = ledger.refused(b.cmd("change_program_terms", program_id="prog", terms_patch={"default_level": "Bronze"}))
    assert unknown["field"] == "terms_patch" and "Bronze" in unknown["message"]
    assert ledger.event_count() == before
    both = ledger.refused(b.cmd("change_program_terms", program_id="prog", terms=b.terms(), terms_patch={}))
    neither = ledger.refused(b.cmd("change_program_terms", program_id="prog"))
    assert both["field"] == neither["field"] == "terms"
