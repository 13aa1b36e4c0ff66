"""Dispatch: parse, validate, deduplicate, run against the ledger, commit in batches."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog
from eventsourcing.persistence import IntegrityError
from pydantic import TypeAdapter, ValidationError

from commands import models as m
from events.base import EventMeta, Source
from events.receipt import CommandAccepted
from events.revenue import RevenueLine
from ledger.account import StatementDraft
from ledger.aggregate import Aggregate
from ledger.customer import Customer
from ledger.entries import Receipt
from ledger.errors import CommandRejected, reject
from ledger.partner import Partner
from ledger.payment import Payment
from ledger.presets import preset_terms
from ledger.program import Program
from ledger.service import Ledger, Result
from ledger.vault import subject

log = structlog.get_logger(__name__)

_PARSER: TypeAdapter[Any] = TypeAdapter(m.AnyCommand)
BATCH_SIZE = 500
MAX_ATTEMPTS = 5


def error_result(error: CommandRejected, command_type: str | None = None) -> Result:
    result: Result = {"ok": False, "error": error.as_dict()}
    if command_type:
        result["type"] = command_type
    return result


def parse(raw: str | bytes | dict[str, Any]) -> m.Command:
    """A command from JSON text or a decoded object; refusals name the field."""
    if not isinstance(raw, dict):
        try:
            raw = json.loads(raw, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError) as exc:
            raise reject("invalid_json", f"not a JSON object: {exc}") from None
    if not isinstance(raw, dict):
        raise reject("invalid_json", "a command must be a JSON object")
    if "type" not in raw:
        raise reject("invalid", "every command needs a type", "type")
    try:
        command: m.Command = _PARSER.validate_python(raw)
    except ValidationError as exc:
        raise _validation_refusal(exc, str(raw["type"])) from None
    return command


def _validation_refusal(exc: ValidationError, command_type: str) -> CommandRejected:
    first = exc.errors()[0]
    # The discriminator puts the command type first in the path: drop it.
    path = [str(p) for p in first["loc"]]
    if path and path[0] == command_type:
        path = path[1:]
    field = ".".join(path) or None
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, m.FieldError):
        field = ".".join([*path, cause.field]) if path else cause.field
    message = first["msg"].removeprefix("Value error, ")
    if field and not message.startswith(field):
        message = f"{field}: {message}"
    code = "unknown_type" if first["type"] == "union_tag_invalid" else "invalid"
    return CommandRejected(code, message, field or ("type" if code == "unknown_type" else None))


def fingerprint(command: m.Command, key: Callable[[str], str]) -> str:
    """Identifies a command's content for idempotency. Keyed (``key`` is the vault's
    HMAC), so a stored fingerprint cannot be used to confirm a guessed e-mail or account."""
    return key(json.dumps(command.content(), sort_keys=True, separators=(",", ":")))


@dataclass
class Dispatcher:
    """Runs commands from one interface (``source``) against a ledger."""

    ledger: Ledger
    source: Source = "cli"
    default_actor: str = "cli"
    # Month close states what the read side has journaled: the runtime supplies it.
    statement_source: Callable[[str, str], list[StatementDraft]] | None = None

    def handle(self, raw: str | bytes | dict[str, Any]) -> Result:
        """One command, left pending in the unit of work (call ``commit``)."""
        command = self._parse(raw)
        return self._run(command) if isinstance(command, m.Command) else command

    @staticmethod
    def _parse(raw: str | bytes | dict[str, Any]) -> m.Command | Result:
        try:
            return parse(raw)
        except CommandRejected as refusal:
            return error_result(refusal, raw.get("type") if isinstance(raw, dict) else None)

    def _prefetch(self, commands: list[m.Command]) -> None:
        """Load what a batch will touch in a few queries instead of one per aggregate:
        receipts and referenced aggregates, then customers' partners, then programs."""
        uow = self.ledger.uow
        wanted: list[tuple[type[Aggregate], str]] = []
        for command in commands:
            wanted += [(Receipt, key) for key in command.idempotency_keys()]
            wanted += [(cls, getattr(command, name)) for name, cls in _REFERENCES.items() if hasattr(command, name)]
        self.ledger.vault.prepare(_sealed_subjects(commands))
        found = uow.prefetch(wanted)
        partner_ids = [a.partner_id for a in found if isinstance(a, Customer) and a.partner_id]
        found += uow.prefetch((Partner, partner_id) for partner_id in partner_ids)
        uow.prefetch((Program, a.program_id) for a in found if isinstance(a, Partner))

    def _run(self, command: m.Command) -> Result:
        uow = self.ledger.uow
        keys = command.idempotency_keys()
        print_ = fingerprint(command, self.ledger.vault.keyed_hash) if keys else ""
        for key in keys:
            receipt = uow.get(Receipt, key)
            if receipt is None:
                continue
            if receipt.fingerprint != print_:
                field = key.split(":")[0] + "_id"
                conflict = reject("conflict", f"{key} was already used for a different command", field)
                return error_result(conflict, command.type)
            return receipt.result
        meta = self._meta(command)
        recorded_before = uow.recorded
        try:
            result: Result = {"ok": True, "type": command.type, **self._execute(command, meta)}
        except CommandRejected as refusal:
            if uow.recorded != recorded_before and not refusal.recorded:
                raise RuntimeError(f"{command.type} recorded events and then was refused") from refusal
            result = error_result(refusal, command.type)
            if not refusal.recorded:
                return result
        for key in keys:
            uow.record(uow.new(Receipt, key), CommandAccepted(key=key, fingerprint=print_, result=result), meta)
        return result

    def _meta(self, command: m.Command) -> EventMeta:
        return EventMeta(
            effective_at=command.at or datetime.now(UTC),
            actor=command.actor or self.default_actor,
            source=self.source,
            correlation_id=command.command_id or str(uuid.uuid4()),
        )

    def _execute(self, command: m.Command, meta: EventMeta) -> Result:
        if isinstance(command, m.ClosePeriod):
            if self.statement_source is None:
                raise reject("not_supported", "this interface cannot close periods", "type")
            drafts = self.statement_source(command.program_id, command.period)
            return self.ledger.close_period(meta, command.program_id, command.period, drafts)
        handler = _HANDLERS.get(type(command))
        if handler is None:
            raise reject("not_supported", f"{command.type} is not supported by this interface", "type")
        return handler(self.ledger, meta, command)

    def commit(self) -> int:
        return self.ledger.uow.commit()

    def apply(self, raw: str | bytes | dict[str, Any]) -> Result:
        """One command in its own transaction."""
        return next(self.apply_many([raw]))

    def apply_many(self, commands: Iterable[str | bytes | dict[str, Any]], batch_size: int = BATCH_SIZE) -> Iterator[Result]:
        """Commands in order, committed ``batch_size`` at a time; results in order.

        A version conflict with another writer replays the batch on fresh state. An
        unexpected failure replays it one command per transaction, so only the
        culprit fails."""
        batch: list[str | bytes | dict[str, Any]] = []
        for raw in commands:
            if _is_barrier(raw) and batch:
                yield from self._apply_batch(batch)  # a month close sees everything before it
                batch = []
            batch.append(raw)
            if len(batch) >= batch_size or _is_barrier(raw):
                yield from self._apply_batch(batch)
                batch = []
        if batch:
            yield from self._apply_batch(batch)

    def _apply_batch(self, batch: list[str | bytes | dict[str, Any]]) -> list[Result]:
        uow = self.ledger.uow
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                parsed = [self._parse(raw) for raw in batch]
                self._prefetch([c for c in parsed if isinstance(c, m.Command)])
                results = [self._run(c) if isinstance(c, m.Command) else c for c in parsed]
                self.commit()
                return results
            except IntegrityError:
                uow.discard()
                log.info("batch_conflict_retry", attempt=attempt, size=len(batch))
            except Exception:
                uow.discard()
                if len(batch) == 1:
                    raise
                log.warning("batch_failed_retrying_singly", size=len(batch))
                return [self._apply_alone(raw) for raw in batch]
        raise RuntimeError(f"gave up after {MAX_ATTEMPTS} conflicting attempts")

    def _apply_alone(self, raw: str | bytes | dict[str, Any]) -> Result:
        try:
            return self._apply_batch([raw])[0]
        except Exception as exc:  # reported, never swallowed silently
            log.exception("command_failed")
            return error_result(reject("internal", f"the ledger failed on this command: {type(exc).__name__}"))


def _lines(command: m.RecordPayment) -> list[RevenueLine]:
    return [RevenueLine(kind=line.kind, amount=line.amount) for line in command.lines]


# Command fields that name an aggregate the command will read.
_REFERENCES: dict[str, type[Aggregate]] = {
    "program_id": Program, "partner_id": Partner, "customer_id": Customer, "payment_id": Payment,
}


def _sealed_subjects(commands: list[m.Command]) -> Iterator[str]:
    """Whose key the batch will seal personal data with."""
    for command in commands:
        if isinstance(command, m.SubmitApplication | m.SetPayoutDetails):
            yield subject("partner", command.partner_id)
        elif isinstance(command, m.SignUpCustomer) and command.email:
            yield subject("customer", command.customer_id)


_CLOSE_PERIOD = re.compile(r'"type"\s*:\s*"close_period"')


def _is_barrier(raw: str | bytes | dict[str, Any]) -> bool:
    """Commands that read the journal (a month close) run alone, after a commit."""
    if isinstance(raw, dict):
        return raw.get("type") == "close_period"
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return _CLOSE_PERIOD.search(text) is not None


Handler = Callable[[Ledger, EventMeta, Any], Result]

_HANDLERS: dict[type[m.Command], Handler] = {
    m.DefineProgram: lambda l, meta, c: l.define_program(meta, c.program_id, c.terms or preset_terms(c.preset), c.preset),
    m.ChangeProgramTerms: lambda l, meta, c: l.change_program_terms(meta, c.program_id, c.terms),
    m.ClosePromo: lambda l, meta, c: l.close_promo(meta, c.program_id),
    m.SubmitApplication: lambda l, meta, c: l.submit_application(meta, c.partner_id, c.program_id, c.profile.model_dump()),
    m.ApproveApplication: lambda l, meta, c: l.approve_application(meta, c.partner_id, c.level, c.rate),
    m.RejectApplication: lambda l, meta, c: l.reject_application(meta, c.partner_id, c.reason),
    m.ChangeLevel: lambda l, meta, c: l.change_level(meta, c.partner_id, c.level),
    m.SetCommissionRate: lambda l, meta, c: l.set_commission_rate(meta, c.partner_id, c.rate),
    m.SubmitTaxForm: lambda l, meta, c: l.submit_tax_form(meta, c.partner_id, c.form),
    m.SetPayoutDetails: lambda l, meta, c: l.set_payout_details(meta, c.partner_id, c.method, c.account),
    m.CompleteTraining: lambda l, meta, c: l.complete_training(meta, c.partner_id),
    m.RecordMeeting: lambda l, meta, c: l.record_meeting(meta, c.partner_id),
    m.SetActiveUntil: lambda l, meta, c: l.set_active_until(meta, c.partner_id, c.until),
    m.TerminatePartner: lambda l, meta, c: l.terminate_partner(meta, c.partner_id, c.reason),
    m.ForgetPartner: lambda l, meta, c: l.forget_partner(meta, c.partner_id, c.reason),
    m.SignUpCustomer: lambda l, meta, c: l.sign_up_customer(meta, c.customer_id, c.email, c.company),
    m.ClaimCustomer: lambda l, meta, c: l.claim_customer(meta, c.customer_id, c.partner_id, c.channel),
    m.SetDoNotContact: lambda l, meta, c: l.set_do_not_contact(meta, c.customer_id, c.value),
    m.ForgetCustomer: lambda l, meta, c: l.forget_customer(meta, c.customer_id, c.reason),
    m.RecordPayment: lambda l, meta, c: l.record_payment(meta, c.payment_id, c.customer_id, c.currency, _lines(c), c.tax),
    m.RecordRefund: lambda l, meta, c: l.reverse_payment(meta, c.refund_id, c.payment_id, c.amount, "refund"),
    m.RecordChargeback: lambda l, meta, c: l.reverse_payment(meta, c.chargeback_id, c.payment_id, c.amount, "chargeback"),
    m.RecordCost: lambda l, meta, c: l.record_cost(meta, c.cost_id, c.customer_id, c.amount, c.currency, c.kind),
    m.AdjustCommission: lambda l, meta, c: l.adjust_commission(meta, c.adjustment_id, c.partner_id, c.amount, c.currency, c.reason),
    m.ReviewCommission: lambda l, meta, c: l.review_commission(meta, c.payment_id, c.decision, c.reason),
    m.RecordPayout: lambda l, meta, c: l.record_payout(meta, c.payout_id, c.partner_id, c.amount, c.currency, c.statement_ids),
}
