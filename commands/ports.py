"""What the service layer needs from the outside world, as protocols.

``entrypoints.bootstrap`` plugs the adapters in (``adapters.event_store.EventStore``,
``adapters.vault.Vault``); the service layer never imports them, so it can run against
anything with these shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from ledger.aggregate import Aggregate, Envelope
from ledger.referral import Contacts


class EventStore(Protocol):
    def get(self, aggregate_id: UUID) -> Aggregate | None:
        """The aggregate's current state, or None if it has no events."""

    def load_many(self, aggregate_ids: Sequence[UUID]) -> dict[UUID, list[Envelope]]:
        """Every event of many aggregates at once (absent ones are left out)."""

    def receipts(self, keys: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(fingerprint, first result) of those idempotency keys already used."""

    def max_position(self) -> int:
        """The position of the log's last event (0 when empty)."""

    def payloads(
        self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> list[tuple[int, datetime, str, dict[str, Any]]]:
        """Up to ``limit`` events after position ``after`` (up to ``stop``; only those
        ``topics`` when given), in order, as (position, effective time, topic, payload
        as a plain JSON object at its current schema version)."""

    def append(
        self, envelopes: Sequence[Envelope], *, read_versions: dict[UUID, int], forget_subjects: Sequence[str],
        receipts: Sequence[tuple[str, str, dict[str, Any]]] = (),
    ) -> list[int]:
        """Append ``envelopes`` and the new idempotency ``receipts`` (key, fingerprint,
        result) in one transaction; return the events' positions. Raise the library's
        ``IntegrityError`` if any aggregate written or read (``read_versions``) moved
        on meanwhile, or a key was taken by another writer."""


class Vault(Protocol):
    def seal(self, subject: str, plaintext: str) -> str:
        """Encrypt personal data under the subject's key."""

    def fingerprint(self, value: str) -> str:
        """A keyed hash of an address or a domain (case and spaces ignored)."""

    def keyed_hash(self, text: str) -> str:
        """A keyed hash of any text."""

    def prepare(self, subjects: Iterable[str]) -> None:
        """Make sure keys exist for many subjects at once."""

    def store_document(self, subject: str, content: bytes, media_type: str) -> str:
        """Seal a file (personal data) under the subject's key, outside the log; its id."""


class ReadModels(Protocol):
    def deciding(self) -> AbstractContextManager[None]:
        """While a batch is decided: readings below bring the read models up to date once."""

    def prefetch_contacts(self, email_hashes: set[str], domain_hashes: set[str]) -> None:
        """While ``deciding``: read the contacts of these addresses at once."""

    def catch_up(self, *, recent: Sequence[tuple[int, Envelope]] = ()) -> int:
        """Bring every read model up to date with the log; returns events applied.
        ``recent``: events just written, with their positions, which need not be read
        back from the log when the read models are right behind them."""

    def contacts(self, email_hash: str, domain_hash: str | None) -> Contacts:
        """Customers whose e-mail or domain matches, and the leads for that e-mail (read models current)."""
