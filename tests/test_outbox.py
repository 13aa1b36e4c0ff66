"""The outbox core, with a consumer of its own: messages derived from the log once each,
across restarts and two workers; delivery retried with backoff, given up after the last
attempt, skipped on request; a worker that dies mid-delivery lets the message go when
its lease ends; a secret kept only until the message is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from entrypoints.bootstrap import bootstrap
from entrypoints.outbox import Backoff, OutboxWorker
from events.partner import ApplicationApproved
from ledger.aggregate import Envelope
from ledger.outbox import Message, RetryLater, Skip, Stored, Undeliverable
from tests import builders as b

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@dataclass
class Greeter:
    """Says hello to each approved partner; fails as told, per recipient."""

    name: str = "greetings"
    topics: frozenset[str] | None = frozenset({ApplicationApproved.TOPIC})
    delivered: list[str] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)

    def derive(self, envelope: Envelope) -> list[Message]:
        event = envelope.payload
        assert isinstance(event, ApplicationApproved)
        return [Message("hello", event.partner_id, {"level": event.level})]

    def deliver(self, message: Stored) -> None:
        queued = self.failures.get(message.recipient)
        if queued:
            raise queued.pop(0)
        self.delivered.append(message.recipient)


def approved(ledger, *partner_ids: str) -> None:
    ledger.ok(b.program(), *(c for p in partner_ids for c in b.partner(p)))


def states(ledger, consumer: str = "greetings") -> dict[str, str]:
    return {m["recipient"]: m["state"] for m in ledger.app.outbox.messages(consumer)}


def test_each_event_derives_its_messages_once_across_restarts(ledger):
    approved(ledger, "p1", "p2")
    greeter = Greeter()
    first = OutboxWorker(ledger.app.outbox, greeter).run_once(NOW)
    assert (first.derived, first.sent) == (2, 2)
    assert sorted(greeter.delivered) == ["p1", "p2"]
    again = bootstrap(database_url=ledger.url)  # a restart: a new process on the same database
    try:
        assert OutboxWorker(again.outbox, greeter).run_once(NOW).derived == 0
        approved_later = ledger.ok(*b.partner("p3"))
        assert approved_later
        assert OutboxWorker(again.outbox, greeter).run_once(NOW).sent == 1
    finally:
        again.close()
    assert sorted(greeter.delivered) == ["p1", "p2", "p3"]
    summary = ledger.app.outbox.summary("greetings")
    assert summary == {"pending": 0, "sent": 3, "failed": 0, "skipped": 0, "position": ledger.event_count()}


def test_two_workers_deriving_at_once_store_each_message_once(ledger):
    approved(ledger, "p1", "p2")
    other = bootstrap(database_url=ledger.url)
    try:
        # Both read the log from the same position; the second one's batch is refused.
        position = ledger.app.outbox.position("greetings")
        greeter = Greeter()
        ledger.app.outbox.derive("greetings", greeter.derive, greeter.topics)
        other.outbox._store("greetings", position, ledger.event_count(),
                            [(Message("hello", "p1"), "e1", 1)], NOW)
    finally:
        other.close()
    assert len(ledger.app.outbox.messages("greetings")) == 2


def test_a_failed_delivery_is_retried_with_backoff_then_given_up(ledger):
    approved(ledger, "p1")
    greeter = Greeter(failures={"p1": [RetryLater("server away"), RetryLater("server away")]})
    worker = OutboxWorker(ledger.app.outbox, greeter, backoff=Backoff(first=timedelta(minutes=1), attempts=3))
    assert worker.run_once(NOW).retried == 1
    [message] = ledger.app.outbox.messages("greetings")
    assert (message["attempts"], message["last_error"]) == (1, "server away")
    assert worker.run_once(NOW + timedelta(seconds=50)).retried == 0, "not due before its backoff"
    assert worker.run_once(NOW + timedelta(minutes=2)).retried == 1
    assert worker.run_once(NOW + timedelta(minutes=3)).sent == 0, "the second wait is twice as long"
    assert worker.run_once(NOW + timedelta(minutes=5)).sent == 1
    assert greeter.delivered == ["p1"] and states(ledger) == {"p1": "sent"}

    ledger.ok(*b.partner("p2"))
    greeter.failures["p2"] = [RetryLater("away")] * 3
    worker.run_once(NOW)
    worker.run_once(NOW + timedelta(hours=1))
    assert worker.run_once(NOW + timedelta(hours=2)).failed == 1
    assert states(ledger)["p2"] == "failed"
    assert worker.run_once(NOW + timedelta(days=1)).failed == 0, "a given-up message is not tried again"


def test_undeliverable_fails_at_once_and_skip_is_kept_with_its_reason(ledger):
    approved(ledger, "p1", "p2")
    greeter = Greeter(failures={"p1": [Undeliverable("550 no such user")], "p2": [Skip("notices turned off")]})
    done = OutboxWorker(ledger.app.outbox, greeter).run_once(NOW)
    assert (done.failed, done.skipped, done.sent) == (1, 1, 0)
    errors = {m["recipient"]: (m["state"], m["last_error"]) for m in ledger.app.outbox.messages("greetings")}
    assert errors == {"p1": ("failed", "550 no such user"), "p2": ("skipped", "notices turned off")}


def test_a_worker_that_dies_mid_delivery_lets_the_message_go_when_its_lease_ends(ledger):
    approved(ledger, "p1")
    outbox = ledger.app.outbox
    greeter = Greeter()
    outbox.derive("greetings", greeter.derive, greeter.topics, now=NOW)
    [held] = outbox.claim("greetings", limit=10, lease=timedelta(minutes=2), now=NOW)  # then the worker dies
    assert outbox.claim("greetings", limit=10, lease=timedelta(minutes=2), now=NOW + timedelta(minutes=1)) == []
    done = OutboxWorker(ledger.app.outbox, greeter).run_once(NOW + timedelta(minutes=3))
    assert done.sent == 1 and greeter.delivered == ["p1"]
    [message] = outbox.messages("greetings")
    assert message["attempts"] == 2 and held.attempts == 1


def test_a_secret_is_kept_until_the_message_is_sent(ledger):
    approved(ledger, "p1")
    outbox = ledger.app.outbox
    assert outbox.enqueue("greetings", "link:1", Message("link", "p1"), secret="sealed:x", now=NOW)
    assert not outbox.enqueue("greetings", "link:1", Message("link", "p1"), secret="sealed:y", now=NOW), "a key is used once"
    [stored] = outbox.claim("greetings", limit=10, lease=timedelta(minutes=1), now=NOW)
    assert stored.secret == "sealed:x"
    outbox.mark_sent(stored)
    rows = ledger.app.db.fetch_all("SELECT secret, state FROM ledger_outbox WHERE message_key = %s", ("link:1",))
    assert rows == [(None, "sent")]
    assert outbox.sent_recently("greetings", "link", "p1", NOW - timedelta(minutes=1)) == 1
    assert outbox.sent_recently("greetings", "link", "p1", NOW + timedelta(minutes=1)) == 0


@pytest.mark.parametrize("from_head", [True, False])
def test_a_consumer_starts_from_the_head_or_from_the_first_event(ledger, from_head):
    approved(ledger, "p1")
    ledger.app.outbox.register("greetings", from_head=from_head)
    done = OutboxWorker(ledger.app.outbox, Greeter()).run_once(NOW)
    assert done.derived == (0 if from_head else 1)
