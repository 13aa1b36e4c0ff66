"""The admin console and the public apply page in a real browser against a real server:
someone applies on the public page and the application waits in the admins' queue; an
admin approves it, gets the one-time invite link, and the promo slots left drop by one
on the page and in the API."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests import builders as b

PROMO_TERMS = {"currency": "USD", "levels": {"Standard": {"rate": "0.20"}}, "default_level": "Standard",
               "promo": {"rate": "0.50", "slots": 3}}


def promo_left_in_the_api(live) -> int:
    left: int = live.api("/v1/programs/prog", "admin")["promo"]["left"]
    return left


def test_someone_applies_on_the_public_page_and_an_admin_finds_it_in_the_queue(live, page: Page):
    live.driver.ok(b.program(terms=PROMO_TERMS))
    page.goto(f"{live.base}/apply/prog")
    page.get_by_label("Company name").fill("Northwind Consulting")
    page.get_by_label("Contact e-mail").fill("not-an-address")
    page.get_by_label("City").fill("Berlin")
    page.get_by_role("button", name="Send application").click()
    # Refused: every bad field is named and what was typed stays.
    expect(page.get_by_role("alert")).to_contain_text("Contact e-mail")
    expect(page.get_by_role("alert")).to_contain_text("People in your team")
    expect(page.get_by_label("Company name")).to_have_value("Northwind Consulting")
    page.get_by_label("Contact e-mail").fill("owner@northwind.example")
    page.get_by_label("Country").fill("DE")
    page.get_by_label("Kind of business").fill("agency")
    page.get_by_label("People in your team").fill("12")
    page.get_by_label("Clients you serve today").fill("40")
    page.get_by_role("button", name="Send application").click()
    expect(page.get_by_role("heading", name="Application received")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Your reference is northwind-consulting-")

    live.sign_in(page, "admin")
    page.get_by_role("navigation", name="Consoles").get_by_role("link", name="Applications").click()
    application = page.get_by_role("article").filter(has_text="Northwind Consulting")
    expect(application).to_contain_text("o***@northwind.example")
    expect(application).to_contain_text("3 of 3 promo slots left")


def test_an_admin_approves_an_application_and_the_promo_slots_left_drop_by_one(live, page: Page):
    live.driver.ok(b.program(terms=PROMO_TERMS), *b.partner("p1"), b.application("p2"))
    assert promo_left_in_the_api(live) == 2
    live.sign_in(page, "admin")
    page.goto(f"{live.base}/admin/applications")
    application = page.get_by_role("article").filter(has_text="p2 GmbH")
    expect(application).to_contain_text("2 of 3 promo slots left")
    application.get_by_label("Level").select_option("Standard")
    application.get_by_role("button", name="Approve p2").click()

    expect(page.get_by_role("status")).to_contain_text("Approved p2 at level Standard (50 %, promo rate)")
    expect(page.get_by_text("1 of 3 promo slots left")).to_be_visible()
    invite = page.get_by_role("textbox", name="Invite link").input_value()
    assert invite.startswith(f"{live.base}/invite/") and invite not in page.url
    assert promo_left_in_the_api(live) == 1
    page.goto(f"{live.base}/admin/programs/prog")
    expect(page.locator(".card").filter(has_text="Promo slots left")).to_contain_text("1 of 3")

    # The invite signs the new partner in, once.
    page.context.clear_cookies()
    page.goto(invite)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live.base}/partners/p2")
