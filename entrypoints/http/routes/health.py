"""``/healthz`` for load balancers and operators: is the database reachable, and how far
are the read models behind the log?"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from entrypoints.http.deps import FreshnessDep
from entrypoints.http.problems import ApiError

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str
    log_position: int
    read_models: dict[str, int]
    behind: int


@router.get("/healthz", response_model=Health, summary="Database reachable and read model positions (no sign-in)")
def healthz(freshness: FreshnessDep) -> Health:
    try:
        head = freshness.log_head()
        positions = freshness.positions()
    except Exception as exc:  # any database failure is "unhealthy", and says which
        raise ApiError("unavailable", f"the database is unreachable: {type(exc).__name__}", status=503) from exc
    behind = head - min(positions.values(), default=head)
    return Health(status="ok", log_position=head, read_models=positions, behind=max(behind, 0))
