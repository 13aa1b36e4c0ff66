"""The auditor console: a partner's or a customer's audit trail with each line's reason,
snapshots (list, take, compare partner by partner) and the hash chain's verification.

Rights are the API's: staff read the trail and the snapshots; taking a snapshot and
verifying the chain need ``snapshot:take`` and ``verify`` (auditor and finance)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from entrypoints.bootstrap import Credentials
from entrypoints.http.access import SNAPSHOT_TAKE, VERIFY
from entrypoints.http.auth import CurrentPrincipal, Reader, require
from entrypoints.http.deps import ChainCheck, CredentialsDep, QueriesDep, SnapshotsDep, TakeSnapshot
from entrypoints.http.pages.common import back_to, form_text, pager
from entrypoints.http.params import AsOf, KnownAt
from entrypoints.http.templating import render
from entrypoints.http.urls import url
from projections.queries import AuditEntry, NotFound, Queries

log = structlog.get_logger(__name__)

router = APIRouter(include_in_schema=False)
Verifier = [Depends(require(VERIFY))]

Id = Annotated[str | None, Query(min_length=1, max_length=200)]
SnapshotId = Annotated[str | None, Query(min_length=1, max_length=64)]
After = Annotated[int | None, Query(ge=0, le=2**62, description="the log position the previous page ended at")]

SNAPSHOTS_PAGE = url("/audit/snapshots")
TRAIL_PAGE = 200


# -- the audit trail ---------------------------------------------------------------------


@router.get("/audit", response_class=HTMLResponse, dependencies=[Reader])
def trail(request: Request, principal: CurrentPrincipal, queries: QueriesDep, credentials: CredentialsDep,
          as_of: AsOf, known_at: KnownAt,
          partner: Id = None, customer: Id = None, after: After = None) -> Response:
    context: dict[str, Any] = {
        "partner": partner, "customer": customer, "entries": None, "error": None,
        "as_of": request.query_params.get("as_of", ""), "known_at": request.query_params.get("known_at", ""),
    }
    status = 200
    if partner and customer:
        context["error"], status = "Look up a partner or a customer, not both at once.", 422
    elif partner or customer:
        try:
            entries = _trail_of(queries, partner, customer, as_of, known_at)
        except NotFound as missing:
            context["error"], status = f"{missing}.", 404
        else:
            context.update(_one_page(request, entries, after))
            context["entries"] = _in_words(queries, credentials, context["entries"])
    return render(request, "audit/trail.html", context, principal=principal, status=status)


def _in_words(queries: Queries, credentials: Credentials, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each line with who sent it by name (the token's label, the partner's company) and a
    link to what it changed."""
    issued = {c.credential_id: c for c in credentials.access.credentials(include_sessions=True)}
    names: dict[str, str] = {}
    for entry in entries:
        actor = entry["actor"]
        if actor not in names:
            names[actor] = _actor_name(queries, issued, actor)
    return [{**e, "actor_name": names[e["actor"]], "target": changed(e)} for e in entries]


def _actor_name(queries: Queries, credentials: dict[str, Any], actor: str) -> str:
    """``finance:9592742990f5`` -> ``finance · Month-end token`` (the label of the token or
    invite a session came from); ``partner:p1`` -> ``partner p1 · Northwind``."""
    kind, _, key = actor.partition(":")
    if kind == "partner":
        try:
            company = queries.partner(key)["profile"].get("company")
        except NotFound:
            company = None
        return f"partner {key}" + (f" · {company}" if company else "")
    credential = credentials.get(key)
    while credential is not None and not credential.label and credential.parent_id in credentials:
        credential = credentials[credential.parent_id]
    if credential is not None and credential.label:
        return f"{kind} · {credential.label}"
    return actor


def changed(entry: dict[str, Any]) -> dict[str, str] | None:
    """Where the record a line changed is shown: the statement, the partner's payouts, the
    program, the customer's trail or the partner's record."""
    details, kind = entry["details"], entry["type"].partition(".")[0]
    partner = entry.get("partner_id")
    if kind == "statement" and partner and details.get("period"):
        return {"label": f"statement {details['statement_id']}",
                "href": url("/v1/partners/{}/statements/{}", partner, details["period"])}
    if kind == "payout" and partner:
        return {"label": "partner's payouts", "href": url("/partners/{}", partner)}
    if kind == "program" and details.get("program_id"):
        return {"label": f"program {details['program_id']}", "href": url("/admin/programs/{}", details["program_id"])}
    if kind in ("customer", "payment", "cost") and entry.get("customer_id"):
        return {"label": f"customer {entry['customer_id']}", "href": url("/audit", customer=entry["customer_id"])}
    if partner:
        return {"label": f"partner {partner}", "href": url("/admin/partners/{}", partner)}
    return None


def _one_page(request: Request, entries: list[AuditEntry], after: int | None) -> dict[str, Any]:
    """``TRAIL_PAGE`` lines after log position ``after``: a busy partner's trail has
    thousands, and a page of them stays quick to render and to read."""
    shown = [e for e in entries if after is None or e["position"] > after][:TRAIL_PAGE]
    more = bool(shown) and shown[-1]["position"] < entries[-1]["position"]
    filters = {name: value for name, value in request.query_params.items() if name != "after"}
    return {
        "entries": shown, "total": len(entries),
        "pager": pager(url("/audit"), shown[-1]["position"] if more else None, after, **filters),
    }


def _trail_of(queries: Queries, partner: str | None, customer: str | None,
              as_of: datetime | None, known_at: datetime | None) -> list[AuditEntry]:
    """The API's trail (``/v1/partners/{id}/audit``, ``/v1/customers/{id}/audit``): a
    partner the ledger does not know, or a customer with no event, is not found."""
    if partner:
        queries.known_partner(partner, known_at)
        return queries.audit(partner_id=partner, as_of=as_of, known_at=known_at)
    entries = queries.audit(customer_id=customer, as_of=as_of, known_at=known_at)
    if not entries:
        raise NotFound(f"no event about customer {customer!r} is recorded")
    return entries


# -- snapshots ---------------------------------------------------------------------------


@router.get("/audit/snapshots", response_class=HTMLResponse, dependencies=[Reader])
def snapshots(request: Request, principal: CurrentPrincipal, store: SnapshotsDep) -> Response:
    taken = [s.as_dict() for s in reversed(store.list())]
    return render(request, "audit/snapshots.html", {
        "snapshots": taken, "may_take": principal.can(SNAPSHOT_TAKE),
    }, principal=principal)


@router.post("/audit/snapshots", dependencies=[Depends(require(SNAPSHOT_TAKE))])
async def take_snapshot(request: Request, principal: CurrentPrincipal, take: TakeSnapshot) -> Response:
    label = form_text(await request.form(), "label")
    if label is not None and len(label) > 200:
        return back_to(SNAPSHOTS_PAGE, "A label is at most 200 characters.", "error")
    taken = await run_in_threadpool(take, label)
    if taken is None:
        return back_to(SNAPSHOTS_PAGE, "The ledger moved on while the snapshot was taken: take it again.", "error")
    log.info("snapshot_taken_from_console", snapshot_id=taken.snapshot_id, position=taken.position, actor=principal.actor)
    return back_to(SNAPSHOTS_PAGE, f"Snapshot {taken.snapshot_id} taken at log position {taken.position}.")


@router.get("/audit/snapshots/compare", response_class=HTMLResponse, dependencies=[Reader])
def compare(request: Request, principal: CurrentPrincipal, store: SnapshotsDep,
            a: SnapshotId = None, b: SnapshotId = None) -> Response:
    taken = store.list()
    context: dict[str, Any] = {"snapshots": [s.as_dict() for s in reversed(taken)], "a": a, "b": b, "changes": None}
    if a and b:
        known = {s.snapshot_id: s for s in taken}
        for name, snapshot_id in (("a", a), ("b", b)):
            if snapshot_id not in known:
                raise NotFound(f"snapshot {snapshot_id!r} does not exist", name)
        changes = list(differences(store.documents(a), store.documents(b)))
        context.update(first=known[a].as_dict(), second=known[b].as_dict(), changes=changes,
                       money_changes=[c for c in changes if c["currency"]], counts=counted_alike(changes),
                       partners_changed=len({c["partner_id"] for c in changes}), net=net_change(changes, "balance"))
    return render(request, "audit/compare.html", context, principal=principal)


# The figures a snapshot freezes per partner and currency, in the order people read them.
NONE = "—"  # a figure one snapshot does not have (the partner or currency is new)
FIGURES = ("earned", "clawed_back", "deducted", "adjusted", "lifetime_commission", "paid", "balance", "due", "discount")


def differences(first: Iterable[dict[str, Any]], second: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Partner by partner (in id order), every frozen figure that differs between two
    snapshots: money per currency, customers onboarded and statements issued. A partner
    or currency missing from one side counts as zero there (shown as ``NONE``)."""
    before = {document["partner_id"]: document for document in first}
    after = {document["partner_id"]: document for document in second}
    for partner_id in sorted(before.keys() | after.keys()):
        old, new = before.get(partner_id, {}), after.get(partner_id, {})
        for currency in sorted(old.get("currencies", {}).keys() | new.get("currencies", {}).keys()):
            was, now = old.get("currencies", {}).get(currency, {}), new.get("currencies", {}).get(currency, {})
            for figure in FIGURES:
                a, b = was.get(figure), now.get(figure)
                change = Decimal(b or 0) - Decimal(a or 0)
                if change:
                    yield {"partner_id": partner_id, "what": figure.replace("_", " "), "currency": currency,
                           "a": a or NONE, "b": b or NONE, "change": _signed(change)}
        for what, count in (("customers onboarded", _onboarded), ("statements issued", _statements)):
            a_count, b_count = count(old), count(new)
            if a_count != b_count:
                yield {"partner_id": partner_id, "what": what, "currency": None,
                       "a": str(a_count), "b": str(b_count), "change": _signed(Decimal(b_count - a_count))}


def net_change(changes: list[dict[str, Any]], figure: str) -> dict[str, str]:
    """Per currency, how much one money figure changed over every partner."""
    net: dict[str, Decimal] = {}
    for change in changes:
        if change["what"] == figure:
            net[change["currency"]] = net.get(change["currency"], Decimal(0)) + Decimal(change["change"])
    return {currency: _signed(total) for currency, total in sorted(net.items())}


def counted_alike(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The changes that are counts (statements issued, customers onboarded), grouped by
    the same change: after a month's close, hundreds of partners each have "statements
    issued +1", which reads as one line with the partners behind it."""
    groups: dict[tuple[str, str], list[str]] = {}
    for change in changes:
        if change["currency"] is None:
            groups.setdefault((change["what"], change["change"]), []).append(change["partner_id"])
    return [{"what": what, "change": change, "partners": partners} for (what, change), partners in groups.items()]


def _onboarded(document: dict[str, Any]) -> int:
    return int(document.get("onboarded_total", 0))


def _statements(document: dict[str, Any]) -> int:
    return len(document.get("statements", []))


def _signed(change: Decimal) -> str:
    return f"+{change}" if change > 0 else str(change)


# -- the hash chain ----------------------------------------------------------------------


@router.get("/audit/verify", response_class=HTMLResponse, dependencies=Verifier)
def verify_page(request: Request, principal: CurrentPrincipal) -> Response:
    return render(request, "audit/verify.html", {"report": None, "expect": ""}, principal=principal)


@router.post("/audit/verify", response_class=HTMLResponse, dependencies=Verifier)
async def verify(request: Request, principal: CurrentPrincipal, check: ChainCheck) -> Response:
    """Walks the whole log, so it runs on a button, not on opening the page. Read only:
    the answer is the report itself, not a redirect."""
    expect_text = form_text(await request.form(), "expect") or ""
    expect = _expected_head(expect_text)
    if expect_text and expect is None:
        return render(request, "audit/verify.html", {
            "report": None, "expect": expect_text,
            "error": "Expected head: write POSITION:HEAD as an earlier verification showed it (e.g. 1200:3f5a…, 64 hex digits).",
        }, principal=principal, status=422)
    report = await run_in_threadpool(check, expect)
    log.info("chain_verified_from_console", ok=report.ok, events=report.events, first_bad_position=report.first_bad_position)
    return render(request, "audit/verify.html", {"report": report.as_dict(), "expect": expect_text}, principal=principal)


def _expected_head(text: str) -> tuple[int, str] | None:
    position, colon, head = text.partition(":")
    if not (colon and position.isdigit() and len(head) == 64 and all(c in "0123456789abcdef" for c in head)):
        return None
    return int(position), head
