"""Query parameters shared by the reads: ``as_of``, ``known_at`` and ``on`` (as on the
CLI: an ISO date means the end of that day) and ``min_position`` (read-your-writes)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Query, Request
from pydantic import AfterValidator

from entrypoints.http.deps import FreshnessDep
from entrypoints.http.problems import ApiError
from entrypoints.http.urls import from_path
from ledger.calendar import parse_moment
from ledger.errors import CommandRejected, Problem

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # YYYY-MM: a period, as statements and month closes name it

# Ids and filters every list and page takes alike. An id in a path comes as ``url_id``
# encoded it (``urls``): one segment, whatever it holds (an id recorded before the id
# grammar may hold ``/``); ``from_path`` decodes it. At most 200 characters, 3 each encoded.
_ID_IN_PATH = {"min_length": 1, "max_length": 600}
PathId = Annotated[str, Path(**_ID_IN_PATH), AfterValidator(from_path)]
PartnerId = Annotated[str, Path(**_ID_IN_PATH, description="the partner's id"), AfterValidator(from_path)]
ProgramId = Annotated[str, Path(**_ID_IN_PATH, description="the program's id"), AfterValidator(from_path)]
After = Annotated[str | None, Query(min_length=1, max_length=200, description="the `next` cursor of the previous page")]
Program = Annotated[str | None, Query(min_length=1, max_length=200, description="only this program")]

# What OpenAPI says a moment is (a client's generator makes real dates from it).
_MOMENT_SCHEMA = {"anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]}


def _moment(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_moment(text)
    except (ValueError, OverflowError):
        raise ApiError("invalid", f"{name}: not an ISO-8601 date or time: {text!r}", name) from None


def _described(what: str) -> str:
    return f"{what}: an ISO-8601 date (the end of that day) or date-time (UTC unless zoned)"


def _moment_query(what: str) -> Any:
    return Query(max_length=40, description=_described(what), json_schema_extra=_MOMENT_SCHEMA)


async def as_of_param(as_of: Annotated[str | None, _moment_query("effective (business) time")] = None) -> datetime | None:
    return _moment("as_of", as_of)


async def known_at_param(known_at: Annotated[str | None, _moment_query("what the ledger knew then")] = None) -> datetime | None:
    return _moment("known_at", known_at)


async def on_param(on: Annotated[str | None, _moment_query("the day to evaluate (default now)")] = None) -> datetime | None:
    return _moment("on", on)


AsOf = Annotated[datetime | None, Depends(as_of_param)]
KnownAt = Annotated[datetime | None, Depends(known_at_param)]
On = Annotated[datetime | None, Depends(on_param)]


async def read_models_at(
    freshness: FreshnessDep,
    min_position: Annotated[int | None, Query(ge=0, le=2**62, description="wait briefly until the read models reach this position")] = None,
) -> None:
    """Read-your-writes: a read given the position a write answered waits until the read
    models have reached it (another process may be catching them up), else 503."""
    if min_position is None:
        return
    if min_position > freshness.log_head():
        # Waiting cannot help: no write answered this position.
        raise ApiError("conflict", f"min_position: the log has no position {min_position}", "min_position")
    deadline = time.monotonic() + freshness.wait_s
    while min(freshness.positions().values()) < min_position:
        if time.monotonic() >= deadline:
            raise ApiError("not_caught_up", f"the read models have not reached position {min_position} yet: retry",
                           "min_position", headers={"Retry-After": "1"})
        await asyncio.sleep(0.02)


Fresh = Depends(read_models_at)


async def known_query_parameters(request: Request) -> None:
    """A query parameter the route does not take is refused (a misspelt filter would
    otherwise be ignored, and a list answer more than was asked)."""
    if getattr(getattr(request.scope.get("route"), "endpoint", None), _ANY_QUERY, False):
        return
    unknown = sorted(set(request.query_params) - _declared(request.scope.get("route")))
    if unknown:
        raise CommandRejected.of([Problem("invalid", f"{name}: not a parameter of this route", name) for name in unknown])


_ANY_QUERY = "_ledger_any_query"

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def takes_any_query(endpoint: Endpoint) -> Endpoint:
    """Marks a route that passes its query string on instead of reading it (a referral
    link keeps the campaign parameters a site added, such as ``utm_source``)."""
    setattr(endpoint, _ANY_QUERY, True)
    return endpoint


# Kept on the route itself (never by ``id``: an id is reused once its route is collected,
# and tests build an app per fixture); a route's parameters never change once it is built.
_DECLARED = "_ledger_declared_query"


def _declared(route: Any) -> frozenset[str]:
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return frozenset()
    names: frozenset[str] | None = getattr(route, _DECLARED, None)
    if names is None:
        names = frozenset(_query_names(dependant))
        setattr(route, _DECLARED, names)
    return names


def _query_names(dependant: Any) -> set[str]:
    names = {parameter.alias for parameter in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names
