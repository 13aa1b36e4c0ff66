"""What a route may use, each as a FastAPI dependency of its own: the bus (to change the
ledger), the queries, listings, reports and referrals (to read it), the credentials (to
sign in), the log's head, the read models' freshness, the snapshots, the chain's check,
the settings, mail's ``Mailroom``, the webhook endpoints and the outbox, the referral
links' click counter and the what-if. A route names the few it uses; none gets the whole
``Ledger``.

This module is where the app's ``Ledger`` (``create_app`` keeps it on ``app.state``) is
taken apart, once per dependency, each made by ``_part`` (the adapters' types it names come
from bootstrap, which wires them: nothing here imports ``adapters``); each is a coroutine,
so resolving it costs no hop to the thread pool."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request

from commands.bus import MessageBus
from entrypoints.bootstrap import ClickCounter, Credentials, Freshness, Ledger, Mailroom, Outbox, WebhookEndpoints
from entrypoints.settings import Settings
from entrypoints.what_if import run_what_if
from projections.listings import Listings
from projections.queries import Queries
from projections.referrals import Referrals
from projections.reports import Reports
from replay.integrity import ChainReport
from replay.snapshots import Snapshot, SnapshotStore
from replay.what_if import WhatIfReport

# A program's history under a terms patch (``run_what_if``): program, patch, from, to.
WhatIfRun = Callable[[str, Any, str | None, str | None], WhatIfReport]

T = TypeVar("T")


def ledger_of(request: Request) -> Ledger:
    """The app's ``Ledger``: for the dependencies below only."""
    ledger: Ledger = request.app.state.ledger
    return ledger


def _part(get: Callable[[Ledger], T]) -> Callable[[Request], Awaitable[T]]:
    """A dependency handing a route one part of the app's ``Ledger``. Each is made once,
    here at import, so FastAPI's per-request cache (keyed on the callable) resolves it once
    per request however many of a route's dependencies name it."""

    async def part(request: Request) -> T:
        return get(ledger_of(request))

    return part


def credentials_of(request: Request) -> Credentials:
    """The credentials, outside a route's dependencies (an error page's top bar)."""
    return ledger_of(request).credentials


def _what_if(ledger: Ledger) -> WhatIfRun:
    return lambda program_id, patch, start, end: run_what_if(ledger, program_id, patch, start=start, end=end)


BusDep = Annotated[MessageBus, Depends(_part(lambda ledger: ledger.bus))]
QueriesDep = Annotated[Queries, Depends(_part(lambda ledger: ledger.queries))]
ListingsDep = Annotated[Listings, Depends(_part(lambda ledger: ledger.listings))]
ReportsDep = Annotated[Reports, Depends(_part(lambda ledger: ledger.reports))]
ReferralsDep = Annotated[Referrals, Depends(_part(lambda ledger: ledger.referrals))]
CredentialsDep = Annotated[Credentials, Depends(_part(lambda ledger: ledger.credentials))]
SettingsDep = Annotated[Settings, Depends(_part(lambda ledger: ledger.settings))]
# Called when the route needs the figure (after its write, say), not when it starts.
LogHead = Annotated[Callable[[], int], Depends(_part(lambda ledger: ledger.log_head))]
FreshnessDep = Annotated[Freshness, Depends(_part(lambda ledger: ledger.freshness))]
SnapshotsDep = Annotated[SnapshotStore, Depends(_part(lambda ledger: ledger.snapshots()))]
TakeSnapshot = Annotated[Callable[[str | None], Snapshot | None], Depends(_part(lambda ledger: ledger.take_snapshot))]
ChainCheck = Annotated[Callable[[tuple[int, str] | None], ChainReport], Depends(_part(lambda ledger: ledger.verify_chain))]
MailroomDep = Annotated[Mailroom, Depends(_part(lambda ledger: ledger.mailroom))]
WebhooksDep = Annotated[WebhookEndpoints, Depends(_part(lambda ledger: ledger.webhooks))]
OutboxDep = Annotated[Outbox, Depends(_part(lambda ledger: ledger.outbox))]
ClicksDep = Annotated[ClickCounter, Depends(_part(lambda ledger: ledger.clicks))]
WhatIfDep = Annotated[WhatIfRun, Depends(_part(_what_if))]
