"""Sending an e-mail: to an SMTP server (``LEDGER_SMTP_URL``), or, without one, into a
local folder as ``.eml`` files (development: open them in any mail client).

Both raise the outbox's ``RetryLater`` when the mail may go through later (the server
away, a temporary refusal, any other SMTP trouble) and ``Undeliverable`` when the server
refused the recipient for good (a 5xx on RCPT TO).
"""

from __future__ import annotations

import hashlib
import os
import smtplib
import ssl
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ledger.outbox import RetryLater, Undeliverable

# URL scheme -> (default port, TLS from the start, STARTTLS after connecting)
SCHEMES = {"smtp": (25, False, False), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...

    def describe(self) -> str: ...


class SmtpMailer:
    """``smtp://[user:password@]host[:port]`` (plain, e.g. a local relay),
    ``smtp+starttls://...`` (port 587, STARTTLS) or ``smtps://...`` (port 465, TLS)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(f"an SMTP URL looks like smtp://host:port, smtp+starttls://... or smtps://..., not {parts.scheme}://")
        default_port, self.tls, self.starttls = SCHEMES[parts.scheme]
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port or default_port
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    def describe(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"  # never the credentials

    def send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.user:
                    smtp.login(self.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as refused:
            codes = [code for code, _ in refused.recipients.values()]
            error = "; ".join(f"{code} {text.decode(errors='replace')}" for code, text in refused.recipients.values())
            if all(500 <= code < 600 for code in codes):
                raise Undeliverable(f"recipient refused: {error}") from None
            raise RetryLater(f"recipient deferred: {error}") from None
        except smtplib.SMTPResponseException as error:
            text = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
            raise RetryLater(f"SMTP {error.smtp_code} {text}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise RetryLater(f"{type(error).__name__}: {error}") from None

    def _connect(self) -> smtplib.SMTP:
        if self.tls:
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


class FolderMailer:
    """Each mail as ``<folder>/<Message-ID hash>.eml``: the same message sent again
    overwrites its file (written whole, then renamed into place)."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)

    def describe(self) -> str:
        return str(self.folder.resolve())

    def send(self, message: EmailMessage) -> None:
        name = hashlib.sha256(str(message["Message-ID"]).encode()).hexdigest()[:24]
        target = self.folder / f"{name}.eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".part")
            partial.write_bytes(message.as_bytes())
            os.replace(partial, target)
        except OSError as error:
            raise RetryLater(f"cannot write {target}: {error}") from None


def mailer_for(smtp_url: str | None, folder: str) -> Mailer:
    return SmtpMailer(smtp_url) if smtp_url else FolderMailer(folder)
