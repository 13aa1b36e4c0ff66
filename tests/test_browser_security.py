"""Issue 17, attack 1, in a real browser: a payment id that steers the admin's click.

Billing once chose the payment id ``../partners/p2/terminate#`` for a self-referred
customer. The hold queue placed it raw in its form's ``action``; Chromium resolved
``/admin/holds/../partners/p2/terminate#/review`` to ``/admin/partners/p2/terminate`` and
the admin's Release ended partner p2. The id grammar now refuses such an id at the edge
(``test_security_ids.py``); one that got into the log before (written here bypassing the
edge) is shown as text, and Release or Void reaches that hold's review route only."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, Request, expect

from tests.builders import listings_world
from tests.test_security_ids import RELEASED, VOIDED, held_payment


def posts_to(live: Any, page: Page) -> list[str]:
    """Every path the page sends a POST to on the ledger's server (filled as it goes)."""
    sent: list[str] = []

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.startswith(live.base):
            sent.append(request.url.removeprefix(live.base))

    page.on("request", record)
    return sent


@pytest.mark.parametrize(("payment_id", "button", "done"), [(RELEASED, "Release", "released"), (VOIDED, "Void", "voided")])
def test_a_hold_whose_id_aims_at_another_route_is_reviewed_and_nothing_else(live, page: Page, payment_id, button, done):
    listings_world(live.driver)
    held_payment(live.driver, payment_id, "c9")
    live.sign_in(page, "admin")
    page.goto(f"{live.base}/admin/holds")
    row = page.get_by_role("row").filter(has_text=payment_id)
    expect(row.get_by_role("cell", name=payment_id, exact=True)).to_be_visible()  # the id, as text
    row.get_by_role("textbox", name=f"Reason for {payment_id}").fill("a separate company after all")
    sent, before = posts_to(live, page), live.driver.event_count()
    row.get_by_role("button", name=button).click()

    expect(page.get_by_role("status")).to_have_text(f"Commission on {payment_id} {done}.")
    assert live.driver.event_count() == before + 1  # the review, and nothing else
    encoded = payment_id.replace("/", "%2F").replace("#", "%23")
    assert sent == [f"/admin/holds/{encoded}/review"]  # the hold's review route, and no other
    assert page.url == f"{live.base}/admin/holds"
    holds = [h["payment_id"] for h in live.api("/v1/holds", "admin")["items"]]
    assert payment_id not in holds and "pay2" in holds  # that hold was decided, the other waits
    assert live.api("/v1/partners/p2", "admin")["state"] == "approved"  # the partner aimed at goes on
    reviews = [e["details"] for e in live.api("/v1/partners/p1/audit", "admin") if e["type"] == "payment.commission_reviewed"]
    assert [(r["payment_id"], r["decision"]) for r in reviews] == [(payment_id, "release" if button == "Release" else "void")]
    p2_events = {e["type"] for e in live.api("/v1/partners/p2/audit", "admin")}
    assert "partner.terminated" not in p2_events
