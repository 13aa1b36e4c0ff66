"""The admin's everyday tools beside the partner and program records: a new sign-in link
for a partner (shown once; the unused ones before it stop working; recorded in the
audit trail without its secret), a manual commission adjustment with its required
reason, and a terms editor that previews a JSON merge patch (the patch, the resulting
terms, what changes) exactly as the ledger would decide it, before applying it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from commands.bus import MessageBus
from commands.parsing import parse
from entrypoints.bootstrap import Credentials, Mailroom
from entrypoints.http.access import Principal, Role
from entrypoints.http.auth import Staff, invite_link
from entrypoints.http.deps import BusDep, CredentialsDep, MailroomDep, QueriesDep
from entrypoints.http.pages.common import back_to, form_text, result_text, send, sends, submit
from entrypoints.http.params import PartnerId, ProgramId
from entrypoints.http.routes.commands import authorize
from entrypoints.http.templating import render
from entrypoints.http.urls import url
from entrypoints.mail import enqueue_signin_link
from events.program import ProgramTermsChanged
from ledger.errors import CommandRejected
from projections.queries import Queries

router = APIRouter(include_in_schema=False)
log = structlog.get_logger(__name__)

INVITE_LABEL = "re-issued from the partner's page"
MAIL_LABEL = "e-mailed from the partner's page"


# -- a new sign-in link ------------------------------------------------------------------


@router.post("/admin/partners/{partner_id}/invite", response_class=HTMLResponse, dependencies=sends("issue_sign_in_link"))
async def reissue_invite(request: Request, principal: Staff, bus: BusDep, queries: QueriesDep, credentials: CredentialsDep,
                         mailroom: MailroomDep, partner_id: PartnerId) -> Response:
    """A fresh one-time sign-in link for an approved partner, on a never-cached page (the
    only place it is ever shown); the partner's unused links stop working, and the
    audit trail records that a link was issued, by whom, and its id."""
    by_mail = form_text(await request.form(), "deliver") == "email"
    return await run_in_threadpool(_reissue, request, principal, bus, queries, credentials, mailroom, partner_id, by_mail)


def _reissue(request: Request, principal: Principal, bus: MessageBus, queries: Queries, credentials: Credentials,
             mailroom: Mailroom, partner_id: str, by_mail: bool) -> Response:
    # The page reads through the queries; the mailroom only queues the mail.
    record = queries.partner(partner_id)  # 404 for a partner the ledger does not know
    if by_mail:
        lifetime = timedelta(hours=credentials.invite_hours)
        invite_id, expires_at = enqueue_signin_link(mailroom, partner_id, lifetime, MAIL_LABEL)
        assert expires_at is not None  # an invite is made with a lifetime
        invite = {"invite_id": invite_id, "expires_at": expires_at.isoformat()}
    else:
        invite = invite_link(credentials, str(request.base_url), Role.PARTNER, partner_id, INVITE_LABEL)
    command = parse({"type": "issue_sign_in_link", "partner_id": partner_id, "invite_id": invite["invite_id"],
                     "expires_at": invite["expires_at"]})
    authorize([command], principal)
    result = bus.handle(command, source="api", actor=principal.actor, caller=principal.caller)
    if not result["ok"]:
        credentials.access.revoke(invite["invite_id"])  # a mail already queued then carries a dead link
        return back_to(url("/admin/partners/{}", partner_id), f"No link made for partner {partner_id}: {result_text(result)}",
                       "error")
    replaced = _revoke_older_invites(credentials, partner_id, keep=invite["invite_id"])
    log.info("sign_in_link_reissued", partner_id=partner_id, invite_id=invite["invite_id"], replaced=replaced, by_mail=by_mail)
    if by_mail:
        return back_to(url("/admin/partners/{}", partner_id),
                       f"A new sign-in link for {partner_id} is on its way to the application's contact address.")
    return render(request, "admin/invite.html", {
        "partner": record, "invite": invite, "replaced": replaced, "contact": queries.contact_email(partner_id),
    }, principal=principal, headers={"Cache-Control": "no-store"})


def _revoke_older_invites(credentials: Credentials, partner_id: str, keep: str) -> int:
    """The partner's earlier invites that were never used stop working: one live link at a time."""
    now = datetime.now(UTC)
    older = [c for c in credentials.access.credentials() if c.kind == "invite" and c.partner_id == partner_id
             and c.credential_id != keep and c.used_at is None and c.revoked_at is None
             and (c.expires_at is None or c.expires_at > now)]
    return sum(credentials.access.revoke(c.credential_id) for c in older)


# -- a manual adjustment -----------------------------------------------------------------


@router.post("/admin/partners/{partner_id}/adjustment", dependencies=sends("adjust_commission"))
async def adjust(request: Request, principal: Staff, bus: BusDep, partner_id: PartnerId) -> Response:
    """A correction of the partner's commission; the reason is required (the ledger says
    so, naming the field, when it is blank). The form's adjustment id was drawn with the
    page: sending it twice adjusts once."""
    form = await request.form()
    command = {"type": "adjust_commission", "partner_id": partner_id, "adjustment_id": form_text(form, "adjustment_id"),
               "amount": form_text(form, "amount"), "currency": form_text(form, "currency"), "reason": form_text(form, "reason")}
    done = f"Adjusted {partner_id}'s commission by {command['amount']} {command['currency']}."
    return await submit(bus, principal, command, url("/admin/partners/{}", partner_id), done)


# -- the terms editor --------------------------------------------------------------------


@router.get("/admin/programs/{program_id}/terms", response_class=HTMLResponse, dependencies=sends("change_program_terms"))
def terms_editor(request: Request, principal: Staff, queries: QueriesDep, program_id: ProgramId) -> Response:
    return _editor(request, principal, queries, program_id, patch_text="{\n}", effective="", preview=None)


@router.post("/admin/programs/{program_id}/terms/preview", response_class=HTMLResponse,
             dependencies=sends("change_program_terms"))
async def preview_terms(request: Request, principal: Staff, bus: BusDep, queries: QueriesDep, program_id: ProgramId) -> Response:
    """The patch and the terms it would give, decided as the ledger decides
    ``change_program_terms`` (``bus.preview``) and thrown away, or why it would refuse."""
    form = await request.form()
    patch_text, effective = form_text(form, "patch") or "", form_text(form, "effective") or ""
    preview = await run_in_threadpool(_preview, bus, queries, principal, program_id, patch_text, effective)
    status = 200 if preview["ok"] else 422
    return _editor(request, principal, queries, program_id, patch_text, effective, preview, status)


@router.post("/admin/programs/{program_id}/terms", dependencies=sends("change_program_terms"))
async def apply_terms(request: Request, principal: Staff, bus: BusDep, program_id: ProgramId) -> Response:
    """Applies a previewed patch (the preview page's form carries it unchanged)."""
    form = await request.form()
    command = _terms_command(program_id, form_text(form, "patch") or "", form_text(form, "effective") or "")
    if "error" in command:
        return back_to(url("/admin/programs/{}/terms", program_id), f"Nothing changed for program {program_id}: {command['error']}",
                       "error")
    try:
        [result] = await send(bus, principal, [command])
    except CommandRejected as refusal:
        return back_to(url("/admin/programs/{}/terms", program_id),
                       f"Nothing changed for program {program_id}: " + "; ".join(p.message for p in refusal.problems), "error")
    if not result["ok"]:
        return back_to(url("/admin/programs/{}/terms", program_id), f"Nothing changed for program {program_id}: {result_text(result)}",
                       "error")
    log.info("program_terms_changed_from_console", program_id=program_id)
    return back_to(url("/admin/programs/{}", program_id), f"New terms of {program_id} recorded.")


def _terms_command(program_id: str, patch_text: str, effective: str) -> dict[str, Any]:
    """The ``change_program_terms`` of the editor's fields, or ``{"error": why}``."""
    try:
        patch = json.loads(patch_text)
    except json.JSONDecodeError as bad:
        return {"error": f"terms_patch: not JSON ({bad.msg}, line {bad.lineno} column {bad.colno})"}
    if not isinstance(patch, dict):
        return {"error": "terms_patch: a merge patch is a JSON object ({...})"}
    command: dict[str, Any] = {"type": "change_program_terms", "program_id": program_id, "terms_patch": patch}
    if effective:
        command["at"] = f"{effective}T00:00:00Z" if len(effective) == 10 else effective
    return command


def _preview(bus: MessageBus, queries: Queries, principal: Principal, program_id: str, patch_text: str, effective: str) -> dict[str, Any]:
    command = _terms_command(program_id, patch_text, effective)
    if "error" in command:
        return {"ok": False, "refusal": command["error"]}
    try:
        parsed = parse(command)
    except CommandRejected as refusal:
        return {"ok": False, "refusal": "; ".join(p.message for p in refusal.problems)}
    authorize([parsed], principal)
    result, events = bus.preview(parsed, source="api", actor=principal.actor, caller=principal.caller)
    if not result["ok"]:
        return {"ok": False, "refusal": result_text(result)}
    [changed] = [e.payload for e in events if isinstance(e.payload, ProgramTermsChanged)]
    after = changed.terms.model_dump(mode="json")
    before = queries.terms(program_id, on=parsed.at)
    return {"ok": True, "patch": json.dumps(command["terms_patch"], indent=2, sort_keys=True),
            "terms": json.dumps(after, indent=2, sort_keys=True), "changes": list(_changes(before, after))}


def _changes(before: Any, after: Any, path: str = "") -> Any:
    """Each value the patch changes: (where, before, after), ``-`` for absent."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(before.keys() | after.keys()):
            yield from _changes(before.get(key, "-"), after.get(key, "-"), f"{path}.{key}" if path else key)
    elif before != after:
        yield {"where": path, "before": json.dumps(before) if before != "-" else "-", "after": json.dumps(after) if after != "-" else "-"}


def _editor(request: Request, principal: Principal, queries: Queries, program_id: str, patch_text: str, effective: str,
            preview: dict[str, Any] | None, status: int = 200) -> Response:
    current = queries.terms(program_id)

    return render(request, "admin/terms.html", {
        "program_id": program_id, "current": json.dumps(current, indent=2, sort_keys=True),
        "patch": patch_text, "effective": effective, "preview": preview,
    }, principal=principal, status=status)

