"""Errors as ``application/problem+json`` (RFC 9457), carrying the same ``code``,
``field`` and ``errors`` list a refused command prints on the CLI."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.errors import CommandRejected, Problem
from projections.listings import BadListing
from projections.queries import NotFound

PROBLEM_JSON = "application/problem+json"

# The HTTP status of each refusal code; any other code of a refused command is 422.
STATUS_OF_CODE: dict[str, int] = {
    "invalid_json": 400,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "csrf": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "not_acceptable": 406,
    "conflict": 409,
    "invalid_state": 409,
    "forgotten": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "not_caught_up": 503,
    "busy": 503,
    "internal": 500,
}
# The code of a bare HTTP error (routing, methods): the first code with that status.
_CODE_OF_STATUS: dict[int, str] = {}
for _code, _status in STATUS_OF_CODE.items():
    _CODE_OF_STATUS.setdefault(_status, _code)


class ProblemDetail(BaseModel):
    """The body of every error (OpenAPI documents it on every route). A refused command
    adds ``command_type`` and ``position`` (the log position after the request)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
    errors: list[dict[str, str | None]] = []


class ApiError(Exception):
    """Raised by routes: becomes a problem response with this code."""

    def __init__(self, code: str, message: str, field: str | None = None, *, status: int | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.rejection = CommandRejected(code, message, field)
        self.status = status
        self.headers = headers


def status_for(code: str) -> int:
    return STATUS_OF_CODE.get(code, 422)


def problem_response(
    refusal: CommandRejected, status: int | None = None, headers: dict[str, str] | None = None, **extra: Any,
) -> JSONResponse:
    status = status or status_for(refusal.code)
    body = ProblemDetail(
        title=HTTPStatus(status).phrase, status=status, detail=refusal.message, code=refusal.code,
        field=refusal.field, errors=[p.as_dict() for p in refusal.problems], **extra,
    )
    return JSONResponse(body.model_dump(), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def result_problems(result: dict[str, Any]) -> list[Problem]:
    """A refused command's bus result as its problems: every one of ``errors``, else the ``error``."""
    return [Problem(p["code"], p["message"], p.get("field")) for p in result.get("errors") or [result["error"]]]


def problem_from_result(result: dict[str, Any], **extra: Any) -> JSONResponse:
    """A refused command's bus result as a problem (the same code, field and errors)."""
    error = result["error"]
    refusal = CommandRejected(error["code"], error["message"], error["field"], problems=result_problems(result))
    return problem_response(refusal, command_type=result.get("type"), **extra)


async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return problem_response(exc.rejection, exc.status, exc.headers)


async def on_rejected(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, CommandRejected)
    return problem_response(exc)


async def on_not_found(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(CommandRejected("not_found", str(exc)))


async def on_bad_listing(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BadListing)
    return problem_response(CommandRejected("invalid", f"{exc.field}: {exc}", exc.field))


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODE_OF_STATUS.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(CommandRejected(code, detail), exc.status_code, dict(exc.headers or {}))


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's parameter checks, named like a command's field refusals."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        field = ".".join(location[1:]) if location[:1] in (["query"], ["path"], ["header"], ["body"], ["cookie"]) else ".".join(location)
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(Problem("invalid", f"{field}: {message}" if field else message, field or None))
    if not problems:
        problems.append(Problem("invalid", "the request is invalid"))
    return problem_response(CommandRejected.of(problems), 422)


HANDLERS = {
    ApiError: on_api_error,
    CommandRejected: on_rejected,
    NotFound: on_not_found,
    BadListing: on_bad_listing,
    StarletteHTTPException: on_http_error,
    RequestValidationError: on_validation_error,
}
