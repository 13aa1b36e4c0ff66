"""The composition root: wires the adapters to the service layer once.

``bootstrap()`` returns the ``Ledger``: the message bus (the only way to change it), the
queries and read models (the way to read it), and what replay, snapshots and the Kafka
entry points need. Every entry point (CLI, Kafka consumer and relay, HTTP) starts here,
and takes from it only the parts it uses: the HTTP app's routes and pages get them one by
one as FastAPI dependencies (``entrypoints/http/deps.py``), never the whole ``Ledger``;
signing in gets ``Credentials``, read-your-writes and /healthz ``Freshness``, mail its
``Mailroom``; the log's head, a partner as the log knows it and the chain's check are
methods here, so no entry point reaches into the store or the database for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from adapters.access import AccessStore
from adapters.clicks import ClickCounter
from adapters.database import Database
from adapters.event_store import EventStore
from adapters.kafka import KafkaClients, KafkaConfig
from adapters.mailer import Mailer, mailer_for
from adapters.outbox import Outbox
from adapters.vault import Vault
from adapters.webhooks import WebhookEndpoints
from entrypoints.settings import Settings, load_settings
from ledger import notices
from ledger.partner import Partner
from projections.catalog import LiveReadModels
from projections.listings import Listings
from projections.queries import Queries
from projections.referrals import Referrals
from projections.reports import Reports
from replay.integrity import ChainReport, verify_chain
from replay.snapshots import Snapshot, SnapshotStore

if TYPE_CHECKING:
    from commands.bus import MessageBus

_MAKING_BUS = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    """What signing in needs, and nothing more: the access store (tokens, invites and
    sessions: hashes only), the keyed hash that binds a form's CSRF token to its session
    or browser, and the lifetimes and public URL of the settings."""

    access: AccessStore
    keyed_hash: Callable[[str], str]
    session_hours: float
    invite_hours: float
    public_url: str


@dataclass(frozen=True)
class Freshness:
    """How current the read models are, and nothing more: the log's head, each read
    model's position (both read when called), and how long a read given a position
    (read-your-writes) waits for them (``LEDGER_HTTP_READ_WAIT_S``)."""

    log_head: Callable[[], int]
    positions: Callable[[], dict[str, int]]
    wait_s: float


@dataclass(frozen=True)
class Mailroom:
    """What mail needs, and nothing more: the outbox, each partner as the log knows it
    (approved? forgotten? notices on?), the queries (its contact address), the access store
    and the vault (a mail's one-time sign-in link, its secret sealed in the outbox row),
    the settings, and where mails go (``mailer()``: made by whoever sends)."""

    settings: Settings
    outbox: Outbox
    partner: Callable[[str], Partner | None]
    queries: Queries
    access: AccessStore
    vault: Vault
    mailer: Callable[[], Mailer]


@dataclass
class Ledger:
    settings: Settings
    db: Database
    store: EventStore
    vault: Vault
    read_models: LiveReadModels
    queries: Queries
    access: AccessStore  # the HTTP server's tokens, invites and sessions (hashes only)
    listings: Listings
    reports: Reports  # monthly series, statement history, program pages
    snapshot_store: SnapshotStore  # its tables made once, at bootstrap
    referrals: Referrals  # referral links, leads, the partner's funnel
    outbox: Outbox  # messages derived from the log (mail, webhooks), delivered by a worker
    clicks: ClickCounter  # clicks on referral links, per link and day (not events)

    _bus: MessageBus | None = field(default=None, init=False, repr=False)

    @property
    def bus(self) -> MessageBus:
        """The message bus, made on first use: importing the commands' models, rules and
        handlers costs about 0.2 s of CPU, which the entry points that only read (queries,
        replay, verify, the relay) need not pay at every start. Made under a lock: the
        HTTP server's threads share one bus, whose own lock orders their writes."""
        with _MAKING_BUS:
            if self._bus is None:
                from commands.bus import MessageBus
                from commands.unit_of_work import UnitOfWork

                self._bus = MessageBus(UnitOfWork(self.store), self.vault, self.read_models)
            return self._bus

    def snapshots(self) -> SnapshotStore:
        return self.snapshot_store

    def take_snapshot(self, label: str | None) -> Snapshot | None:
        """Freeze the read models once they are current; None if a writer moved them on
        while they were read (take it again)."""
        self.read_models.catch_up()
        position = min(self.read_models.positions().values())
        return self.snapshots().take(
            self.read_models.t, position, label,
            still_at=lambda: min(self.read_models.positions().values()) == position,
        )

    @property
    def credentials(self) -> Credentials:
        # Made on each use, as ``mailroom`` is: settings replaced on a live Ledger (tests do)
        # reach invite links and origins too. One small frozen dataclass, about 1 µs.
        s = self.settings
        return Credentials(self.access, self.vault.keyed_hash, s.http_session_hours, s.http_invite_hours, s.http_public_url)

    @property
    def freshness(self) -> Freshness:
        return Freshness(self.log_head, self.read_models.positions, self.settings.http_read_wait_s)

    @property
    def mailroom(self) -> Mailroom:
        return Mailroom(self.settings, self.outbox, self.partner, self.queries, self.access, self.vault, self.mailer)

    def partner(self, partner_id: str) -> Partner | None:
        """The partner aggregate as the log knows it now (None if it never applied)."""
        return self.store.load(Partner, partner_id)

    def log_head(self) -> int:

        """The log's last position (0 while it is empty)."""
        return self.store.max_position()

    def verify_chain(self, expect: tuple[int, str] | None = None) -> ChainReport:
        """Walk the log and its hash chain (``replay.integrity.verify_chain``)."""
        return verify_chain(self.db, self.store, expect)

    @cached_property
    def webhooks(self) -> WebhookEndpoints:
        """The webhook endpoints admins registered (their table made on first use)."""
        return WebhookEndpoints(self.db, self.vault)

    def kafka(self, config: KafkaConfig | None = None) -> KafkaClients:
        """Kafka clients on these settings (or on ``config``)."""
        return KafkaClients(config or self.settings.kafka)

    def mailer(self) -> Mailer:
        """Where mails go: the SMTP server of ``LEDGER_SMTP_URL``, else ``LEDGER_MAIL_DIR``."""
        url = self.settings.smtp_url
        return mailer_for(url.get_secret_value() if url else None, self.settings.mail_dir)

    def close(self) -> None:
        self.db.close()


def bootstrap(settings: Settings | None = None, *, database_url: str | None = None) -> Ledger:
    """The ledger on ``settings`` (default: the environment); ``database_url`` overrides
    the setting (``--db``)."""
    settings = settings or load_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    db = Database.from_url(settings.database_url)
    with db.schema_lock():  # every table, trigger and migration at once, one process at a time
        store = EventStore(db)
        vault = Vault(db)
        read_models = LiveReadModels(db, store)
        read_models.setup()
        access = AccessStore(db)
        snapshots = SnapshotStore(db)
        outbox = Outbox(db, store)
        # Mail starts where the ledger is when it is first switched on: a ledger made before
        # mail existed does not mail its history (a fresh one starts at 0, its head).
        outbox.register(notices.CONSUMER, from_head=True)
        clicks = ClickCounter(db)
    reports = Reports(db, store)
    return Ledger(
        settings, db, store, vault, read_models, Queries(db, store, vault), access, Listings(db, store, vault),
        reports, snapshots, Referrals(db, store, vault, clicks, reports), outbox, clicks,
    )
