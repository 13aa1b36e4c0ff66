"""The auditor's tools: customers' audit trails, snapshots (list, show, take) and the
hash chain's verification; and ``/v1/me``, who the caller is."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from entrypoints.http.access import PERMISSIONS, SNAPSHOT_TAKE, VERIFY
from entrypoints.http.auth import CurrentPrincipal, Reader, require
from entrypoints.http.deps import ChainCheck, QueriesDep, SnapshotsDep, TakeSnapshot
from entrypoints.http.params import AsOf, Fresh, KnownAt, PathId
from entrypoints.http.problems import ApiError
from projections.queries import AuditEntry, NotFound

router = APIRouter(prefix="/v1", dependencies=[Fresh])


class Me(BaseModel):
    role: str
    partner_id: str | None
    permissions: list[str]
    actor: str


@router.get("/me", response_model=Me, tags=["access"], summary="Who the credentials belong to, and what they may do")
def me(principal: CurrentPrincipal) -> Me:
    return Me(role=principal.role.value, partner_id=principal.partner_id,
              permissions=sorted(PERMISSIONS[principal.role]), actor=principal.actor)


@router.get("/customers/{customer_id}/audit", response_model=list[AuditEntry], tags=["audit"], dependencies=[Reader],
            summary="Every event about a customer")
def customer_audit(customer_id: PathId, queries: QueriesDep,
                   as_of: AsOf, known_at: KnownAt) -> Any:
    trail = queries.audit(customer_id=customer_id, as_of=as_of, known_at=known_at)
    if not trail:
        raise NotFound(f"customer {customer_id!r} does not exist")
    return trail


class Snapshot(BaseModel):
    snapshot_id: str
    label: str | None
    position: int
    taken_at: str
    hash: str


class SnapshotWithPartners(Snapshot):
    partners: list[dict[str, Any]]


class SnapshotRequest(BaseModel):
    label: Annotated[str | None, Field(max_length=200)] = None


@router.get("/snapshots", response_model=list[Snapshot], tags=["audit"], dependencies=[Reader], summary="Every snapshot taken")
def snapshots(snapshots: SnapshotsDep) -> Any:
    return [s.as_dict() for s in snapshots.list()]


@router.get("/snapshots/{snapshot_id}", response_model=SnapshotWithPartners, tags=["audit"], dependencies=[Reader],
            summary="A snapshot's partner documents (or one partner's)")
def snapshot(snapshot_id: Annotated[str, Path(min_length=1, max_length=64)], snapshots: SnapshotsDep,
             partner: Annotated[str | None, Query(min_length=1, max_length=200)] = None) -> Any:
    found = snapshots.get(snapshot_id)
    if found is None:
        raise NotFound(f"snapshot {snapshot_id!r} does not exist")
    documents = list(snapshots.documents(snapshot_id, partner))
    if partner and not documents:
        raise NotFound(f"partner {partner!r} is not in snapshot {snapshot_id}")
    return {**found.as_dict(), "partners": documents}


@router.post("/snapshots", response_model=Snapshot, status_code=201, tags=["audit"],
             dependencies=[Depends(require(SNAPSHOT_TAKE))], summary="Freeze the read models now")
async def take_snapshot(take: TakeSnapshot, body: SnapshotRequest | None = None) -> Any:
    taken = await run_in_threadpool(take, body.label if body else None)
    if taken is None:
        raise ApiError("conflict", "the read models moved on while the snapshot was taken: take it again")
    return taken.as_dict()


class VerifyRequest(BaseModel):
    expect: Annotated[str | None, Field(pattern=r"^\d+:[0-9a-f]{64}$", description="POSITION:HEAD recorded at an earlier audit")] = None


class ChainReport(BaseModel):
    ok: bool
    events: int
    first_bad_position: int | None
    reason: str | None
    head: str | None
    head_position: int | None


@router.post("/verify", response_model=ChainReport, tags=["audit"], dependencies=[Depends(require(VERIFY))],
             summary="Recompute the hash chain sealing the log (ok is false, naming the first bad position, on tampering)")
async def verify(check: ChainCheck, body: VerifyRequest | None = None) -> Any:
    expect = None
    if body and body.expect:
        position, _, head = body.expect.partition(":")
        expect = (int(position), head)
    report = await run_in_threadpool(check, expect)
    return report.as_dict()
