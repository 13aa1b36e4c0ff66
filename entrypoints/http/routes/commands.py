"""``POST /v1/commands``: any command of the reference, one (a JSON object) or a batch
(a JSON array, or JSON Lines), through the message bus.

The whole body is decoded and every command validated before anything is recorded: a
malformed line, an unknown field or a command the caller's role may not send refuses
the request, naming every problem. Business rules then judge each command in order,
as ``ledger apply`` does: a batch answers one result per command."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, TypeAdapter

from commands import models as m
from commands import reference
from commands.parsing import decode_json, parse
from entrypoints.bootstrap import Credentials
from entrypoints.http.access import INVITE, OWN_PARTNER_FIELD, Principal, Role
from entrypoints.http.auth import CurrentPrincipal, invite_link
from entrypoints.http.deps import BusDep, CredentialsDep, LogHead
from entrypoints.http.problems import ApiError, problem_from_result
from ledger.errors import CommandRejected, Problem, reject

router = APIRouter(prefix="/v1", tags=["commands"])

COMMAND_TYPES: list[str] = list(reference.COMMAND_MODELS)
JSON_TYPES = ("application/json", "")
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines", "application/x-jsonlines")


class CommandAnswer(BaseModel):
    """A command's result (as ``ledger apply`` prints it) and the log position to pass
    as ``min_position`` to a read that must see it."""

    model_config = ConfigDict(extra="allow")
    ok: bool
    type: str | None = None
    position: int


class BatchAnswer(BaseModel):
    results: list[dict[str, Any]]
    accepted: int
    rejected: int
    position: int


def command_schemas() -> dict[str, Any]:
    """The JSON Schemas of the reference's commands, for the OpenAPI components: ``Command``
    (one of them, by ``type``) and every model it refers to, named ``cmd.<Model>``."""
    schema = TypeAdapter(m.AnyCommand).json_schema(ref_template="#/components/schemas/cmd.{model}", mode="validation")
    definitions = {f"cmd.{name}": definition for name, definition in schema.pop("$defs", {}).items()}
    return {**definitions, "Command": schema}


_BODY = {
    "required": True,
    "description": "One command (an object), a JSON array of commands, or JSON Lines (application/x-ndjson). "
                   "Fields per type: the command reference (README).",
    "content": {
        "application/json": {"schema": {"oneOf": [
            {"$ref": "#/components/schemas/Command"},
            {"type": "array", "items": {"$ref": "#/components/schemas/Command"}, "minItems": 1},
        ]}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.post(
    "/commands", response_model=CommandAnswer | BatchAnswer, openapi_extra={"requestBody": _BODY},
    summary="Send commands (one, a JSON array, or JSON Lines) through the message bus",
)
async def post_commands(
    request: Request, principal: CurrentPrincipal, bus: BusDep, log_head: LogHead, credentials: CredentialsDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=150, description="becomes the command_id")] = None,
) -> Any:
    messages, single = _decode(await request.body(), request.headers.get("content-type", ""))
    messages = [_stamp(message, index, single, idempotency_key, principal) for index, message in enumerate(messages)]
    commands = _validated(messages, single)
    authorize(commands, principal)
    # One hop to the thread pool for both; the head is read after the write, as it answers it.
    results, position = await run_in_threadpool(
        lambda: (list(bus.handle_many(commands, source="api", caller=principal.caller)), log_head()))
    base_url = str(request.base_url)
    results = [_with_invite(credentials, result, principal, base_url) for result in results]
    if single:
        [result] = results
        if not result["ok"]:
            return problem_from_result(result, position=position)
        return JSONResponse({**result, "position": position})
    accepted = sum(1 for result in results if result["ok"])
    return BatchAnswer(results=results, accepted=accepted, rejected=len(results) - accepted, position=position)


def _decode(body: bytes, content_type: str) -> tuple[list[Any], bool]:
    """The body's commands, and whether it was a single object."""
    media = content_type.split(";")[0].strip().lower()
    if media in JSON_LINES_TYPES:
        lines = [(n, line) for n, line in enumerate(body.splitlines(), 1) if line.strip()]
        decoded, problems = [], []
        for number, line in lines:
            try:
                decoded.append(decode_json(line))
            except CommandRejected as refusal:
                problems.append(Problem("invalid_json", f"line {number}: {refusal.message}", f"line {number}"))
        if problems:
            raise CommandRejected.of(problems)
        if not decoded:
            raise ApiError("invalid_json", "the body holds no commands")
        return decoded, False
    if media not in JSON_TYPES:
        raise ApiError("unsupported_media_type", f"send application/json or application/x-ndjson, not {media!r}")
    try:
        document = decode_json(body, max_bytes=None)  # the server bounds a body's size
    except CommandRejected as refusal:
        raise ApiError("invalid_json", f"the body is not JSON: {refusal.message}") from None
    if isinstance(document, list):
        if not document:
            raise ApiError("invalid_json", "the array holds no commands")
        return document, False
    return [document], True


def _stamp(message: Any, index: int, single: bool, key: str | None, principal: Principal) -> Any:
    """The caller is the actor (a given ``actor`` is kept after it, as who it acted
    for); the Idempotency-Key header is the ``command_id`` (``KEY:INDEX`` in a batch)."""
    if not isinstance(message, dict):
        return message  # refused by validation, with its position
    stamped = dict(message)
    given = stamped.get("actor")
    stamped["actor"] = f"{principal.actor}:{given}" if isinstance(given, str) and given else principal.actor
    if key is not None:
        wanted = key if single else f"{key}:{index}"
        if stamped.setdefault("command_id", wanted) != wanted and single:
            raise ApiError("conflict", "the Idempotency-Key header and the body's command_id differ", "command_id")
    return stamped


def _validated(messages: list[Any], single: bool) -> list[m.Command]:
    commands, problems = [], []
    for index, message in enumerate(messages):
        try:
            if not isinstance(message, dict):
                raise reject("invalid_json", "a command must be a JSON object")
            commands.append(parse(message))
        except CommandRejected as refusal:
            problems += refusal.problems if single else [_at(index, p) for p in refusal.problems]
    if problems:
        raise CommandRejected.of(problems)
    return commands


def _at(index: int, problem: Problem) -> Problem:
    field = f"[{index}].{problem.field}" if problem.field else f"[{index}]"
    return Problem(problem.code, f"command {index}: {problem.message}", field)


def authorize(commands: list[m.Command], principal: Principal) -> None:
    """Refuses (403) a command the role may not send, and (404) a partner's command about another partner."""
    refused = sorted({c.type for c in commands if not principal.may_send(c.type)})
    if refused:
        raise ApiError("forbidden", f"the {principal.role.value} role may not send {', '.join(refused)}", "type")
    if principal.role is Role.PARTNER:
        for command in commands:
            partner_id = getattr(command, OWN_PARTNER_FIELD, None)
            if partner_id != principal.partner_id:
                # As for any other partner's anything: it does not exist for this caller.
                raise ApiError("not_found", f"partner {partner_id!r} does not exist", OWN_PARTNER_FIELD)


def _with_invite(credentials: Credentials, result: dict[str, Any], principal: Principal, base_url: str) -> dict[str, Any]:
    """An approval answers the new partner's one-time sign-in link. It is made here, not
    by the bus, so it never reaches the log (the bus keeps results as receipts)."""
    if not (result["ok"] and result.get("type") == "approve_application" and principal.can(INVITE)):
        return result
    return {**result, "invite": invite_link(credentials, base_url, Role.PARTNER, result["partner_id"], "approval")}
