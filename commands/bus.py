"""The message bus: the only way to change the ledger.

``bus.handle(command)`` validates a command, applies idempotency, runs its handler in a
unit of work, commits, and brings the read models up to date. ``bus.handle_many``
does the same for a stream of commands, committed a batch at a time (``ledger apply``,
the Kafka consumer, HTTP batches).

A batch goes through small steps, each one method: parse (``_parse``, once per message,
as ``handle_many`` cuts the stream, so a month close is known by its parsed type), decide
(``_decide``: prefetch what the batch reads, then per command ``_answer_from_receipts``
for idempotency and ``_handle`` for the handler), append (``UnitOfWork.commit``), fold
(``read_models.catch_up``). Deciding and appending are retried together, in one place
(``_decide_and_append``). ``preview`` and ``preview_many`` decide the same way and
append nothing.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

import orjson
import structlog
from eventsourcing.persistence import IntegrityError

from commands import models as m
from commands.handlers import HANDLERS, Context, Result
from commands.handlers.base import domain_hash
from commands.parsing import Raw, Sourced, parse
from commands.ports import ReadModels, Vault
from commands.unit_of_work import UnitOfWork
from events.base import EventMeta, Source
from ledger.aggregate import Aggregate, Envelope
from ledger.customer import Customer
from ledger.errors import CommandRejected, WriteRefused, reject
from ledger.partner import Partner
from ledger.payment import Payment
from ledger.privacy import subject
from ledger.program import Program
from ledger.referral import Lead

log = structlog.get_logger(__name__)

BATCH_SIZE = 500
MAX_BACKOFF = 1.0  # seconds: the longest pause between two attempts of a conflicting batch
# Attempts of a batch that keeps conflicting with other writers (about half a minute
# of pauses) before its commands are refused as ``busy``, recording nothing.
MAX_ATTEMPTS = 50
Message = Raw | Sourced | m.Command


class Origin(NamedTuple):
    """Where a stream of commands comes from: the entry point, the actor by default, and
    the caller whose own ``command_id`` keys they are (None: the CLI; see
    ``Command.idempotency_keys``)."""

    source: Source
    actor: str
    caller: str | None


def error_result(error: CommandRejected, command_type: str | None = None) -> Result:
    result: Result = {"ok": False, "error": error.as_dict(), "errors": [p.as_dict() for p in error.problems]}
    if command_type:
        result["type"] = command_type
    return result


def fingerprint(command: m.Command, key: Callable[[str], str]) -> str:
    """Identifies a command's content for idempotency. Keyed (``key`` is the vault's
    HMAC), so a stored fingerprint cannot be used to confirm a guessed e-mail or account."""
    content = command.content()
    text = orjson.dumps(content, option=orjson.OPT_SORT_KEYS).decode()
    if not text.isascii():  # the stored fingerprints escape non-ASCII text, as json.dumps does
        text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return key(text)


class MessageBus:
    def __init__(self, uow: UnitOfWork, vault: Vault, read_models: ReadModels) -> None:
        self.uow, self.vault, self.read_models = uow, vault, read_models
        # One unit of work: threads (the HTTP server's) take turns.
        self._lock = threading.RLock()

    def handle(
        self, message: Message, *, source: Source = "cli", actor: str | None = None, caller: str | None = None,
    ) -> Result:
        """One command in its own transaction; the read models are current afterwards."""
        return next(self.handle_many([message], source=source, actor=actor, caller=caller))

    def handle_many(
        self, messages: Iterable[Message], *, source: Source = "cli", actor: str | None = None,
        caller: str | None = None, batch_size: int = BATCH_SIZE,
    ) -> Iterator[Result]:
        """Commands in order, committed ``batch_size`` at a time; results in order.

        A version conflict with another writer replays the batch on fresh state. An
        unexpected failure replays it one command per transaction, so only the
        culprit fails. A month close runs alone, after a commit, so it sees
        everything before it. ``caller`` scopes the commands' own ``command_id`` keys
        (default: the entry point, the CLI's being unscoped)."""
        origin = _origin(source, actor, caller)
        batch: list[m.Command | Result] = []
        for message in messages:
            parsed = _parse(message)  # once per message, whatever the retries
            # Decided on the parsed command, not on how its text spells the type.
            barrier = isinstance(parsed, m.ClosePeriod)
            if barrier and batch:
                yield from self._apply_batch(batch, origin)
                batch = []
            batch.append(parsed)
            if barrier or len(batch) >= batch_size:
                yield from self._apply_batch(batch, origin)
                batch = []
        if batch:
            yield from self._apply_batch(batch, origin)

    def preview(self, message: Message, *, source: Source = "cli", actor: str | None = None,
                caller: str | None = None) -> tuple[Result, list[Envelope]]:
        """What one command would do, decided exactly as ``handle`` decides it, and then
        thrown away: its result and the events it would record. Nothing is written (a
        confirmation page shows what a month close will issue before it is done)."""
        with self._lock:
            command = _parse(message)
            if not isinstance(command, m.Command):
                return command, []
            try:
                [result] = self._decide([command], _origin(source, actor, caller))
                return result, self.uow.pending()
            finally:
                self.uow.discard()

    def preview_many(self, messages: Iterable[Message], *, source: Source = "cli", actor: str | None = None,
                     caller: str | None = None) -> list[Result]:
        """What several commands would do, decided in order in one unit of work (each
        sees what the ones before it would record), then all thrown away: their results.
        Nothing is written (``ledger import --dry-run``)."""
        with self._lock:
            try:
                return self._decide([_parse(message) for message in messages], _origin(source, actor, caller))
            finally:
                self.uow.discard()

    # -- one batch ------------------------------------------------------------------------

    def _apply_batch(self, parsed: list[m.Command | Result], origin: Origin) -> list[Result]:
        """The steps of a parsed batch: decide and append (retried together), then fold
        what was appended into the read models."""
        with self._lock:
            committed: list[tuple[int, Envelope]] = []
            results = self._decide_and_append(parsed, origin, committed)
            self.read_models.catch_up(recent=committed)
            return results

    def _decide_and_append(
        self, parsed: list[m.Command | Result], origin: Origin, committed: list[tuple[int, Envelope]]
    ) -> list[Result]:
        """Decide every command of the batch in memory and append what they recorded in
        one transaction; ``committed`` receives the events written, with positions.
        Every retry of the bus is here.

        Only a conflict with another writer (a unique key or version taken, a
        serialization failure: the store's ``IntegrityError``) is replayed on fresh
        state, after a pause that grows with each conflict (with jitter, so writers fall
        out of step), at most ``MAX_ATTEMPTS`` times; then every command is refused as
        ``busy``. Any other failure (a NOT NULL or CHECK refused by the database, a bug)
        is never retried as such: the batch is replayed one command per transaction, so
        only the culprit fails (code ``internal``, saying why) and the others still apply."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                results = self._decide(parsed, origin)
                committed += self.uow.commit()
                return results
            except IntegrityError:
                self.uow.discard()
                pause = random.uniform(0, min(MAX_BACKOFF, 0.01 * 2**attempt))
                log.info("batch_conflict_retry", attempt=attempt, size=len(parsed), pause=round(pause, 3))
                time.sleep(pause)
            except Exception as failure:
                self.uow.discard()
                if len(parsed) > 1:
                    log.warning("batch_failed_retrying_singly", size=len(parsed), error=type(failure).__name__)
                    return [self._decide_and_append([command], origin, committed)[0] for command in parsed]
                log.exception("command_failed")  # reported, never swallowed silently
                return [_refused(parsed[0], reject("internal", _failure_message(failure)))]
        log.error("batch_gave_up", attempts=MAX_ATTEMPTS, size=len(parsed))
        busy = reject("busy", f"other writers kept changing what this needed: {MAX_ATTEMPTS} attempts conflicted; "
                              "nothing was recorded, send it again")
        return [_refused(c, busy) for c in parsed]

    def _decide(self, parsed: list[m.Command | Result], origin: Origin) -> list[Result]:
        """Each parsed command's result, decided in order in the unit of work (what it
        records stays pending there); one refused when parsing keeps its refusal."""
        with self.read_models.deciding():
            commands = [c for c in parsed if isinstance(c, m.Command)]
            keys = [c.idempotency_keys(origin.caller) for c in commands]  # once per command
            self._prefetch(commands, [key for some in keys for key in some])
            each_keys = iter(keys)
            return [self._decide_one(c, next(each_keys), origin) if isinstance(c, m.Command) else c for c in parsed]

    def _prefetch(self, commands: list[m.Command], keys: list[str]) -> None:
        """Load what a batch will touch in a few queries instead of one per aggregate:
        referenced aggregates, idempotency keys, then customers' partners, then programs."""
        wanted: list[tuple[type[Aggregate], str]] = []
        for command in commands:
            wanted += [(cls, value) for name, cls in _references(type(command))
                       if (value := getattr(command, name)) is not None]
        self.vault.prepare(_sealed_subjects(commands))
        self._prefetch_contacts(commands)
        found = self.uow.prefetch(wanted)
        # Keys after aggregates: a key is committed with its command's events, so a
        # writer that already sees those events (a payment) also sees the key. Read the
        # other way round, another writer could commit in between and its payment would
        # look like a clash instead of a redelivery.
        self.uow.prefetch_receipts(keys)
        partner_ids = [a.partner_id for a in found if isinstance(a, Customer) and a.partner_id]
        found += self.uow.prefetch((Partner, partner_id) for partner_id in partner_ids)
        self.uow.prefetch((Program, a.program_id) for a in found if isinstance(a, Partner))

    def _prefetch_contacts(self, commands: list[m.Command]) -> None:
        """The contacts (customers and leads) of the addresses the batch will look up."""
        emails: set[str] = set()
        domains: set[str] = set()
        for command in commands:
            if isinstance(command, m.SubmitLead):
                emails.add(self.vault.fingerprint(command.email))
                if (domain := domain_hash(self.vault, command.email)) is not None:
                    domains.add(domain)
            elif isinstance(command, m.CreateResoldCustomer | m.SignUpCustomer) and command.email:
                emails.add(self.vault.fingerprint(command.email))
        self.read_models.prefetch_contacts(emails, domains)

    # -- one command ----------------------------------------------------------------------

    def _decide_one(self, command: m.Command, keys: list[str], origin: Origin) -> Result:
        """Idempotency first (a key used before answers with its first result), then
        the handler; the result is kept under the command's keys."""
        print_ = fingerprint(command, self.vault.keyed_hash) if keys else ""
        answered = self._answer_from_receipts(command, keys, print_)
        if answered is not None:
            return answered
        result, kept = self._handle(command, origin)
        if kept:
            for key in keys:
                self.uow.keep_receipt(key, (print_, result))
        return result

    def _answer_from_receipts(self, command: m.Command, keys: list[str], print_: str) -> Result | None:
        """The first result of a key already used by the same content; a ``conflict``
        if used by another; None if no key was used yet."""
        for key in keys:
            receipt = self.uow.receipt(key)
            if receipt is None:
                continue
            first_print, first_result = receipt
            if first_print != print_:
                field = re.split("[:@]", key, maxsplit=1)[0] + "_id"  # payment:ID, command@CALLER:ID
                used = f"{field} {getattr(command, field)!r} was already used for a different command"
                return error_result(reject("conflict", used, field), command.type)
            return first_result
        return None

    def _handle(self, command: m.Command, origin: Origin) -> tuple[Result, bool]:
        """The handler's result, and whether it is kept as the command's answer (an
        outcome that recorded something is; a plain refusal only for a command keyed
        by its origin, whose first outcome stands)."""
        ctx = Context(self.uow, self.vault, self.read_models, _meta(command, origin))
        recorded_before = self.uow.recorded
        try:
            return {"ok": True, "type": command.type, **_handler(command)(ctx, command)}, True
        except CommandRejected as refusal:
            if self.uow.recorded != recorded_before and not refusal.recorded:
                raise RuntimeError(f"{command.type} recorded events and then was refused") from refusal
            return error_result(refusal, command.type), refusal.recorded or command.keyed_by_origin


def _origin(source: Source, actor: str | None, caller: str | None) -> Origin:
    """The CLI's own keys are unscoped; every other entry point scopes them by default."""
    return Origin(source, actor or source, caller or (None if source == "cli" else source))


def _refused(parsed: m.Command | Result, refusal: CommandRejected) -> Result:
    """A parsed command's refusal (one refused when parsing keeps its own)."""
    return error_result(refusal, parsed.type) if isinstance(parsed, m.Command) else parsed


def _failure_message(failure: Exception) -> str:
    if isinstance(failure, WriteRefused):
        return f"{failure} (a bug, not a conflict: nothing of this command was recorded)"
    return "the ledger failed on this command; see its log"


def _handler(command: m.Command) -> Callable[[Context, Any], Result]:
    handler = HANDLERS.get(type(command))
    if handler is None:
        raise reject("not_supported", f"{command.type} has no handler", "type")
    return handler


def _parse(message: Message) -> m.Command | Result:
    try:
        return parse(message)
    except CommandRejected as refusal:
        return error_result(refusal, _type_of(message))


def _type_of(message: Message) -> str | None:
    """The type a refused message claims to be, if it says (JSON lines included)."""
    body: Any = message.body if isinstance(message, Sourced) else message
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
            return None
    claimed = body.get("type") if isinstance(body, dict) else None
    return claimed if isinstance(claimed, str) else None


def _meta(command: m.Command, origin: Origin) -> EventMeta:
    return EventMeta(
        effective_at=command.at or datetime.now(UTC),
        actor=command.actor or origin.actor,
        source=origin.source,
        correlation_id=command.command_id or str(uuid.uuid4()),
    )


# Command fields that name an aggregate the command will read.
_REFERENCES: dict[str, type[Aggregate]] = {
    "program_id": Program, "partner_id": Partner, "customer_id": Customer, "payment_id": Payment, "lead_id": Lead,
}


@cache
def _references(command_type: type[m.Command]) -> tuple[tuple[str, type[Aggregate]], ...]:
    """The fields of a command type that name an aggregate, with its class."""
    return tuple((name, cls) for name, cls in _REFERENCES.items() if name in command_type.model_fields)


def _sealed_subjects(commands: list[m.Command]) -> Iterator[str]:
    """Whose key the batch will seal personal data with."""
    for command in commands:
        if isinstance(command, m.SubmitApplication | m.SetPayoutDetails | m.ApproveApplication | m.RotatePartnerCode
                      | m.SubmitTaxForm | m.UpdateProfile):
            yield subject("partner", command.partner_id)
        elif isinstance(command, m.CreateResoldCustomer) or (
                isinstance(command, m.SignUpCustomer) and (command.email or command.company)):
            yield subject("customer", command.customer_id)
        elif isinstance(command, m.SubmitLead):
            yield subject("lead", command.lead_id)
