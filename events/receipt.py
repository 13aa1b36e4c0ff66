"""Idempotency receipts as older versions of the ledger recorded them: as events.

Idempotency keys now live in a table of their own (``adapters/idempotency.py``), filled
from these events once when an older log is opened. The class stays registered so
those logs still load, replay and verify; read models and the relay skip it."""

from __future__ import annotations

from typing import Any

from events.base import Event


class CommandAccepted(Event):
    TOPIC = "command.accepted"
    key: str
    fingerprint: str
    result: dict[str, Any]
