"""What every request goes through, as plain ASGI (cheaper than a BaseHTTPMiddleware):
a body size limit, security headers on every response, and one structured log line
per request that names the route, never the URL (an invite link is a secret)."""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entrypoints.http.problems import problem_response
from ledger.errors import CommandRejected

log = structlog.get_logger("http")

# Pages: only the app's own scripts, styles and images; no framing; forms post back here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # An invite link in a Referer header would hand the sign-in to another site.
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class BodyTooLarge(Exception):
    pass


class Guard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app, self.max_body_bytes = app, max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500, "sent": False}
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, receive, send)
            status["code"] = 413
            self._log(scope, status["code"], started)
            return
        read = 0

        async def limited_receive() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"], status["sent"] = message["status"], True
                message["headers"] = _secure(list(message.get("headers", [])), scope["path"])
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            if status["sent"]:
                raise
            status["code"] = 413
            await self._too_large(scope, receive, send_with_headers)
        finally:
            self._log(scope, status["code"], started)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = CommandRejected("payload_too_large", f"the request body is larger than {self.max_body_bytes} bytes")
        await problem_response(refusal)(scope, receive, send)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        log.info("http_request", method=scope["method"], route=getattr(route, "path", "-"), status=status,
                 ms=round((time.perf_counter() - started) * 1000, 2))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _secure(headers: list[Any], path: str) -> list[Any]:
    present = {name.lower() for name, _ in headers}
    added = [(name, value) for name, value in _HEADERS if name not in present]
    if b"content-security-policy" not in present:
        added.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
    if b"cache-control" not in present and not path.startswith("/static/"):
        # Balances and statements are personal: no shared cache keeps them.
        added.append((b"cache-control", b"no-store"))
    return headers + added
