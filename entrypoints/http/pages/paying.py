"""Paying partners from the finance console: what is due, to whom and where (the full
account shown to finance and admins, each reveal recorded), partners' payout requests
with a Pay action, payouts recorded several at once with each row's outcome, and the
payment files a bank (SEPA pain.001) or PayPal takes.

A payment file records nothing: it lists each payout with its id; once the money went
out, "Mark these paid" records those payouts by their ids (the command's idempotency
key, so marking twice pays nobody twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from commands.bus import MessageBus
from entrypoints.http.access import Principal
from entrypoints.http.accounts import REVEAL, reveal_accounts
from entrypoints.http.auth import CurrentPrincipal, Reader
from entrypoints.http.deps import BusDep, ListingsDep, QueriesDep, ReportsDep, SettingsDep
from entrypoints.http.pages.common import back_to, form_text, money, pager, refusal_text, result_text, send, sends
from entrypoints.http.params import After, Program
from entrypoints.http.templating import render
from entrypoints.http.urls import url
from entrypoints.payment_files import (
    PAYPAL,
    SEPA,
    Payer,
    Payment,
    batch_id,
    default_reference,
    file_for,
    payout_id,
    paypal_payouts_csv,
    reference_payout_id,
    sepa_credit_transfer,
)
from ledger.errors import CommandRejected
from projections.listings import DEFAULT_LIMIT, Listings
from projections.queries import Queries
from projections.reports import Reports

log = structlog.get_logger(__name__)

router = APIRouter(include_in_schema=False)

PAYOUTS_PAGE, REQUESTS_PAGE = url("/finance/payouts"), url("/finance/payouts/requests")


@dataclass(frozen=True)
class Row:
    """One payout a form names: its fields ``partner_N``, ``currency_N``, ``amount_N``,
    ``statement_N`` and, once it is in a payment file, ``payout_N``."""

    partner_id: str
    currency: str
    amount: str
    statement_id: str
    payout_id: str | None = None

    def key(self) -> tuple[str, str, str, str]:
        return self.partner_id, self.currency, self.amount, self.statement_id


# -- what is due -------------------------------------------------------------------------


@router.get("/finance/payouts", response_class=HTMLResponse, dependencies=[Reader])
def payouts(request: Request, principal: CurrentPrincipal, listings: ListingsDep, reports: ReportsDep,
            program: Program = None, after: After = None) -> Response:
    return _payouts_page(request, principal, listings, reports, program, after, accounts=None)


@router.post("/finance/payouts/accounts", response_class=HTMLResponse, dependencies=sends(REVEAL))
async def show_accounts(request: Request, principal: CurrentPrincipal, bus: BusDep, listings: ListingsDep,
                        reports: ReportsDep) -> Response:
    """The same page with the full accounts of its rows, each reveal recorded first."""
    form = await request.form()
    program, after = form_text(form, "program"), form_text(form, "after")
    due = listings.payouts_due(program=program, limit=DEFAULT_LIMIT, after=after)
    partner_ids = [item["partner_id"] for item in due.items]
    accounts = await run_in_threadpool(reveal_accounts, listings, bus, principal, partner_ids, "payouts page")
    return _payouts_page(request, principal, listings, reports, program, after, accounts=accounts)


def _payouts_page(request: Request, principal: Principal, listings: Listings, reports: Reports, program: str | None,
                  after: str | None, accounts: dict[str, str] | None) -> Response:
    due = listings.payouts_due(program=program, limit=DEFAULT_LIMIT, after=after)
    requests = listings.payout_requests(program=program, limit=DEFAULT_LIMIT)
    requested = {(r["partner_id"], r["currency"]): r for r in requests.items}
    payees = listings.payees([item["partner_id"] for item in due.items])
    rows = [{**item, "request": requested.get((item["partner_id"], item["currency"])), "paid_to": payees[item["partner_id"]],
             "full_account": (accounts or {}).get(item["partner_id"])} for item in due.items]
    return render(request, "finance/payouts.html", {
        "rows": rows, "totals": listings.payouts_due_totals(program=program),
        "requests_waiting": len(requests.items), "more_requests": requests.next is not None,
        "program": program, "after": after, "program_ids": reports.program_ids(),
        "may_pay": principal.may_send("record_payout"), "may_reveal": principal.may_send(REVEAL),
        "revealed": accounts is not None,
        "pager": pager(PAYOUTS_PAGE, due.next, after, program=program),
        "csv_url": url("/v1/payouts/due.csv", program=program),
        "default_reference": default_reference(datetime.now(UTC)),
    }, principal=principal)


# -- payout requests ---------------------------------------------------------------------


@router.get("/finance/payouts/requests", response_class=HTMLResponse, dependencies=[Reader])
def payout_requests(request: Request, principal: CurrentPrincipal, queries: QueriesDep, listings: ListingsDep,
                    reports: ReportsDep, program: Program = None, after: After = None) -> Response:
    """Partners' open payout requests, oldest first, each with what is due now and (for
    finance) a Pay action: the request's amount, or all that is due."""
    page = listings.payout_requests(program=program, limit=DEFAULT_LIMIT, after=after)
    payees = listings.payees([r["partner_id"] for r in page.items])
    rows = [{**r, "paid_to": payees[r["partner_id"]], "due": _due_now(queries, r["partner_id"], r["currency"])}
            for r in page.items]
    return render(request, "finance/requests.html", {
        "rows": rows, "program": program, "program_ids": reports.program_ids(),
        "may_pay": principal.may_send("record_payout"), "pager": pager(REQUESTS_PAGE, page.next, after, program=program),
        "default_reference": default_reference(datetime.now(UTC)),
    }, principal=principal)


def _due_now(queries: Queries, partner_id: str, currency: str) -> str:
    """What may be paid to the partner in ``currency`` now."""
    figures = queries.balance(partner_id)["currencies"].get(currency)
    return figures["due"] if figures else "0"


# -- recording payouts -------------------------------------------------------------------


@router.post("/finance/payouts", response_class=HTMLResponse, dependencies=sends("record_payout"))
async def record_payouts(request: Request, principal: CurrentPrincipal, bus: BusDep, listings: ListingsDep) -> Response:
    """One ``record_payout`` per ticked row, and a page listing each row: paid, or refused
    and why. A row from a payment file keeps the file's payout id; any other is named by
    the batch's reference (``REFERENCE:partner:currency``, so it follows the id grammar). Either way the payout id is
    the command's idempotency key: sending the same form twice pays nobody twice. A
    partner that cannot be paid (no payout details, no tax form) is refused unsent."""
    form = await request.form()
    rows = _ticked_rows(form)
    reference = form_text(form, "reference")
    if not rows:
        return back_to(PAYOUTS_PAGE, "Tick the payouts you made, then record them.", "error")
    if reference is None and any(row.payout_id is None for row in rows):
        return back_to(PAYOUTS_PAGE, "Give the payment's reference (e.g. the bank transfer's), then record again.", "error")
    payees = listings.payees([row.partner_id for row in rows])
    outcomes: list[dict[str, Any]] = []
    sendable: list[tuple[Row, dict[str, Any]]] = []
    for row in rows:
        payee = payees.get(row.partner_id)
        blocked = "unknown partner" if payee is None else payee["blocked"]
        named = row.payout_id
        if named is None:
            assert reference is not None  # refused above: a row not from a payment file needs the reference
            named = reference_payout_id(reference, row.partner_id, row.currency)
        if blocked:
            outcomes.append({"row": row, "payout_id": named, "ok": False, "why": f"cannot be paid: {blocked}"})
        else:
            sendable.append((row, {"type": "record_payout", "payout_id": named, "partner_id": row.partner_id,
                                   "currency": row.currency, "amount": row.amount, "statement_ids": [row.statement_id]}))
    try:
        results = await send(bus, principal, [command for _, command in sendable])
    except CommandRejected as refusal:
        return back_to(PAYOUTS_PAGE, f"Nothing recorded: {refusal_text(refusal)}", "error")
    for (row, command), result in zip(sendable, results, strict=True):
        outcomes.append({"row": row, "payout_id": command["payout_id"], "ok": result["ok"],
                         "why": None if result["ok"] else result_text(result)})
    order = {row: n for n, row in enumerate(rows)}
    outcomes.sort(key=lambda o: order[o["row"]])
    refused = sum(not o["ok"] for o in outcomes)
    log.info("payouts_recorded_from_console", paid=len(outcomes) - refused, refused=refused)
    return render(request, "finance/paid.html", {"outcomes": outcomes, "summary": _summary(outcomes), "refused": refused},
                  principal=principal)


def _summary(outcomes: list[dict[str, Any]]) -> str:
    """``2 paid, 600.00 EUR; 1 refused: nothing was recorded for it.``"""
    paid = [o["row"] for o in outcomes if o["ok"]]
    refused = len(outcomes) - len(paid)
    said = f"{len(paid)} paid" + "".join(f", {money(total, currency)}" for currency, total in _totals(paid).items())
    if refused:
        said += f"; {refused} refused: nothing was recorded for {'it' if refused == 1 else 'them'}"
    return said + "."


def _ticked_rows(form: FormData) -> list[Row]:
    """The rows ticked in ``pay`` (the form numbers its rows), in the form's order."""
    def field(index: str, name: str) -> str:
        return form_text(form, f"{name}_{index}") or ""

    return [Row(field(i, "partner"), field(i, "currency"), field(i, "amount"), field(i, "statement"), field(i, "payout") or None)
            for i in dict.fromkeys(str(v) for v in form.getlist("pay"))]


def _totals(rows: Any) -> dict[str, Decimal]:
    """Amounts added up per currency (a row whose amount is no number counts nothing)."""
    sums: dict[str, Decimal] = {}
    for row in rows:
        amount = _amount(row.amount)
        if amount is not None:
            sums[row.currency] = sums.get(row.currency, Decimal(0)) + amount
    return dict(sorted(sums.items()))


# -- payment files -----------------------------------------------------------------------


@router.post("/finance/payouts/files", response_class=HTMLResponse, dependencies=sends("record_payout"))
async def payment_files(request: Request, principal: CurrentPrincipal, listings: ListingsDep, settings: SettingsDep) -> Response:
    """The ticked rows as payment files: each gets its payout id; the page says which
    file pays it (SEPA for EUR bank accounts, PayPal) or why none can, offers the files
    and, once they are paid, "Mark these paid". Nothing is recorded here."""
    form = await request.form()
    rows = _ticked_rows(form)
    if not rows:
        return back_to(PAYOUTS_PAGE, "Tick the payouts to put in payment files, then make them.", "error")
    today = datetime.now(UTC).date()
    batch = batch_id((row.key() for row in rows), today)
    numbered = [Row(*row.key(), payout_id=payout_id(batch, n)) for n, row in enumerate(rows, start=1)]
    placed = _place(listings, numbered)
    in_files = [p for p in placed if p["file"]]
    return render(request, "finance/files.html", {
        "batch": batch, "placed": placed, "in_files": in_files,
        "sepa": _file_summary(p for p in placed if p["file"] == SEPA),
        "paypal": _file_summary(p for p in placed if p["file"] == PAYPAL),
        "payer_ready": bool(settings.payer_iban and settings.payer_name),
        "execution_date": _next_business_day(today).isoformat(),
    }, principal=principal)


def _place(listings: Listings, rows: list[Row]) -> list[dict[str, Any]]:
    """Each row with the file that pays it (``sepa``, ``paypal``) or why none does. The
    accounts are read to decide, not shown."""
    partner_ids = [row.partner_id for row in rows]
    payees, accounts = listings.payees(partner_ids), listings.payout_accounts(partner_ids)
    placed = []
    for row in rows:
        payee = payees.get(row.partner_id)
        file: str | None
        why: str | None
        if payee is None or payee["blocked"]:
            file, why = None, f"cannot be paid: {payee['blocked'] if payee else 'unknown partner'}"
        else:
            file, why = file_for(payee["method"], row.currency, accounts.get(row.partner_id, ""))
        placed.append({"row": row, "payee": payee, "file": file, "why": why, "account": accounts.get(row.partner_id)})
    return placed


def _file_summary(placed: Any) -> dict[str, Any]:
    rows = [p["row"] for p in placed]
    return {"rows": rows, "totals": _totals(rows), "currencies": sorted({row.currency for row in rows})}


def _next_business_day(day: date) -> date:
    """When the bank should execute the transfers: the next weekday."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


@router.post("/finance/payouts/files/sepa", dependencies=sends("record_payout"))
async def sepa_file(request: Request, principal: CurrentPrincipal, bus: BusDep, listings: ListingsDep, settings: SettingsDep,
                    execution_date: Annotated[date, Form()]) -> Response:
    """The pain.001 credit transfer of the form's EUR bank payouts, validated against the
    XSD; each account in it is revealed (recorded) first."""
    if not (settings.payer_iban and settings.payer_name):
        return back_to(PAYOUTS_PAGE, "Set LEDGER_PAYER_NAME and LEDGER_PAYER_IBAN (the account paid from) to make a SEPA file.",
                       "error")
    payments = await run_in_threadpool(_payments, bus, listings, principal, await request.form(), SEPA, None)
    if not payments:
        return back_to(PAYOUTS_PAGE, "No payout of this file can be paid by SEPA transfer any more.", "error")
    xml = sepa_credit_transfer(Payer(settings.payer_name, settings.payer_iban, settings.payer_bic), payments, execution_date)
    batch = payments[0].payout_id.rsplit("-", 1)[0]
    log.info("payment_file_made", kind="pain.001", payouts=len(payments), actor=principal.actor)
    return Response(xml, media_type="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{batch}-sepa.xml"'})


@router.post("/finance/payouts/files/paypal", dependencies=sends("record_payout"))
async def paypal_file(request: Request, principal: CurrentPrincipal, bus: BusDep, listings: ListingsDep,
                      currency: Annotated[str, Form(pattern="^[A-Z]{3}$")]) -> Response:
    """The PayPal Payouts CSV of the form's PayPal payouts in one currency (PayPal takes
    one currency per file); each account in it is revealed (recorded) first."""
    payments = await run_in_threadpool(_payments, bus, listings, principal, await request.form(), PAYPAL, currency)
    if not payments:
        return back_to(PAYOUTS_PAGE, f"No payout of this file can be paid by PayPal in {currency} any more.", "error")
    batch = payments[0].payout_id.rsplit("-", 1)[0]
    log.info("payment_file_made", kind="paypal", payouts=len(payments), actor=principal.actor)
    return Response(paypal_payouts_csv(payments), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{batch}-paypal-{currency}.csv"'})


def _payments(bus: MessageBus, listings: Listings, principal: Principal, form: FormData, kind: str,
              currency: str | None) -> list[Payment]:
    """The form's payouts that ``kind`` of file pays (in ``currency``), as placed now,
    their accounts revealed through the bus."""
    placed = [p for p in _place(listings, [row for row in _ticked_rows(form) if row.payout_id])
              if p["file"] == kind and (currency is None or p["row"].currency == currency)]
    shown_in = "SEPA file" if kind == SEPA else "PayPal file"
    accounts = reveal_accounts(listings, bus, principal, [p["row"].partner_id for p in placed], shown_in)
    return [
        Payment(payout_id=p["row"].payout_id, partner_id=p["row"].partner_id, currency=p["row"].currency,
                amount=amount, statement_id=p["row"].statement_id, method=p["payee"]["method"],
                holder=p["payee"]["holder"] or p["row"].partner_id, account=accounts[p["row"].partner_id], bic=p["payee"]["bic"])
        for p in placed if p["row"].partner_id in accounts and (amount := _amount(p["row"].amount)) is not None
    ]


def _amount(text: str) -> Decimal | None:
    """A form's amount, if it is a positive number (``record_payout`` says why otherwise)."""
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None
