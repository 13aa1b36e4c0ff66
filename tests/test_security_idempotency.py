"""Issue 17 item 6: idempotency keys are scoped by the caller. Partner B's Idempotency-Key
must not block (or reveal) partner A's request with the same key; the same key from one
caller keeps its semantics; business ids (``payment_id``) stay global: one payment is one
payment, whoever sends it."""

from __future__ import annotations

from typing import Any

import httpx

from tests import builders as b
from tests.builders import TERMS, close
from tests.conftest import Driver, Live

KEY = "kb-11420"


def two_partners_with_money_due(driver: Driver) -> None:
    driver.ok(
        b.program(terms=TERMS), *b.partner("pa"), *b.partner("pb"),
        b.cmd("submit_tax_form", partner_id="pa", form="W-9", at="2025-01-05T00:00:00Z"),
        b.cmd("submit_tax_form", partner_id="pb", form="W-9", at="2025-01-05T00:00:00Z"),
        *b.customer("ca", "pa"), *b.customer("cb", "pb"),
        b.payment("pay-a", "ca", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.payment("pay-b", "cb", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def ask(live: Live, token: str, partner_id: str, key: str, **fields: Any) -> httpx.Response:
    return httpx.post(
        f"{live.base}/v1/commands",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        json={"type": "request_payout", "partner_id": partner_id, "currency": "USD", **fields},
    )


def requests_of(live: Live) -> list[tuple[str, str]]:
    items = live.api("/v1/payouts/requests", "finance")["items"]
    return sorted((item["partner_id"], item["amount"]) for item in items)


def test_another_partners_key_neither_blocks_nor_answers_for_mine(live: Live) -> None:
    two_partners_with_money_due(live.driver)
    partner_a, partner_b = live.token("partner", "pa"), live.token("partner", "pb")

    first = ask(live, partner_b, "pb", KEY, amount="10.00")  # B takes the key first
    assert first.status_code == 200, first.text
    mine = ask(live, partner_a, "pa", KEY, amount="20.00")
    assert mine.status_code == 200, mine.text  # was 409: B's key blocked A's own request
    assert mine.json()["partner_id"] == "pa"
    assert requests_of(live) == [("pa", "20.00"), ("pb", "10.00")]

    # From one caller the key keeps its meaning: the same request again is answered, not
    # repeated; other content under the same key is a conflict.
    again = ask(live, partner_a, "pa", KEY, amount="20.00")
    assert again.status_code == 200, again.text
    other = ask(live, partner_a, "pa", KEY, amount="30.00")
    assert other.status_code == 409, other.text
    assert other.json()["field"] == "command_id"
    assert requests_of(live) == [("pa", "20.00"), ("pb", "10.00")]


def test_a_second_token_of_the_same_partner_is_another_caller(live: Live) -> None:
    two_partners_with_money_due(live.driver)
    laptop, phone = live.token("partner", "pa"), live.token("partner", "pa")
    assert ask(live, laptop, "pa", KEY, amount="20.00").status_code == 200
    # Another caller: decided on its own merits (one open request per currency), not by the key.
    refused = ask(live, phone, "pa", KEY, amount="30.00")
    assert refused.json()["field"] == "currency", refused.text  # not command_id
    assert "already waiting" in refused.json()["detail"]


def test_business_ids_stay_global_across_callers(ledger: Driver) -> None:
    """A payment is one payment whoever sends it: another caller's delivery of the same
    payment_id records nothing twice, and other content under it is a conflict."""
    ledger.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1"))
    payment = b.payment("pay-1", "c1")
    [first] = ledger.app.bus.handle_many([payment], source="api", caller="credential-billing1")
    assert first["ok"], first
    count = ledger.event_count()
    [again] = ledger.app.bus.handle_many([payment], source="api", caller="credential-billing2")
    assert again == first
    [other] = ledger.app.bus.handle_many(
        [b.payment("pay-1", "c1", {"platform_fee": "1.00"})], source="kafka", actor="kafka:billing"
    )
    assert other["error"]["code"] == "conflict" and other["error"]["field"] == "payment_id", other
    assert ledger.event_count() == count


def test_command_ids_are_scoped_by_caller_on_both_stores(ledger: Driver) -> None:
    ledger.ok(b.program(), *b.partner("p1"), *b.partner("p2"), *b.partner("p3"))
    training = {"type": "complete_training", "command_id": "c-1", "at": "2025-01-05T00:00:00Z"}
    [one] = ledger.app.bus.handle_many([{**training, "partner_id": "p1"}], source="api", caller="credential-a")
    [two] = ledger.app.bus.handle_many([{**training, "partner_id": "p2"}], source="api", caller="credential-b")
    assert one["ok"] and two["ok"], (one, two)
    [clash] = ledger.app.bus.handle_many([{**training, "partner_id": "p2"}], source="api", caller="credential-a")
    assert clash["error"]["code"] == "conflict" and clash["error"]["field"] == "command_id", clash
    assert "c-1" in clash["error"]["message"] and "credential" not in clash["error"]["message"]
    # The CLI's keys keep their original form: a file applied before keys were scoped
    # is still recognised.
    assert ledger.app.store.receipts(["command:c-1"]) == {}
    [cli] = ledger.apply({**training, "partner_id": "p3"})
    assert cli["ok"]
    assert list(ledger.app.store.receipts(["command:c-1"])) == ["command:c-1"]
