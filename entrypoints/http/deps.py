"""What a route may use, each as a FastAPI dependency of its own: the bus (to change the
ledger), the queries, listings, reports and referrals (to read it), the credentials (to
sign in), the log's head, the read models' freshness, the snapshots, the chain's check,
the settings, mail's ``Mailroom``, the webhook endpoints and the outbox, the referral
links' click counter and the what-if. A route names the few it uses; none gets the whole
``Ledger``.

This module is where the app's ``Ledger`` (``create_app`` keeps it on ``app.state``) is
taken apart, once per dependency (the adapters' types it names come from bootstrap, which
wires them: nothing here imports ``adapters``); each is a coroutine, so resolving it costs
no hop to the thread pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

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


def ledger_of(request: Request) -> Ledger:
    """The app's ``Ledger``: for the dependencies below only."""
    ledger: Ledger = request.app.state.ledger
    return ledger


async def _bus(request: Request) -> MessageBus:
    return ledger_of(request).bus


async def _queries(request: Request) -> Queries:
    return ledger_of(request).queries


async def _listings(request: Request) -> Listings:
    return ledger_of(request).listings


async def _reports(request: Request) -> Reports:
    return ledger_of(request).reports


async def _referrals(request: Request) -> Referrals:
    return ledger_of(request).referrals


def credentials_of(request: Request) -> Credentials:
    """The credentials, outside a route's dependencies (an error page's top bar)."""
    return ledger_of(request).credentials


async def _credentials(request: Request) -> Credentials:
    return credentials_of(request)


async def _settings(request: Request) -> Settings:
    return ledger_of(request).settings


async def _log_head(request: Request) -> Callable[[], int]:
    return ledger_of(request).log_head


async def _freshness(request: Request) -> Freshness:
    return ledger_of(request).freshness


async def _snapshots(request: Request) -> SnapshotStore:
    return ledger_of(request).snapshots()


async def _take_snapshot(request: Request) -> Callable[[str | None], Snapshot | None]:
    return ledger_of(request).take_snapshot


async def _chain_check(request: Request) -> Callable[[tuple[int, str] | None], ChainReport]:
    return ledger_of(request).verify_chain


async def _mailroom(request: Request) -> Mailroom:
    return ledger_of(request).mailroom


async def _webhooks(request: Request) -> WebhookEndpoints:
    return ledger_of(request).webhooks


async def _outbox(request: Request) -> Outbox:
    return ledger_of(request).outbox


async def _clicks(request: Request) -> ClickCounter:
    return ledger_of(request).clicks


async def _what_if(request: Request) -> WhatIfRun:
    ledger = ledger_of(request)
    return lambda program_id, patch, start, end: run_what_if(ledger, program_id, patch, start=start, end=end)


BusDep = Annotated[MessageBus, Depends(_bus)]
QueriesDep = Annotated[Queries, Depends(_queries)]
ListingsDep = Annotated[Listings, Depends(_listings)]
ReportsDep = Annotated[Reports, Depends(_reports)]
ReferralsDep = Annotated[Referrals, Depends(_referrals)]
CredentialsDep = Annotated[Credentials, Depends(_credentials)]
SettingsDep = Annotated[Settings, Depends(_settings)]
# Called when the route needs the figure (after its write, say), not when it starts.
LogHead = Annotated[Callable[[], int], Depends(_log_head)]
FreshnessDep = Annotated[Freshness, Depends(_freshness)]
SnapshotsDep = Annotated[SnapshotStore, Depends(_snapshots)]
TakeSnapshot = Annotated[Callable[[str | None], Snapshot | None], Depends(_take_snapshot)]
ChainCheck = Annotated[Callable[[tuple[int, str] | None], ChainReport], Depends(_chain_check)]
MailroomDep = Annotated[Mailroom, Depends(_mailroom)]
WebhooksDep = Annotated[WebhookEndpoints, Depends(_webhooks)]
OutboxDep = Annotated[Outbox, Depends(_outbox)]
ClicksDep = Annotated[ClickCounter, Depends(_clicks)]
WhatIfDep = Annotated[WhatIfRun, Depends(_what_if)]
