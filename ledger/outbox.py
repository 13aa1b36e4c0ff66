"""What an outbox consumer derives from an event: messages to send, decided by a pure
function of the event (``Derive``), so a rebuilt outbox holds exactly the same ones.

A message is one thing to deliver to one recipient (an e-mail to a partner, a webhook
call to an endpoint). Its key is the event's id, its kind and its recipient: a message
derived twice from one event is the same message, stored once (see ``adapters.outbox``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.aggregate import Envelope


@dataclass(frozen=True)
class Message:
    kind: str  # what to send, e.g. "invite", "statement_issued"
    recipient: str  # to whom: a partner id, a webhook endpoint id
    # What the sender needs to make it, JSON-safe; never a secret (it is stored in clear).
    data: Mapping[str, Any] = field(default_factory=dict)

    def key(self, event_id: UUID | str) -> str:
        return f"{event_id}:{self.kind}:{self.recipient}"


# An outbox consumer's pure function: one event to the messages it causes (often none).
Derive = Callable[[Envelope], list[Message]]


@dataclass(frozen=True)
class Stored:
    """A message in the outbox, as the sender gets it."""

    consumer: str
    key: str
    kind: str
    recipient: str
    data: Mapping[str, Any]
    attempts: int  # deliveries started, this one included
    secret: str | None  # sealed; kept only until the message is sent


class RetryLater(Exception):
    """Not delivered this time (a server away, a temporary refusal): try again later."""


class Undeliverable(Exception):
    """Never deliverable as it is (an address refused for good): give up now."""


class Skip(Exception):
    """Not to be sent after all (notices turned off, the recipient forgotten)."""
