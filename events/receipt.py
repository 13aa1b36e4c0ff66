"""Idempotency receipts: the first result of a command, by its idempotency key."""

from __future__ import annotations

from typing import Any

from events.base import Event


class CommandAccepted(Event):
    TOPIC = "command.accepted"
    key: str
    fingerprint: str
    result: dict[str, Any]
