"""Signed webhooks: the ``webhooks`` consumer of the outbox (fed by the same events the
Kafka relay publishes, with the same public payload), its delivery over HTTP signed as
the Standard Webhooks specification says, "send again", and ``ledger webhooks``.

Delivery is at least once: the outbox marks a delivery sent only after the endpoint
answered 2xx; anything else (a refusal, a timeout, the endpoint down) is retried with
doubling backoff for more than a day (``BACKOFF``), each attempt signed afresh with the
same ``webhook-id`` (the outbox's message key), which is what a receiver deduplicates on.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import structlog

from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.outbox import Backoff, OutboxWorker, Round
from entrypoints.output import print_json, print_record, print_table
from entrypoints.settings import Settings
from entrypoints.signals import stop_on_signals
from events.base import registered_events
from ledger import webhooks
from ledger.aggregate import Envelope
from ledger.errors import CommandRejected, Problem
from ledger.outbox import Message, RetryLater, Skip, Stored
from ledger.webhooks import CONSUMER

if TYPE_CHECKING:  # httpx is imported by the worker that sends, not by every ``ledger`` command
    import httpx

    from adapters.outbox import Outbox
    from adapters.webhooks import Endpoint, WebhookEndpoints

log = structlog.get_logger(__name__)

# 30 s, 1 min, 2 min ... doubling up to 6 h between tries, 14 tries: the last one about
# 32 hours after the first (at least a day, as receivers expect), then given up.
BACKOFF = Backoff(first=timedelta(seconds=30), longest=timedelta(hours=6), attempts=14)
TIMEOUT_S = 10.0
EVENT_TYPES = frozenset(topic for topic in registered_events() if topic not in webhooks.UNPUBLISHED_TYPES)


class WebhookConsumer:
    """The outbox consumer: derives one delivery per subscribed endpoint, delivers it."""

    name = CONSUMER

    def __init__(self, endpoints: WebhookEndpoints, client: httpx.Client | None = None) -> None:
        import httpx

        self.endpoints = endpoints
        self.client = client or httpx.Client(timeout=TIMEOUT_S, follow_redirects=False)
        self._endpoints: list[tuple[str, tuple[str, ...], datetime]] = []
        self._loaded_at = 0.0

    @property
    def topics(self) -> frozenset[str] | None:
        """The event types some active endpoint takes (None: every one), so a ledger with no
        endpoint decodes nothing for webhooks."""
        wanted = {t for _, types, _ in self._active() for t in types}
        return None if webhooks.EVERY_EVENT in wanted else frozenset(wanted)

    def derive(self, envelope: Envelope) -> list[Message]:
        return webhooks.messages(envelope, self._active())

    def _active(self) -> list[tuple[str, tuple[str, ...], datetime]]:
        if time.monotonic() - self._loaded_at > 1.0:  # an endpoint added a moment ago is seen within a second
            self._endpoints = [(e.endpoint_id, e.event_types, e.created_at) for e in self.endpoints.all() if e.active]
            self._loaded_at = time.monotonic()
        return self._endpoints

    def deliver(self, message: Stored) -> None:
        endpoint = self.endpoints.get(message.recipient)
        if endpoint is None or not endpoint.active:
            raise Skip("the endpoint was removed")
        key = self.endpoints.signing_key(endpoint.endpoint_id)
        if key is None:
            raise Skip("the endpoint has no signing secret")
        body = str(message.data["body"])
        webhook_id = str(message.data.get("webhook_id") or message.key)
        headers = webhooks.signed_headers(key, webhook_id, datetime.now(UTC), body)
        import httpx  # loaded by __init__ already: a lookup

        try:
            response = self.client.post(endpoint.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as error:
            raise RetryLater(f"{type(error).__name__}: the endpoint did not answer") from None
        if not 200 <= response.status_code < 300:
            raise RetryLater(f"the endpoint answered HTTP {response.status_code}")


def worker(ledger: Ledger, client: httpx.Client | None = None) -> OutboxWorker:
    """The process's worker: the outbox and the endpoints, from its own ``Ledger``."""
    ledger.outbox.register(CONSUMER, from_head=True)  # a first endpoint does not replay history
    return OutboxWorker(ledger.outbox, WebhookConsumer(ledger.webhooks, client), backoff=BACKOFF)


def start_beside_server(settings: Settings, stop: threading.Event) -> threading.Thread:
    """The webhook worker as a daemon thread of ``ledger serve`` (its own ``Ledger``, as
    the mail worker has); two workers at once are safe: deliveries are leased."""

    def work() -> None:
        ledger = bootstrap(settings)
        try:
            worker(ledger).follow(stop)
        finally:
            ledger.close()

    thread = threading.Thread(target=work, name="ledger-webhooks", daemon=True)
    thread.start()
    return thread


# -- what admins do (the CLI and the admin console) ------------------------------------


def add_endpoint(endpoints: WebhookEndpoints, outbox: Outbox, url: str, event_types: list[str],
                 description: str | None = None) -> tuple[Endpoint, str]:
    """A new endpoint and its secret (shown once), or ``CommandRejected`` naming every
    bad field."""
    problems = []
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append(Problem("invalid", f"url must be an http:// or https:// address, not {url!r}", "url"))
    types = sorted({t.strip() for t in event_types if t.strip()})
    unknown = [t for t in types if t != webhooks.EVERY_EVENT and t not in EVENT_TYPES]
    if not types:
        problems.append(Problem("invalid", "choose at least one event type (or * for every one)", "event_types"))
    elif unknown:
        problems.append(Problem("invalid", f"unknown event types {unknown}: choose from {sorted(EVENT_TYPES)}", "event_types"))
    if problems:
        raise CommandRejected.of(problems)
    outbox.register(CONSUMER, from_head=True)
    endpoint, secret = endpoints.add(url.strip(), types, description)
    log.info("webhook_endpoint_added", endpoint_id=endpoint.endpoint_id, event_types=types)
    return endpoint, secret


def send_again(endpoints: WebhookEndpoints, outbox: Outbox, endpoint_id: str, key: str) -> bool:
    """The same delivery (same body, same ``webhook-id``) queued once more, as a new row
    of the endpoint's log; False if there is no such delivery."""
    data = endpoints.delivery(endpoint_id, key)
    if data is None:
        return False
    again = {**data, "webhook_id": data.get("webhook_id", key)}
    outbox.enqueue(CONSUMER, f"{key}:again:{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}",
                   Message(webhooks.KIND, endpoint_id, again))
    log.info("webhook_sent_again", endpoint_id=endpoint_id, key=key)
    return True


# -- ledger webhooks ---------------------------------------------------------------------

Command = Callable[[Ledger, argparse.Namespace], int]
ENDPOINT_COLUMNS = ("endpoint_id", "url", "event_types", "created_at", "disabled_at")
DELIVERY_COLUMNS = ("key", "event_type", "state", "attempts", "created_at", "sent_at", "last_error")


def add_parsers(sub: Any) -> dict[str, Command]:
    parser = sub.add_parser("webhooks", help="signed webhook endpoints (Standard Webhooks) and their deliveries")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="register an endpoint; its signing secret is printed once")
    add.add_argument("url")
    add.add_argument("--events", required=True, help="comma-separated event types (e.g. payment.recorded,statement.issued) or *")
    add.add_argument("--description")
    actions.add_parser("list", help="the endpoints (never their secrets)")
    remove = actions.add_parser("remove", help="stop delivering to an endpoint")
    remove.add_argument("endpoint_id")
    deliveries = actions.add_parser("log", help="an endpoint's deliveries, newest first")
    deliveries.add_argument("endpoint_id")
    again = actions.add_parser("send-again", help="queue a delivery once more")
    again.add_argument("endpoint_id")
    again.add_argument("key", help="the delivery's key, from `ledger webhooks log`")
    deliver = actions.add_parser("deliver", help="derive and deliver what is due (the worker)")
    deliver.add_argument("--follow", action="store_true", help="keep delivering until stopped")
    for p in (add, remove, deliveries, again, deliver, actions.choices["list"]):
        p.add_argument("--json", action="store_true", help="print JSON")
    return {"webhooks": cmd_webhooks}


def cmd_webhooks(ledger: Ledger, args: argparse.Namespace) -> int:
    if args.action == "add":
        try:
            endpoint, secret = add_endpoint(ledger.webhooks, ledger.outbox, args.url, args.events.split(","), args.description)
        except CommandRejected as refused:
            print(json.dumps({"ok": False, "error": refused.as_dict(), "errors": [p.as_dict() for p in refused.problems]}))
            return 2
        return _show({**endpoint.as_dict(), "secret": secret}, args, "Endpoint added (the secret is shown this once)")
    if args.action == "list":
        rows = [e.as_dict() for e in ledger.webhooks.all()]
        if args.json:
            print_json(rows)
        else:
            print_table(ENDPOINT_COLUMNS, [[r[c] for c in ENDPOINT_COLUMNS] for r in rows], title="Webhook endpoints")
        return 0
    if args.action == "remove":
        return _show({"endpoint_id": args.endpoint_id, "removed": ledger.webhooks.disable(args.endpoint_id)}, args)
    if args.action == "log":
        rows = ledger.webhooks.deliveries(args.endpoint_id)
        if args.json:
            print_json(rows)
        else:
            print_table(DELIVERY_COLUMNS, [[r[c] for c in DELIVERY_COLUMNS] for r in rows], title=f"Deliveries to {args.endpoint_id}")
        return 0
    if args.action == "send-again":
        queued = send_again(ledger.webhooks, ledger.outbox, args.endpoint_id, args.key)
        _show({"endpoint_id": args.endpoint_id, "key": args.key, "queued": queued}, args)
        return 0 if queued else 1
    return _deliver(ledger, args)


def _deliver(ledger: Ledger, args: argparse.Namespace) -> int:
    runner = worker(ledger)
    if not args.follow:
        done: Round = runner.run_once()
        return _show({"derived": done.derived, "sent": done.sent, "retried": done.retried, "failed": done.failed,
                      "skipped": done.skipped}, args, "Webhooks")
    stop = threading.Event()
    with stop_on_signals(stop):
        runner.follow(stop)
    return 0


def _show(document: dict[str, Any], args: argparse.Namespace, title: str | None = None) -> int:
    if args.json:
        print_json(document)
    else:
        print_record(document, title=title)
    return 0
