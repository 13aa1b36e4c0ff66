"""The authorization matrix: every route of the app x every role (and a partner token
asking about another partner) -> the expected status. A route without a row fails, so
no route ships without a decision about who may use it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from entrypoints.http.access import ADMIN_COMMANDS, BILLING_COMMANDS, FINANCE_COMMANDS, PARTNER_COMMANDS, Principal, Role
from entrypoints.http.routes.commands import COMMAND_TYPES
from tests import builders as b
from tests.builders import TERMS, close

# Who asks: no credentials, a token per role, and partner p2's token asking about p1.
CALLERS = ("anonymous", "admin", "finance", "auditor", "billing", "partner", "other_partner")


def row(anonymous: int, admin: int, finance: int, auditor: int, billing: int, partner: int, other_partner: int) -> dict[str, int]:
    return dict(zip(CALLERS, (anonymous, admin, finance, auditor, billing, partner, other_partner), strict=True))


PUBLIC = row(200, 200, 200, 200, 200, 200, 200)
SIGNED_IN = row(401, 200, 200, 200, 200, 200, 200)
STAFF_READ = row(401, 200, 200, 200, 403, 403, 403)
PARTNER_READ = row(401, 200, 200, 200, 403, 200, 404)  # a partner's own: 200; another's: 404
AUDIT_TOOL = row(401, 403, 200, 200, 403, 403, 403)
OWN_OR_ADMIN = row(401, 200, 403, 403, 403, 200, 404)  # personal data: the partner itself and admins
ADMIN_READ = row(401, 200, 403, 403, 403, 403, 403)
ADMIN_FORM = row(401, 303, 403, 403, 403, 403, 403)  # the admin console's forms: admins only
OWN_FORM = row(401, 303, 403, 403, 403, 303, 404)  # a partner's forms about itself: it and admins; another partner: 404

ADMIN_PAGE = row(401, 200, 403, 403, 403, 403, 403)  # an admin's tool answering with a page
FINANCE_PAGE = row(401, 403, 200, 403, 403, 403, 403)  # a finance form answering with a page
FINANCE_FORM = row(401, 403, 303, 403, 403, 403, 403)  # a finance form answering with a redirect
PAY_ROW = {"pay": "0", "partner_0": "p1", "currency_0": "USD", "amount_0": "1.00", "statement_0": "prog/p1/USD/2025-01",
           "payout_0": "PF20250203-abcdef-001"}

SAME_ORIGIN = {"Origin": "http://testserver"}  # the forms that open a session come from the ledger's own pages

# (method, route path) -> (request, expected status per caller). The request fills the
# path's parameters and may carry a body.
MATRIX: dict[tuple[str, str], tuple[dict[str, Any], dict[str, int]]] = {
    ("GET", "/healthz"): ({}, PUBLIC),
    ("GET", "/openapi.json"): ({}, PUBLIC),
    ("GET", "/docs"): ({}, PUBLIC),
    ("GET", "/static"): ({"path": "/static/app.css"}, PUBLIC),
    ("GET", "/static/swagger"): ({"path": "/static/swagger/swagger-ui.css"}, PUBLIC),
    ("GET", "/"): ({}, row(303, 200, 200, 200, 200, 303, 303)),  # partners land on their dashboard
    ("GET", "/signin"): ({}, PUBLIC),
    ("POST", "/signin"): ({"data": {"token": "lt_not-a-token"}, "headers": SAME_ORIGIN}, row(401, 401, 401, 401, 401, 401, 401)),
    # The same answer for anyone and any address: nobody learns who is a partner.
    ("POST", "/signin/email"): ({"data": {"email": "owner@p1.example"}, "headers": SAME_ORIGIN}, PUBLIC),
    ("GET", "/invite/{code}"): ({}, row(404, 404, 404, 404, 404, 404, 404)),
    ("POST", "/invite/{code}"): ({"headers": SAME_ORIGIN}, row(404, 404, 404, 404, 404, 404, 404)),
    ("POST", "/signout"): ({}, row(303, 303, 303, 303, 303, 303, 303)),
    ("GET", "/v1/me"): ({}, SIGNED_IN),
    ("POST", "/v1/commands"): (
        {"json": {"type": "record_meeting", "partner_id": "p1"}}, row(401, 200, 403, 403, 403, 403, 403)),
    ("GET", "/v1/partners/{partner_id}"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/balance"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/status"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/statements"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/statements/{period}"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/statements/{period}.csv"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/audit"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/revenue"): ({}, PARTNER_READ),
    ("GET", "/v1/customers/{customer_id}/audit"): ({}, STAFF_READ),
    ("GET", "/v1/partners"): ({}, STAFF_READ),
    ("GET", "/v1/partners/{partner_id}/customers"): ({}, PARTNER_READ),
    ("GET", "/v1/applications"): ({}, STAFF_READ),
    ("GET", "/v1/statements"): ({"path": "/v1/statements?period=2025-01"}, STAFF_READ),
    ("GET", "/v1/statements.csv"): ({"path": "/v1/statements.csv?period=2025-01"}, STAFF_READ),
    ("GET", "/v1/payouts/due"): ({}, STAFF_READ),
    ("GET", "/v1/payouts/due.csv"): ({}, STAFF_READ),
    ("GET", "/v1/payouts/requests"): ({}, STAFF_READ),
    ("GET", "/v1/holds"): ({}, STAFF_READ),
    ("GET", "/v1/programs/{program_id}"): ({}, row(401, 200, 200, 200, 403, 200, 200)),  # both partners are in it
    ("GET", "/v1/snapshots"): ({}, STAFF_READ),
    ("GET", "/v1/snapshots/{snapshot_id}"): ({}, STAFF_READ),
    ("POST", "/v1/snapshots"): ({"json": {"label": "matrix"}}, row(401, 403, 201, 201, 403, 403, 403)),
    ("POST", "/v1/verify"): ({}, AUDIT_TOOL),
    # -- partner dashboard pages
    ("GET", "/partners/{partner_id}"): ({}, PARTNER_READ),
    ("GET", "/partners/{partner_id}/chart.svg"): ({}, PARTNER_READ),
    ("GET", "/partners/{partner_id}/resale"): ({}, PARTNER_READ),
    ("GET", "/partners/{partner_id}/paperwork"): ({}, PARTNER_READ),
    ("GET", "/partners/{partner_id}/statements/{period}"): ({}, PARTNER_READ),
    # The partner's own paperwork: the partner itself and admins; back to the paperwork page.
    ("POST", "/partners/{partner_id}/tax-form"): (
        {"data": {"form": "W-8BEN", "legal_name": "Ada Matrix", "country": "DE", "tax_id": "DE123456789"}}, OWN_FORM),
    ("POST", "/partners/{partner_id}/payout-details"): (
        {"data": {"method": "iban", "iban": "DE89370400440532013000"}}, OWN_FORM),
    ("POST", "/partners/{partner_id}/profile"): ({"data": {"website": "https://matrix.example"}}, OWN_FORM),
    ("POST", "/partners/{partner_id}/payout-request"): (  # the partner itself and finance; back to the dashboard
        {"data": {"currency": "USD"}}, row(401, 403, 303, 403, 403, 303, 404)),
    # (a partner's referral forms: its own, back to its dashboard; the code also by an admin)
    ("POST", "/partners/{partner_id}/code"): ({}, row(401, 303, 403, 403, 403, 303, 404)),
    ("POST", "/partners/{partner_id}/leads"): (
        {"data": {"company": "Hooli", "email": "cto@hooli.example"}}, row(401, 403, 403, 403, 403, 303, 404)),
    ("POST", "/partners/{partner_id}/customers"): ({"data": {"company": "Umbrella"}}, row(401, 403, 403, 403, 403, 303, 404)),
    ("GET", "/v1/partners/{partner_id}/funnel"): ({}, PARTNER_READ),
    ("GET", "/v1/partners/{partner_id}/leads"): ({}, OWN_OR_ADMIN),
    ("GET", "/v1/leads"): ({}, ADMIN_READ),
    ("GET", "/admin/leads"): ({}, ADMIN_READ),
    ("POST", "/partners/{partner_id}/notices"): (  # the partner itself and admins; back to the dashboard
        {"data": {"notices": "off"}}, row(401, 303, 403, 403, 403, 303, 404)),
    # -- admin console pages
    ("GET", "/admin/applications"): ({}, STAFF_READ),
    ("GET", "/admin/partners"): ({}, STAFF_READ),
    ("GET", "/admin/partners/{partner_id}"): ({}, STAFF_READ),
    ("GET", "/admin/programs"): ({}, STAFF_READ),
    ("GET", "/admin/programs/{program_id}"): ({}, STAFF_READ),
    ("GET", "/admin/holds"): ({}, STAFF_READ),
    # An admin's form answers 303 (p1 is approved already, pay1 not on hold: a refusal notice).
    ("POST", "/admin/applications/{partner_id}/approve"): ({"data": {"level": "Std"}}, ADMIN_FORM),
    ("POST", "/admin/applications/{partner_id}/reject"): ({"data": {"reason": "matrix"}}, ADMIN_FORM),
    ("POST", "/admin/partners/{partner_id}/level"): ({"data": {"level": "Std"}}, ADMIN_FORM),
    ("POST", "/admin/partners/{partner_id}/rate"): ({"data": {"rate": "0.30"}}, ADMIN_FORM),
    ("POST", "/admin/partners/{partner_id}/meeting"): ({}, ADMIN_FORM),
    ("POST", "/admin/partners/{partner_id}/training"): ({}, ADMIN_FORM),
    ("POST", "/admin/partners/{partner_id}/tax-form"): ({"data": {"form": "W-9"}}, ADMIN_FORM),
    ("POST", "/admin/partners/{partner_id}/active-until"): ({"data": {"until": "2030-12-31"}}, ADMIN_FORM),
    ("POST", "/admin/partners/{partner_id}/terminate"): ({"data": {"reason": "matrix"}}, ADMIN_FORM),
    ("POST", "/admin/programs/{program_id}/close-promo"): ({}, ADMIN_FORM),
    # The admin's day: a new sign-in link (admins: a page showing it once), the terms editor
    # (admins), a manual adjustment (finance's command, on the partner's record).
    ("POST", "/admin/partners/{partner_id}/invite"): ({}, ADMIN_PAGE),
    ("POST", "/admin/partners/{partner_id}/adjustment"): (
        {"data": {"adjustment_id": "adj-matrix", "amount": "1.00", "currency": "USD", "reason": "matrix"}}, FINANCE_FORM),
    ("GET", "/admin/programs/{program_id}/terms"): ({}, ADMIN_PAGE),
    ("POST", "/admin/programs/{program_id}/terms/preview"): ({"data": {"patch": "{}"}}, ADMIN_PAGE),
    ("POST", "/admin/programs/{program_id}/terms"): ({"data": {"patch": "{}"}}, ADMIN_FORM),
    ("POST", "/admin/holds/{payment_id}/review"): (
        {"data": {"decision": "release", "reason": "matrix"}}, ADMIN_FORM),
    # -- public referral links (the world's program has no landing URL: every link is 404)
    ("GET", "/r/{link}"): ({}, row(404, 404, 404, 404, 404, 404, 404)),
    # -- public apply page
    ("GET", "/apply/{program_id}"): ({}, PUBLIC),
    ("POST", "/apply/{program_id}"): ({"data": {}}, row(422, 422, 422, 422, 422, 422, 422)),  # every field missing
    ("GET", "/apply/{program_id}/received"): ({}, PUBLIC),
    # -- finance console pages
    # (a finance form answers finance with a redirect back to its page)
    ("GET", "/finance"): ({}, STAFF_READ),
    ("POST", "/finance/close"): ({"data": {"program_id": "prog", "period": "2025-02"}}, row(401, 403, 303, 403, 403, 403, 403)),
    ("GET", "/finance/close"): ({"path": "/finance/close?program_id=prog&period=2025-02"}, row(401, 403, 200, 403, 403, 403, 403)),
    ("POST", "/finance/close-through"): ({"data": {"period": "2025-02"}}, row(401, 403, 200, 403, 403, 403, 403)),
    ("GET", "/finance/statements"): ({"path": "/finance/statements?period=2025-01"}, STAFF_READ),
    ("GET", "/finance/payouts"): ({}, STAFF_READ),
    ("POST", "/finance/payouts"): ({"data": {"reference": "matrix", **PAY_ROW}}, FINANCE_PAGE),  # each row's outcome
    ("GET", "/finance/payouts/requests"): ({}, STAFF_READ),
    ("POST", "/finance/payouts/accounts"): ({"data": {}}, row(401, 200, 200, 403, 403, 403, 403)),  # finance and admins
    ("POST", "/finance/payouts/files"): ({"data": PAY_ROW}, FINANCE_PAGE),
    # Without the payer's account (or a row a file pays) back to the payouts page.
    ("POST", "/finance/payouts/files/sepa"): ({"data": {"execution_date": "2025-02-03", **PAY_ROW}}, FINANCE_FORM),
    ("POST", "/finance/payouts/files/paypal"): ({"data": {"currency": "USD", **PAY_ROW}}, FINANCE_FORM),
    # -- the what-if page (admin and finance; computed, nothing recorded)
    ("GET", "/what-if"): ({"path": "/what-if?program=prog&patch=%7B%7D"}, row(401, 200, 200, 403, 403, 403, 403)),
    ("GET", "/what-if/chart.svg"): ({"path": "/what-if/chart.svg?program=prog&patch=%7B%7D"}, row(401, 200, 200, 403, 403, 403, 403)),
    # -- webhooks (admins only; no such endpoint: the log is 404, send-again and remove say so and go back)
    ("GET", "/admin/webhooks"): ({}, row(401, 200, 403, 403, 403, 403, 403)),
    ("POST", "/admin/webhooks"): ({"data": {"url": "nope"}}, row(401, 422, 403, 403, 403, 403, 403)),
    ("GET", "/admin/webhooks/{endpoint_id}"): ({}, row(401, 404, 403, 403, 403, 403, 403)),
    ("POST", "/admin/webhooks/{endpoint_id}/send-again"): ({"data": {"key": "k"}}, row(401, 303, 403, 403, 403, 403, 403)),
    ("POST", "/admin/webhooks/{endpoint_id}/remove"): ({}, row(401, 303, 403, 403, 403, 403, 403)),
    # -- auditor console pages
    ("GET", "/audit"): ({"path": "/audit?partner=p1"}, STAFF_READ),
    ("GET", "/audit/snapshots"): ({}, STAFF_READ),
    ("POST", "/audit/snapshots"): ({"data": {"label": "matrix"}}, row(401, 403, 303, 303, 403, 403, 403)),
    ("GET", "/audit/snapshots/compare"): ({}, STAFF_READ),
    ("GET", "/audit/verify"): ({}, AUDIT_TOOL),
    ("POST", "/audit/verify"): ({"data": {}}, AUDIT_TOOL),
}

PARAMETERS = {"endpoint_id": "we_none", "partner_id": "p1", "customer_id": "c1", "program_id": "prog", "period": "2025-01", "code": "li_made-up",
              "payment_id": "pay1", "link": "unknownlnk"}


def app_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route, included routers flattened; a mount is one GET."""
    found = set()
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, Mount):
            found.add(("GET", context.path))
        else:
            found |= {(method, context.path) for method in context.methods or () if method != "HEAD"}
    return found


def test_every_route_has_a_row_and_every_row_a_route(http):
    routes = app_routes(http.app)
    assert routes - MATRIX.keys() == set(), "routes without a row in the authorization matrix"
    assert MATRIX.keys() - routes == set(), "rows for routes that no longer exist"


@pytest.fixture
def world(http):
    http.driver.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.partner("p2"), *b.customer("c1", "p1"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )
    snapshot = http.post("/v1/snapshots", as_="auditor", json={"label": "fixture"}).json()
    return {**PARAMETERS, "snapshot_id": snapshot["snapshot_id"]}


def _call(http, caller: str, method: str, path: str, request: dict[str, Any]) -> Any:
    http.client.cookies.clear()
    request = dict(request)
    url = request.pop("path", path)
    if caller == "anonymous":
        return http.request(method, url, **request)
    if caller in ("partner", "other_partner"):
        return http.request(method, url, as_="partner", partner_id="p1" if caller == "partner" else "p2", **request)
    return http.request(method, url, as_=caller, **request)


@pytest.mark.parametrize("caller", CALLERS)
def test_each_caller_gets_the_expected_status_on_every_route(http, world, caller):
    wrong = []
    for (method, path), (request, expected) in sorted(MATRIX.items()):
        response = _call(http, caller, method, path.format(**world), request)
        if response.status_code != expected[caller]:
            wrong.append(f"{method} {path}: {response.status_code}, expected {expected[caller]} ({response.text[:120]})")
    assert wrong == []


# The issue's split of duties, written out independently of PERMISSIONS: who may send what.
DUTIES = {
    Role.ADMIN: {"define_program", "change_program_terms", "close_promo", "submit_application", "approve_application",
                 "reject_application", "change_level", "set_commission_rate", "set_active_until", "terminate_partner",
                 "submit_tax_form", "set_payout_details", "complete_training", "record_meeting", "review_commission",
                 "forget_partner", "forget_customer", "rotate_partner_code", "reveal_payout_account", "set_notices",
                 "update_profile",
                 "issue_sign_in_link"},
    Role.FINANCE: {"close_period", "record_payout", "adjust_commission", "request_payout", "reveal_payout_account"},
    Role.AUDITOR: set(),
    Role.BILLING: {"sign_up_customer", "claim_customer", "set_do_not_contact", "record_payment", "record_refund",
                   "record_chargeback", "record_cost"},
    Role.PARTNER: {"request_payout", "rotate_partner_code", "submit_lead", "create_resold_customer", "set_notices",
                   "submit_tax_form", "set_payout_details", "update_profile"},
}

# A partner's own commands, each sent about p1: by p1 it goes through, by p2 it is 404.
OWN_COMMANDS = [
    {"type": "rotate_partner_code", "partner_id": "p1"},
    {"type": "submit_lead", "partner_id": "p1", "lead_id": "matrix-lead", "company": "Hooli", "email": "cto@hooli.example"},
    {"type": "create_resold_customer", "partner_id": "p1", "customer_id": "matrix-c", "company": "Umbrella"},
    {"type": "set_notices", "partner_id": "p1", "notices": False},
    {"type": "submit_tax_form", "partner_id": "p1", "form": "W-9", "legal_name": "Ada Matrix", "country": "US", "tax_id": "123-45-6789"},
    {"type": "set_payout_details", "partner_id": "p1", "method": "paypal", "account": "ada@matrix.example"},
    {"type": "update_profile", "partner_id": "p1", "contact_email": "ada@matrix.example"},
]


@pytest.mark.parametrize("command", OWN_COMMANDS, ids=lambda c: c["type"])
def test_a_partner_sends_its_own_commands_only_about_itself(http, world, command):
    other = http.post("/v1/commands", as_="partner", partner_id="p2", json=command)
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    own = http.post("/v1/commands", as_="partner", partner_id="p1", json=command)
    assert own.status_code == 200, own.text


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_send_exactly_its_commands(role):
    principal = Principal(role, "t", "p1" if role is Role.PARTNER else None)
    assert {t for t in COMMAND_TYPES if principal.may_send(t)} == DUTIES[role]


def test_every_command_of_the_reference_belongs_to_some_role():
    granted = {p.removeprefix("command:") for p in ADMIN_COMMANDS | FINANCE_COMMANDS | BILLING_COMMANDS | PARTNER_COMMANDS}
    assert granted == set(COMMAND_TYPES)
