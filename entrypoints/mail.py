"""E-mail: the outbox's ``mail`` consumer, ``ledger mail`` (its own process) and the
worker thread ``ledger serve`` starts beside the HTTP server.

Which mails the log causes is ``ledger.notices.mails_for`` (pure); here each is made and
sent: the address, the partner's choice about notices and, for an invite, the one-time
sign-in link are looked up when the mail goes out. All of it takes the ``Mailroom`` (the
outbox, partners, queries, access store, vault, settings and mailer), not the ``Ledger``.
The link's secret is never in the log: the worker mints the invite and keeps its secret
sealed in the outbox row until the mail is accepted (a retry sends the same link), then
erases it. Sign-in links asked for
on the sign-in page go into the outbox directly (``request_signin_link``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined

from entrypoints.bootstrap import Mailroom, bootstrap
from entrypoints.http.formatting import money
from entrypoints.http.urls import url_id
from entrypoints.outbox import OutboxWorker
from entrypoints.settings import Settings
from entrypoints.signals import stop_on_signals
from ledger import notices
from ledger.aggregate import Envelope
from ledger.notices import CONSUMER
from ledger.outbox import Message, Skip, Stored, Undeliverable
from ledger.partner import Partner
from ledger.privacy import FORGOTTEN, subject

log = structlog.get_logger(__name__)

LOCAL_BASE_URL = "http://127.0.0.1:8000"  # links in mails when LEDGER_HTTP_PUBLIC_URL is unset
SUBJECTS = {
    notices.INVITE: "Your partner application is approved: sign in",
    notices.REJECTION: "Your partner application",
    notices.SIGNIN_LINK: "Your sign-in link",
    notices.STATEMENT_ISSUED: "Statement {statement_id} for {period} is issued",
    notices.PAYOUT_RECORDED: "Payout {payout_id} recorded",
    notices.COMMISSION_HELD: "Commission on {payment_id} held for review",
    notices.PAYOUT_BLOCKED: "Your payout waits for paperwork",
}
HOLD_REASONS = {"self_referral": "the customer looks like your own business (possible self-referral)"}
TEMPLATES = Environment(loader=PackageLoader("entrypoints", "mail_templates"), undefined=StrictUndefined,
                        autoescape=False, keep_trailing_newline=True)
TEMPLATES.globals["money"] = money


def base_url(settings: Settings) -> str:
    return (settings.http_public_url or LOCAL_BASE_URL).rstrip("/")


def message_id(consumer: str, key: str) -> str:
    """The same on every attempt, so a mail sent twice is recognisably one."""
    return f"<{hashlib.sha256(f'{consumer}:{key}'.encode()).hexdigest()[:32]}@commission-ledger>"


class MailConsumer:
    name = CONSUMER
    topics: frozenset[str] | None = notices.TOPICS

    def __init__(self, mailroom: Mailroom) -> None:
        self.mailroom = mailroom
        self.mailer = mailroom.mailer()

    def derive(self, envelope: Envelope) -> list[Message]:
        return notices.mails_for(envelope)

    def deliver(self, message: Stored) -> None:
        partner = self.mailroom.partner(message.recipient)
        if partner is None:
            raise Undeliverable(f"no partner {message.recipient!r}")
        if partner.forgotten:
            raise Skip("the partner was forgotten")
        if message.kind in notices.NOTICES and not partner.notices:
            raise Skip("the partner turned notices off")
        if message.kind in notices.WITH_LINK and partner.approved_at is None:
            raise Skip(f"the partner is {partner.state}: no sign-in")
        address = self.mailroom.queries.contact_email(partner.partner_id)
        if not address or address == FORGOTTEN:
            raise Skip("no contact address")
        link = self._link(message) if message.kind in notices.WITH_LINK else None
        self.mailer.send(self.compose(message, partner, address, link))

    def _link(self, message: Stored) -> tuple[str, str]:
        """(the sign-in URL, when it expires): the message's sealed secret, or for a new
        invite a fresh one, kept sealed in the row before the mail is sent."""
        if message.secret is None:
            hours = self.mailroom.settings.http_invite_hours
            credential, secret = self.mailroom.access.issue(
                "invite", "partner", partner_id=message.recipient, label="approval e-mail", lifetime=timedelta(hours=hours))
            sealed = self.mailroom.vault.seal(subject("partner", message.recipient), _with_expiry(secret, credential.expires_at))
            self.mailroom.outbox.keep_secret(message, sealed)
        else:
            sealed = message.secret
        opened = self.mailroom.vault.unseal(sealed)
        if opened is None or opened == FORGOTTEN:
            raise Skip("the sign-in link's key was destroyed")
        found = json.loads(opened)
        return f"{base_url(self.mailroom.settings)}/invite/{url_id(found['secret'])}", found["expires"]

    def compose(self, message: Stored, partner: Partner, address: str, link: tuple[str, str] | None) -> EmailMessage:
        base = base_url(self.mailroom.settings)
        dashboard = f"{base}/partners/{url_id(partner.partner_id)}"
        data = dict(message.data)
        body = TEMPLATES.get_template(f"{message.kind}.txt").render(
            data=data, partner_id=partner.partner_id, program_id=partner.program_id, dashboard=dashboard,
            link=link[0] if link else None, expires=link[1] if link else None,
            hold_reason=HOLD_REASONS.get(str(data.get("hold_reason")), data.get("hold_reason")),
        )
        if message.kind in notices.NOTICES:
            body += f"\n--\nYou get this notice as partner {partner.partner_id}. Turn notices off on your dashboard: {dashboard}#notices\n"
        mail = EmailMessage()
        mail["From"] = self.mailroom.settings.mail_from
        mail["To"] = address
        mail["Subject"] = SUBJECTS[message.kind].format(**data)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = message_id(message.consumer, message.key)
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(body)
        return mail


def _with_expiry(secret: str, expires_at: datetime | None) -> str:
    return json.dumps({"secret": secret, "expires": expires_at.strftime("%Y-%m-%d %H:%M UTC") if expires_at else "never"})


# -- "e-mail me a sign-in link" ---------------------------------------------------------


def request_signin_link(mailroom: Mailroom, email: str) -> int:
    """Put a sign-in link mail in the outbox for each approved partner whose contact address
    this is, unless it had ``LEDGER_SIGNIN_LINKS_PER_HOUR`` already; returns how many (the
    page never says: it answers the same for any address). The link is a one-time invite
    that expires after ``LEDGER_SIGNIN_LINK_MINUTES``."""
    settings, queued = mailroom.settings, 0
    now = datetime.now(UTC)
    for partner_id in mailroom.queries.partners_reached_at(email):
        partner = mailroom.partner(partner_id)
        if partner is None or partner.approved_at is None or partner.forgotten:
            continue
        if mailroom.outbox.sent_recently(CONSUMER, notices.SIGNIN_LINK, partner_id, now - timedelta(hours=1)) \
                >= settings.signin_links_per_hour:
            log.info("signin_link_rate_limited", partner_id=partner_id)
            continue
        enqueue_signin_link(mailroom, partner_id, timedelta(minutes=settings.signin_link_minutes), "e-mailed sign-in link", now)
        queued += 1
    return queued


def enqueue_signin_link(mailroom: Mailroom, partner_id: str, lifetime: timedelta, label: str,
                        now: datetime | None = None) -> tuple[str, datetime | None]:
    """A one-time sign-in link for the partner, put in the outbox as a mail to its contact
    address (its secret sealed in the row until sent); the invite's id and expiry."""
    credential, secret = mailroom.access.issue("invite", "partner", partner_id=partner_id, label=label, lifetime=lifetime)
    sealed = mailroom.vault.seal(subject("partner", partner_id), _with_expiry(secret, credential.expires_at))
    message = Message(notices.SIGNIN_LINK, partner_id)
    mailroom.outbox.enqueue(CONSUMER, f"signin:{credential.credential_id}", message, secret=sealed, now=now or datetime.now(UTC))
    return credential.credential_id, credential.expires_at


# -- running the worker ----------------------------------------------------------------------


def mail_worker(mailroom: Mailroom) -> OutboxWorker:
    return OutboxWorker(mailroom.outbox, MailConsumer(mailroom))


def run_mail(mailroom: Mailroom, *, once: bool, interval: float = 1.0) -> int:
    """``ledger mail [--once]``: send what the outbox holds (``--once``: what is due now,
    then exit); prints where mails go and the outbox's counts."""
    consumer = MailConsumer(mailroom)
    worker = OutboxWorker(mailroom.outbox, consumer)
    where = consumer.mailer.describe()
    log.info("mail_starting", once=once, to=where)
    started = time.monotonic()
    if once:
        done = worker.run_once()
        summary: dict[str, Any] = {"to": where, "sent": done.sent, "retried": done.retried, "failed": done.failed,
                                   "skipped": done.skipped}
    else:
        with stop_on_signals(threading.Event()) as stop:
            worker.follow(stop, interval)
        summary = {"to": where}
    summary["outbox"] = mailroom.outbox.summary(CONSUMER)
    log.info("mail_stopped", seconds=round(time.monotonic() - started, 3), **summary)
    print(json.dumps(summary))
    return 0


def start_beside_server(settings: Settings, stop: threading.Event) -> threading.Thread:
    """The mail worker as a daemon thread of ``ledger serve`` (its own ``Ledger``: the
    HTTP workers may be other processes). Two workers at once are safe: messages are leased."""

    def work() -> None:
        ledger = bootstrap(settings)
        try:
            mail_worker(ledger.mailroom).follow(stop)
        finally:
            ledger.close()

    thread = threading.Thread(target=work, name="ledger-mail", daemon=True)
    thread.start()
    return thread
