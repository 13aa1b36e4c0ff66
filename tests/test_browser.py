"""In a real browser (Debian's chromium, driven by Playwright) against a real server:
signing in, and what each console's people do there. Each console's own scenarios live
beside its page tests; this file holds the shared ones."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests import builders as b


def test_an_admin_signs_in_with_a_token_and_out_again(live, page: Page):
    live.driver.ok(b.program())
    live.sign_in(page, "admin")
    expect(page.get_by_role("navigation", name="Consoles")).to_contain_text("Applications")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live.base}/signin")


def test_a_wrong_token_is_refused_in_the_page(live, page: Page):
    page.goto(f"{live.base}/signin")
    page.fill("#token", "lt_made-up")
    page.click('form[action="/signin"] button')  # the token form (the page also has the e-mail one)
    expect(page.get_by_role("alert")).to_contain_text("unknown, expired or revoked")
