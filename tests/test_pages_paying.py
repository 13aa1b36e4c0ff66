"""Paying from the finance console, in-process: who can be paid and why not, the full
account shown to finance and admins only (each reveal in the audit trail), the payouts
CSV with method, holder and account, payout requests with a Pay action, a partly
refused batch row by row, and the payment files (SEPA pain.001 validated against the
XSD, PayPal CSV) that record nothing until "Mark these paid"."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from importlib.resources import files

import pytest
from lxml import etree

from tests import builders as b
from tests.builders import TERMS, close
from tests.pages import notice

EUR_TERMS = {**TERMS, "currency": "EUR", "currencies": ["USD"]}
P1_IBAN, P3_IBAN, PAYER_IBAN = "DE89370400440532013000", "FR1420041010050500013M02606", "DE62370400440532013001"
PAIN = "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}"


def world(http) -> None:
    """Program ``prog`` (EUR, a tax form required): p1 paid by IBAN, p2 by PayPal, p3 by
    IBAN but without a tax form (nothing due), p4 with a tax form and no payout details,
    p5 by a bank transfer in USD; everyone earns in January, which is closed."""
    commands = [b.program(terms=EUR_TERMS)]
    details = {"p1": ("iban", P1_IBAN), "p2": ("paypal", "money@p2.example"), "p3": ("iban", P3_IBAN),
               "p5": ("bank_transfer", P3_IBAN)}
    for n, partner in enumerate(("p1", "p2", "p3", "p4", "p5"), start=1):
        commands += [*b.partner(partner), *b.customer(f"c{n}", partner)]
        if partner != "p3":
            commands.append(b.cmd("submit_tax_form", partner_id=partner, form="W-8BEN", at="2025-01-05T00:00:00Z"))
        if partner in details:
            method, account = details[partner]
            commands.append(b.cmd("set_payout_details", partner_id=partner, method=method, account=account))
        currency = "USD" if partner == "p5" else "EUR"
        commands.append(b.payment(f"jan{n}", f"c{n}", {"subscription": f"{n}000.00"}, at="2025-01-15T00:00:00Z", currency=currency))
    http.driver.ok(*commands, close("2025-01", "2025-02-01T01:00:00Z"))


def payer(http) -> None:
    settings = http.driver.app.settings
    http.driver.app.settings = settings.model_copy(update={"payer_name": "Acme SaaS GmbH", "payer_iban": PAYER_IBAN})


def due_rows(page: str) -> dict[str, str]:
    table = page.split('class="finance-due"')[1].split("</table>")[0]
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr[^>]*data-partner="([^"]+)">.*?</tr>', table, re.S)}


def form_fields(page: str, marker: str) -> dict[str, list[str]]:
    """A form's fields (every value of each name), found by a marker in its tag."""
    form = page.split(marker)[1].split("</form>")[0]
    found: dict[str, list[str]] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, value = re.search(r'name="(\w+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and "disabled" not in tag:
            found.setdefault(name.group(1), []).append(value.group(1) if value else "")
    return found


def tick(fields: dict[str, list[str]], *indexes: int) -> dict[str, list[str] | str]:
    """The pay form as a browser sends it with these rows ticked."""
    sent: dict[str, list[str] | str] = {name: values[0] for name, values in fields.items() if name != "pay"}
    sent["pay"] = [str(i) for i in indexes]
    return sent


def audit_lines(http, partner: str) -> list[str]:
    return [e["what"] for e in http.driver.app.queries.audit(partner_id=partner)]


# -- who can be paid, and where ----------------------------------------------------------


def test_a_partner_without_payout_details_or_tax_form_cannot_be_ticked_and_says_why(http):
    world(http)
    http.driver.ok(b.cmd("set_payout_details", partner_id="p3", method="iban", account=P3_IBAN))
    http.sign_in("finance")
    rows = due_rows(http.client.get("/finance/payouts").text)
    assert set(rows) == {"p1", "p2", "p4", "p5"}, "p3's statement carried its balance forward (no tax form)"
    assert "cannot be paid: no payout details on file" in rows["p4"] and 'name="pay"' not in rows["p4"]
    assert 'name="pay"' in rows["p1"] and "cannot be paid" not in rows["p1"]
    assert "····3000" in rows["p1"] and P1_IBAN not in rows["p1"] and "p1 GmbH" in rows["p1"]


def test_finance_sees_full_accounts_and_each_reveal_is_in_the_audit_trail_with_who(http):
    world(http)
    csrf = http.sign_in("finance")
    page = http.client.post("/finance/payouts/accounts", data={"csrf_token": csrf})
    assert page.status_code == 200
    rows = due_rows(page.text)
    assert P1_IBAN in rows["p1"] and "money@p2.example" in rows["p2"]
    [line] = [what for what in audit_lines(http, "p1") if "revealed" in what]
    assert line == "partner payout account revealed p1 in the payouts page"
    [entry] = [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "partner.payout_account_revealed"]
    assert entry["actor"].startswith("finance:") and entry["recorded_at"]
    assert not any("revealed" in what for what in audit_lines(http, "p4")), "p4 has no account to show"


def test_auditors_see_masked_accounts_and_may_not_reveal(http):
    world(http)
    page = http.get("/finance/payouts", as_="auditor").text
    assert P1_IBAN not in page and "Show full accounts" not in page
    assert http.post("/finance/payouts/accounts", as_="auditor", data={}).status_code == 403
    assert http.post("/v1/commands", as_="auditor", json={"type": "reveal_payout_account", "partner_id": "p1",
                                                          "shown_in": "payouts page"}).status_code == 403
    lines = list(csv.reader(io.StringIO(http.get("/v1/payouts/due.csv", as_="auditor").text)))
    assert P1_IBAN not in str(lines)
    assert not any("revealed" in what for what in audit_lines(http, "p1"))


def test_payouts_csv_carries_method_holder_and_account_and_audits_the_reveal(http):
    world(http)
    http.driver.ok(b.cmd("submit_tax_form", partner_id="p2", form="W-8BEN", legal_name="Paula Zweite", country="DE",
                         tax_id="12345678901"))
    lines = list(csv.reader(io.StringIO(http.get("/v1/payouts/due.csv", as_="finance").text)))
    assert lines[0] == ["partner_id", "program_id", "currency", "due", "statement_id", "method", "account_holder", "account", "blocked"]
    by_partner = {line[0]: dict(zip(lines[0], line, strict=True)) for line in lines[1:]}
    assert by_partner["p1"]["method"] == "iban" and by_partner["p1"]["account"] == P1_IBAN
    assert by_partner["p1"]["account_holder"] == "p1 GmbH" and by_partner["p1"]["blocked"] == ""
    assert by_partner["p2"]["account_holder"] == "Paula Zweite", "the name on the tax form, when one is given"
    assert by_partner["p4"]["blocked"] == "no payout details on file" and by_partner["p4"]["account"] == ""
    assert "partner payout account revealed p1 in the payouts CSV" in audit_lines(http, "p1")


# -- requests and recording --------------------------------------------------------------


def test_payout_requests_have_their_own_list_with_a_pay_action(http):
    world(http)
    http.driver.ok(b.cmd("request_payout", partner_id="p2", currency="EUR", amount="10.00"),
                   b.cmd("request_payout", partner_id="p1", currency="EUR"))
    csrf = http.sign_in("finance")
    page = http.client.get("/finance/payouts/requests").text
    assert page.index('data-partner="p2"') < page.index('data-partner="p1"'), "oldest first"
    assert "Pay 10.00 EUR" in page and "Pay 200.00 EUR" in page, "the request's amount, or all due"
    fields = form_fields(page.split('data-partner="p2"')[1], 'class="inline-form"')
    answer = http.client.post("/finance/payouts", data={name: values[0] for name, values in fields.items()} | {"csrf_token": csrf})
    assert answer.status_code == 200 and "1 paid, 10.00 EUR." in answer.text
    assert http.driver.balance("p2", "EUR")["paid"] == "10.00"
    after = http.client.get("/finance/payouts/requests").text
    assert 'data-partner="p2"' not in after and 'data-partner="p1"' in after


def test_a_partly_refused_batch_lists_which_rows_were_paid_and_which_refused_and_why(http):
    world(http)
    csrf = http.sign_in("finance")
    fields = form_fields(http.client.get("/finance/payouts").text, 'class="finance-pay"')
    assert fields["partner_0"] == ["p1"] and fields["partner_1"] == ["p2"]
    form = {**tick(fields, 0, 1, 3), "csrf_token": csrf, "reference": "bank-78", "amount_1": "999.00"}
    page = http.client.post("/finance/payouts", data=form).text
    outcomes = {m.group(1): m.group(0) for m in re.finditer(r'<tr class="\w+" data-partner="([^"]+)">.*?</tr>', page, re.S)}
    assert "Paid" in outcomes["p1"] and "bank-78:p1:EUR" in outcomes["p1"]
    assert "Refused" in outcomes["p2"] and "exceeds what is due" in outcomes["p2"]
    assert "Paid" in outcomes["p5"]
    assert "2 paid" in page and "1 refused" in page
    assert http.driver.balance("p1", "EUR")["paid"] == "200.00" and http.driver.balance("p2", "EUR")["paid"] == "0.00"
    # A forged row for a partner that cannot be paid is refused unsent.
    forged = {"csrf_token": csrf, "reference": "bank-79", "pay": "0", "partner_0": "p4", "currency_0": "EUR",
              "amount_0": "800.00", "statement_0": "prog/p4/EUR/2025-01"}
    assert "cannot be paid: no payout details on file" in http.client.post("/finance/payouts", data=forged).text
    assert http.driver.balance("p4", "EUR")["paid"] == "0.00"
    assert notice(http.client.post("/finance/payouts", data={"csrf_token": csrf, "reference": "x"}).text) == \
        "error: Tick the payouts you made, then record them."


# -- payment files -----------------------------------------------------------------------


def make_files(http, csrf: str) -> str:
    fields = form_fields(http.client.get("/finance/payouts").text, 'class="finance-pay"')
    ticked = [int(name.removeprefix("partner_")) for name in fields if name.startswith("partner_")]
    answer = http.client.post("/finance/payouts/files", data={**tick(fields, *ticked), "csrf_token": csrf})
    assert answer.status_code == 200
    return answer.text


def validate_pain001(xml: bytes) -> etree._Element:
    """Against the ISO 20022 XSD (the one sepaxml ships), with lxml: not sepaxml's own check."""
    schema = etree.XMLSchema(etree.parse(str(files("sepaxml") / "schemas" / "pain.001.001.03.xsd")))
    document = etree.fromstring(xml)
    schema.assertValid(document)
    return document


def test_payment_files_pay_what_is_due_validate_and_record_nothing_until_marked_paid(http):
    world(http)
    payer(http)
    csrf = http.sign_in("finance")
    page = make_files(http, csrf)
    placed = {m.group(2): m.group(0) for m in re.finditer(r'<tr data-partner="([^"]+)" class="(\w+)">', page)}
    assert set(placed) == {"sepa", "paypal", "blocked"}
    assert "a SEPA transfer pays EUR only, not USD" in page, "p5's USD bank payout is in no file"
    payout_ids = re.findall(r"<code>(PF\d{8}-[0-9a-f]{6}-\d{3})</code>", page)
    assert len(payout_ids) == 3, "p1, p2 and p5: p4 could not be ticked"

    sepa = http.client.post("/finance/payouts/files/sepa", data={**_flat(form_fields(page, 'action="/finance/payouts/files/sepa"')),
                                                                 "csrf_token": csrf})
    assert sepa.status_code == 200 and sepa.headers["content-type"].startswith("application/xml")
    document = validate_pain001(sepa.content)
    transfers = document.findall(f".//{PAIN}CdtTrfTxInf")
    assert [t.findtext(f"{PAIN}CdtrAcct/{PAIN}Id/{PAIN}IBAN") for t in transfers] == [P1_IBAN]
    assert transfers[0].findtext(f"{PAIN}Amt/{PAIN}InstdAmt") == "200.00"
    assert transfers[0].findtext(f"{PAIN}PmtId/{PAIN}EndToEndId") in payout_ids
    assert document.findtext(f".//{PAIN}DbtrAcct/{PAIN}Id/{PAIN}IBAN") == PAYER_IBAN

    paypal = http.client.post("/finance/payouts/files/paypal",
                              data={**_flat(form_fields(page, 'action="/finance/payouts/files/paypal"')), "csrf_token": csrf})
    [row] = list(csv.reader(io.StringIO(paypal.text)))
    assert row[:3] == ["money@p2.example", "400.00", "EUR"] and row[3] in payout_ids and row[5] == "PAYPAL"

    assert http.driver.balance("p1", "EUR")["paid"] == "0.00" and http.driver.balance("p2", "EUR")["paid"] == "0.00", "a file records nothing"
    assert "partner payout account revealed p1 in the SEPA file" in audit_lines(http, "p1")
    assert "partner payout account revealed p2 in the PayPal file" in audit_lines(http, "p2")

    mark = {**_flat(form_fields(page, 'class="finance-mark-paid"')), "csrf_token": csrf}
    paid = http.client.post("/finance/payouts", data=mark).text
    assert "2 paid" in paid and "refused" not in paid
    assert http.driver.balance("p1", "EUR")["paid"] == "200.00" and http.driver.balance("p2", "EUR")["paid"] == "400.00"
    again = http.client.post("/finance/payouts", data=mark).text
    assert "2 paid" in again, "the same payout ids: answered as before"
    assert http.driver.balance("p1", "EUR")["paid"] == "200.00" and http.driver.balance("p2", "EUR")["paid"] == "400.00"
    recorded = [e for e in http.driver.app.queries.audit(partner_id="p1") if e["type"] == "payout.recorded"]
    assert [e["details"]["payout_id"] for e in recorded] == [transfers[0].findtext(f"{PAIN}PmtId/{PAIN}EndToEndId")]


def test_without_the_payers_account_no_sepa_file_is_made(http):
    world(http)
    csrf = http.sign_in("finance")
    page = make_files(http, csrf)
    assert "Set LEDGER_PAYER_NAME and LEDGER_PAYER_IBAN" in page and "Download pain.001" not in page


def _flat(fields: dict[str, list[str]]) -> dict[str, list[str] | str]:
    return {name: values if len(values) > 1 else values[0] for name, values in fields.items()}


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_only_finance_makes_payment_files(http, role):
    world(http)
    for path in ("/finance/payouts/files", "/finance/payouts/files/sepa", "/finance/payouts/files/paypal"):
        assert http.post(path, as_=role, data={}).status_code == 403


def test_totals_in_the_files_equal_what_is_due_for_those_partners(http):
    world(http)
    payer(http)
    csrf = http.sign_in("finance")
    page = make_files(http, csrf)
    sepa = validate_pain001(http.client.post("/finance/payouts/files/sepa", data={
        **_flat(form_fields(page, 'action="/finance/payouts/files/sepa"')), "csrf_token": csrf}).content)
    paypal = list(csv.reader(io.StringIO(http.client.post("/finance/payouts/files/paypal", data={
        **_flat(form_fields(page, 'action="/finance/payouts/files/paypal"')), "csrf_token": csrf}).text)))
    in_files = Decimal(sepa.findtext(f".//{PAIN}GrpHdr/{PAIN}CtrlSum")) + sum(Decimal(row[1]) for row in paypal)
    due = {item["partner_id"]: Decimal(item["due"]) for item in http.get("/v1/payouts/due", as_="finance").json()["items"]}
    assert in_files == due["p1"] + due["p2"] == Decimal("600.00")
