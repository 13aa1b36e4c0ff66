"""A partner's own paperwork and profile: the tax form (with the signed PDF), where it
is paid (an IBAN with its BIC, or PayPal) and its contact e-mail and website.

Each form sends one command through the bus with the signed-in caller as the actor
(``submit_tax_form``, ``set_payout_details``, ``update_profile``), exactly as
``POST /v1/commands`` would: a partner sends them about itself only (another
partner's page is 404), an admin may send them for any partner. What was handed in is
shown masked afterwards; a statement carried forward only for want of the tax form
becomes payable at once."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from commands.models import MAX_SIGNED_FORM_BYTES
from entrypoints.http.auth import CurrentPrincipal, partner_visible
from entrypoints.http.deps import BusDep, QueriesDep
from entrypoints.http.pages.common import back_to, form_text, sends, submit
from entrypoints.http.pages.partner import resells
from entrypoints.http.params import PartnerId
from entrypoints.http.templating import render
from entrypoints.http.urls import Url, url

router = APIRouter(include_in_schema=False)

TAX_FORMS = ("W-9", "W-8BEN", "W-8BEN-E")
PAYOUT_METHODS = ("iban", "paypal")


def partner_url(partner_id: str, page: str = "") -> Url:
    """A partner page's URL, its id encoded."""
    return url("/partners/{}" + page, partner_id)


@router.get("/partners/{partner_id}/paperwork", response_class=HTMLResponse)
def paperwork(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, queries: QueriesDep) -> Response:
    partner_visible(principal, partner_id)
    record = queries.partner(partner_id)
    terms = queries.terms(record["program_id"])
    context = {
        "record": record, "payout_terms": terms["payout"], "tab": "paperwork", "resells": resells(queries, record),
        "tax_forms": TAX_FORMS, "max_kib": MAX_SIGNED_FORM_BYTES // 1024,
        "may": {kind: principal.may_send(kind) for kind in ("submit_tax_form", "set_payout_details", "update_profile")},
        "forms_url": partner_url(partner_id),
    }
    return render(request, "partner/paperwork.html", context, principal=principal)


@router.post("/partners/{partner_id}/tax-form", dependencies=sends("submit_tax_form"))
async def tax_form(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    partner_visible(principal, partner_id)
    url = partner_url(partner_id, "/paperwork")
    form = await request.form()
    command: dict[str, Any] = {"type": "submit_tax_form", "partner_id": partner_id}
    for name in ("form", "legal_name", "country", "tax_id"):
        command[name] = form_text(form, name)
    upload = form.get("signed_form")
    if isinstance(upload, UploadFile) and upload.filename:
        content = await upload.read(MAX_SIGNED_FORM_BYTES + 1)
        if len(content) > MAX_SIGNED_FORM_BYTES:
            return back_to(url, f"Nothing changed: the signed form is larger than {MAX_SIGNED_FORM_BYTES // 1024} KiB.", "error")
        command["signed_form"] = {"media_type": "application/pdf", "content_base64": base64.b64encode(content).decode()}
    return await submit(bus, principal, command, url, _tax_form_done)


def _tax_form_done(result: dict[str, Any]) -> str:
    released = result.get("released") or []
    then = f" The balance held back by {', '.join(released)} is payable now." if released else ""
    return f"Tax form {result['tax_form']} on file.{then}"


@router.post("/partners/{partner_id}/payout-details", dependencies=sends("set_payout_details"))
async def payout_details(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    partner_visible(principal, partner_id)
    form = await request.form()
    method = form_text(form, "method")
    command: dict[str, Any] = {"type": "set_payout_details", "partner_id": partner_id, "method": method}
    if method == "paypal":
        command["account"] = form_text(form, "paypal_email")
    else:
        command["account"], command["bic"] = form_text(form, "iban"), form_text(form, "bic")
    done = "Payout details saved: {method} {account}"
    return await submit(bus, principal, command, partner_url(partner_id, "/paperwork"), lambda r: done.format(**r))


@router.post("/partners/{partner_id}/profile", dependencies=sends("update_profile"))
async def profile(request: Request, partner_id: PartnerId, principal: CurrentPrincipal, bus: BusDep) -> Response:
    partner_visible(principal, partner_id)
    form = await request.form()
    command: dict[str, Any] = {"type": "update_profile", "partner_id": partner_id}
    command["contact_email"] = form_text(form, "contact_email")
    website = form.get("website")
    command["website"] = website.strip() if isinstance(website, str) else None  # blank: remove it
    return await submit(bus, principal, command, partner_url(partner_id, "/paperwork"), "Profile saved.")
