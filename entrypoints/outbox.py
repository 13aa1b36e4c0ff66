"""The outbox worker: for one consumer (``mail``, ``webhooks``...), derive messages from
the log into the outbox, then deliver what is due, retrying with backoff.

It never runs inside a command: the bus commits events and returns; a worker (``ledger
mail``, or the one ``ledger serve`` starts) finds them in the log later. See
``adapters.outbox`` for the tables and the delivery guarantee (at least once, a repeat
made harmless by the message key), and docs/architecture.md for adding a consumer.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import structlog

from ledger.aggregate import Envelope
from ledger.outbox import Message, RetryLater, Skip, Stored, Undeliverable

if TYPE_CHECKING:
    from adapters.outbox import Outbox

log = structlog.get_logger(__name__)


class Consumer(Protocol):
    """What a consumer of the outbox brings: its name, the event topics it reads, the
    pure function from an event to its messages, and the delivery of one message (raises
    ``RetryLater``, ``Undeliverable`` or ``Skip`` when it did not deliver)."""

    name: str

    @property
    def topics(self) -> frozenset[str] | None: ...  # read each round: a consumer's interest may change

    def derive(self, envelope: Envelope) -> list[Message]: ...

    def deliver(self, message: Stored) -> None: ...


@dataclass(frozen=True)
class Backoff:
    first: timedelta = timedelta(seconds=30)
    longest: timedelta = timedelta(hours=6)
    attempts: int = 10  # then the message is given up (state failed)

    def after(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed delivery: doubling, capped, with up
        to 10 % jitter so messages failed together are not retried together."""
        wait = min(self.longest, self.first * 2 ** max(0, attempts - 1))
        return wait * (1 + random.random() / 10)


@dataclass
class Round:
    derived: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def worked(self) -> bool:
        return bool(self.derived or self.sent or self.retried or self.failed or self.skipped)


class OutboxWorker:
    def __init__(self, outbox: Outbox, consumer: Consumer, *, backoff: Backoff | None = None,
                 lease: timedelta = timedelta(minutes=2), batch: int = 50) -> None:
        self.outbox, self.consumer = outbox, consumer
        self.backoff = backoff or Backoff()
        self.lease, self.batch = lease, batch

    def run_once(self, now: datetime | None = None, stop: threading.Event | None = None) -> Round:
        """Derive what the log holds, then deliver every message due by ``now``."""
        done = Round(derived=self.outbox.derive(self.consumer.name, self.consumer.derive, self.consumer.topics, now=now))
        while stop is None or not stop.is_set():
            claimed = self.outbox.claim(self.consumer.name, limit=self.batch, lease=self.lease, now=now)
            if not claimed:
                break
            for message in claimed:
                self._deliver(message, done, now or datetime.now(UTC))
        return done

    def _deliver(self, message: Stored, done: Round, now: datetime) -> None:
        name = self.consumer.name
        try:
            self.consumer.deliver(message)
        except Skip as why:
            self.outbox.give_up(message, "skipped", str(why))
            log.info("outbox_skipped", consumer=name, kind=message.kind, key=message.key, reason=str(why))
            done.skipped += 1
            return
        except Undeliverable as error:
            self._fail(message, str(error), done)
            return
        except RetryLater as error:
            self._retry(message, str(error), done, now)
            return
        except Exception as error:  # a bug or an unforeseen refusal: retried, and logged in full
            log.exception("outbox_delivery_crashed", consumer=name, kind=message.kind, key=message.key)
            self._retry(message, f"{type(error).__name__}: {error}", done, now)
            return
        self.outbox.mark_sent(message)
        log.info("outbox_sent", consumer=name, kind=message.kind, key=message.key, attempts=message.attempts)
        done.sent += 1

    def _retry(self, message: Stored, error: str, done: Round, now: datetime) -> None:
        if message.attempts >= self.backoff.attempts:
            self._fail(message, f"gave up after {message.attempts} attempts: {error}", done)
            return
        wait = self.backoff.after(message.attempts)
        self.outbox.retry_at(message, now + wait, error)
        log.warning("outbox_retry", consumer=self.consumer.name, kind=message.kind, key=message.key,
                    attempts=message.attempts, retry_in_s=round(wait.total_seconds()), error=error)
        done.retried += 1

    def _fail(self, message: Stored, error: str, done: Round) -> None:
        self.outbox.give_up(message, "failed", error)
        log.error("outbox_failed", consumer=self.consumer.name, kind=message.kind, key=message.key, error=error)
        done.failed += 1

    def follow(self, stop: threading.Event, interval: float = 1.0) -> None:
        """Keep deriving and delivering until ``stop`` is set; a round that breaks (the
        database away) is tried again after a pause, never ending the worker."""
        pause = interval
        while not stop.is_set():
            try:
                worked = self.run_once(stop=stop).worked
                pause = interval
            except Exception:
                log.exception("outbox_round_failed", consumer=self.consumer.name, retry_in_s=pause)
                worked, pause = False, min(60.0, pause * 2)
            if not worked:
                stop.wait(pause)
