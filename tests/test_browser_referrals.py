"""Issue 18's referral journey in a real browser against a real server: a partner copies
its link, a visitor follows it to the seller's sign-up page and signs up, and the partner
sees the click, the sign-up and, after a payment, the commission in its funnel (the
whole journey, from the invite mail on, is in test_browser_mail.py); a reseller creates
a do-not-contact customer; a lead for a current customer is refused with the referral
program's reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, Page, expect

from ledger.calendar import period_of
from ledger.referral import LEAD_CURRENT_CUSTOMER
from tests import builders as b
from tests.builders import TERMS
from tests.vendor_site import vendor_site


def minutes_ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def funnel_row(page: Page, period: str) -> dict[str, str]:
    row = page.locator(f'table.funnel tr[data-period="{period}"]')
    return {name: row.locator(f'[data-figure="{name}"]').inner_text()
            for name in ("clicks", "sign_ups", "paying_customers", "commission")}


def test_a_partner_copies_its_link_a_visitor_signs_up_and_the_funnel_follows_to_commission(live, page: Page, browser: Browser):
    this_month = period_of(datetime.now(UTC))
    with vendor_site(live.base, live.token("billing")) as vendor:
        live.driver.ok(b.program(terms={**TERMS, "landing_url": f"{vendor}/signup"}, at=minutes_ago(10)),
                       b.application("p1", at=minutes_ago(9)), b.approve("p1", at=minutes_ago(8)))
        link = live.api("/v1/partners/p1", "partner", "p1")["referral_link"]
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.base)
        page.goto(live.invite("partner", "p1"))
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{live.base}/partners/p1")

        page.get_by_role("button", name="Copy link").click()
        expect(page.get_by_role("button", name="Copied")).to_be_visible()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == f"{live.base}/r/{link}"

        visitor_context = browser.new_context()
        try:
            visitor = visitor_context.new_page()
            visitor.goto(copied)
            expect(visitor).to_have_url(f"{vendor}/signup?ref={link}")
            visitor.get_by_label("Company").fill("Initech")
            visitor.get_by_label("E-mail").fill("peter@initech.example")
            visitor.get_by_role("button", name="Create my account").click()
            expect(visitor.get_by_role("heading", name="Welcome aboard")).to_be_visible()
        finally:
            visitor_context.close()

    page.reload()
    assert funnel_row(page, this_month) == {"clicks": "1", "sign_ups": "1", "paying_customers": "0", "commission": "—"}
    [customer] = live.api("/v1/partners/p1/customers", "partner", "p1")["items"]
    assert customer["channel"] == "link"

    live.driver.ok(b.payment("pay1", customer["customer_id"], {"subscription": "500.00"}, at=minutes_ago(0)))
    page.reload()
    assert funnel_row(page, this_month) == {"clicks": "1", "sign_ups": "1", "paying_customers": "1", "commission": "100.00 USD"}
    month = live.api("/v1/partners/p1/funnel?months=1", "partner", "p1")["months"][-1]
    assert month == {"period": this_month, "clicks": 1, "sign_ups": 1, "paying_customers": 1, "commission": {"USD": "100.00"}}


def test_a_reseller_creates_a_do_not_contact_customer(live, page: Page):
    live.driver.ok(b.program(preset="refer-resell", at=minutes_ago(10)),
                   b.application("p2", at=minutes_ago(9)), b.approve("p2", at=minutes_ago(8)))
    live.sign_in(page, "partner", "p2")
    page.locator("#customer-company").fill("Umbrella Corp")
    page.locator("#customer-email").fill("it@umbrella.example")
    page.get_by_label("Do not contact this customer directly").check()
    page.get_by_role("button", name="Create customer").click()
    expect(page.get_by_role("status")).to_contain_text("You asked that we do not contact them directly")
    [customer] = live.api("/v1/partners/p2/customers", "partner", "p2")["items"]
    assert (customer["channel"], customer["do_not_contact"]) == ("resell", True)
    row = page.locator("tr", has=page.locator(f"code:text-is('{customer['customer_id']}')"))
    expect(row).to_contain_text("do not contact")
    expect(row).to_contain_text("resold")


def test_a_partners_lead_for_a_current_customer_is_refused_with_the_programs_reason(live, page: Page):
    live.driver.ok(b.program(terms=TERMS, at=minutes_ago(10)),
                   b.application("p1", at=minutes_ago(9)), b.approve("p1", at=minutes_ago(8)),
                   b.signup("c1", email="ceo@globex.example", at=minutes_ago(7)))
    live.sign_in(page, "partner", "p1")
    page.locator("#lead-company").fill("Globex")
    page.locator("#lead-email").fill("sales@globex.example")  # the customer's domain: the same company
    page.get_by_label("Note").fill("met them at the fair")
    page.get_by_role("button", name="Submit lead").click()
    expect(page.get_by_role("alert")).to_have_text(f"Lead not accepted: {LEAD_CURRENT_CUSTOMER}")
    row = page.locator("table.leads tr", has_text="Globex")
    expect(row).to_contain_text("refused")
    expect(row).to_contain_text(LEAD_CURRENT_CUSTOMER)
    [lead] = live.api("/v1/partners/p1/leads", "partner", "p1")
    assert (lead["state"], lead["reason"]) == ("refused", LEAD_CURRENT_CUSTOMER)
