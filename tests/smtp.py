"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps what it
received, refuses or defers the addresses it is told to, and can hold a mail mid-delivery
(the crash test kills the sender then)."""

from __future__ import annotations

import asyncio
import email
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller

from entrypoints.http.server import free_port


@dataclass
class Inbox:
    received: list[Message] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> reply to RCPT TO ("550 ...", "451 ...")
    hold_at: int | None = None  # hold the n-th mail (1-based) after receiving it, until ``release`` is set
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(email.message_from_bytes(envelope.content, policy=default))
        if self.hold_at is not None and len(self.received) == self.hold_at:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
        return "250 Message accepted"

    def to(self, address: str) -> list[Message]:
        return [m for m in self.received if m["To"] == address]

    def one(self, address: str, subject_part: str) -> Message:
        [found] = [m for m in self.to(address) if subject_part in m["Subject"]]
        return found


def body(message: Message) -> str:
    return str(message.get_content())  # type: ignore[attr-defined]


def link_in(message: Message) -> str:
    found = re.search(r"https?://\S+/invite/\S+", body(message))
    assert found, body(message)
    return found.group(0)


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, str]]:
    """(the inbox, the ``LEDGER_SMTP_URL`` that reaches it)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        inbox.release.set()
        controller.stop()
