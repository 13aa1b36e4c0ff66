"""Referral links in the open: ``GET /r/{link}`` counts a click on a partner's public
link and sends the visitor on to the program's landing page with the link as ``ref``.

The page never names the partner nor its private code: it answers a redirect, or the
same 404 for a link that does not exist, whose partner is no longer approved, or whose
program has no landing URL (nothing to learn by trying links)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from entrypoints.http.auth import LedgerDep
from entrypoints.http.params import takes_any_query
from projections.queries import NotFound

log = structlog.get_logger(__name__)
router = APIRouter(include_in_schema=False)

Link = Annotated[str, Path(min_length=1, max_length=64, description="a partner's referral link")]


@router.get("/r/{link}")
@takes_any_query
async def follow_link(request: Request, link: Link, ledger: LedgerDep) -> Response:
    """Public: a click counted for the link and the day, then a redirect (302) to the landing page."""
    now = datetime.now(UTC)
    landing = await run_in_threadpool(ledger.referrals.landing, link, now, list(request.query_params.multi_items()))
    if landing is None:
        raise NotFound("there is no such referral link")
    await run_in_threadpool(ledger.clicks.count, link.lower(), now.date())
    log.info("referral_link_followed")  # never the link: it would tie a visitor's address to a partner
    return RedirectResponse(landing, status_code=302)
