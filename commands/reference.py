"""The command reference: every command type with what it does, its fields (type,
required, meaning) and an example, all read from the models in ``commands.models``.

The examples are one story, told in the order of the reference: a program is defined,
a partner applies and is approved, brings a customer who pays, a refund, a chargeback,
a cost and an adjustment follow, the month is closed and the partner is paid, and so
on. Applied in order to an empty ledger, every one of them succeeds (a test does it on
SQLite and PostgreSQL); ``STORY`` holds the few extra steps a later example needs (a
second applicant to reject, a self-referred customer to review, a resold customer).

``ledger commands [TYPE]`` prints it; ``docs/commands.md`` is generated from it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from commands import models as m

# Fields every command may carry; documented once, not per command.
COMMON_FIELDS = ("type", "at", "actor", "command_id")


def _command_models() -> dict[str, type[m.Command]]:
    union = get_args(m.AnyCommand)[0]
    return {get_args(model.model_fields["type"].annotation)[0]: model for model in get_args(union)}


COMMAND_MODELS: dict[str, type[m.Command]] = _command_models()

_PROFILE = {
    "company": "Northwind Consulting GmbH", "contact_email": "owner@northwind.example",
    "website": "https://northwind.example", "city": "Berlin", "country": "DE", "business_type": "agency",
    "team_size": 12, "client_count": 40, "focus_market": "SMB retail", "expected_pipeline": "20 tenants in the first year",
}
_TERMS: dict[str, Any] = {
    "currency": "USD",
    "levels": {
        "Standard": {"rate": "0.20", "discount": "0.20", "period_months": None},
        "Gold": {"rate": "0.25", "discount": "0.30", "period_months": None},
    },
    "default_level": "Standard",
    "commissionable_revenue": ["platform_fee", "message_overage"],
    "promo": {"rate": "0.50", "slots": 3},
    "status": {"target_per_year": 10, "window_months": 24, "lock_threshold": 50, "lock_years": 5},
    "payout": {"minimum": "50.00", "hold_days": 0, "requires_tax_form": True, "requires_training": False},
    "training_required_for_leads": False,
}
_STATEMENT = "acme/northwind/USD/2025-02"

STORY: list[dict[str, Any]] = [
    {"type": "define_program", "program_id": "acme", "terms": _TERMS, "at": "2025-01-01T00:00:00Z"},
    {"type": "change_program_terms", "program_id": "acme", "at": "2025-01-15T00:00:00Z",
     "terms_patch": {"payout": {"minimum": "25.00"}}},
    {"type": "submit_application", "partner_id": "northwind", "program_id": "acme", "profile": _PROFILE,
     "at": "2025-01-20T09:00:00Z"},
    {"type": "approve_application", "partner_id": "northwind", "level": "Standard", "at": "2025-01-21T10:00:00Z",
     "actor": "maria@acme.example"},
    {"type": "submit_application", "partner_id": "bluebird", "program_id": "acme", "at": "2025-01-22T09:00:00Z",
     "profile": {"company": "Bluebird Media", "contact_email": "hello@bluebird.example", "city": "Lyon", "country": "FR",
                 "business_type": "marketing agency", "team_size": 2, "client_count": 3}},
    {"type": "reject_application", "partner_id": "bluebird", "reason": "no clients in our market yet",
     "at": "2025-01-23T10:00:00Z", "actor": "maria@acme.example"},
    # The partner hands in its paperwork itself (an admin may too).
    {"type": "submit_tax_form", "partner_id": "northwind", "form": "W-8BEN-E", "legal_name": "Northwind Consulting GmbH",
     "country": "DE", "tax_id": "DE123456789", "at": "2025-01-24T00:00:00Z", "actor": "partner:northwind"},
    {"type": "set_payout_details", "partner_id": "northwind", "method": "iban", "account": "DE89 3704 0044 0532 0130 00",
     "bic": "COBADEFFXXX", "at": "2025-01-24T00:00:00Z", "actor": "partner:northwind"},
    {"type": "update_profile", "partner_id": "northwind", "contact_email": "partners@northwind.example",
     "website": "https://northwind.example/partners", "at": "2025-01-25T00:00:00Z", "actor": "partner:northwind"},
    {"type": "complete_training", "partner_id": "northwind", "at": "2025-01-27T00:00:00Z"},
    {"type": "record_meeting", "partner_id": "northwind", "at": "2025-01-28T00:00:00Z"},
    # The partner's code leaked onto a public forum: it gets a new one.
    {"type": "rotate_partner_code", "partner_id": "northwind", "at": "2025-01-29T00:00:00Z", "actor": "partner:northwind"},
    # The partner reads its statements on the dashboard and wants no notice e-mails.
    {"type": "set_notices", "partner_id": "northwind", "notices": False, "at": "2025-01-29T00:00:00Z",
     "actor": "partner:northwind"},
    {"type": "submit_lead", "lead_id": "lead-17", "partner_id": "northwind", "company": "Hooli",
     "email": "cto@hooli.example", "note": "met at the trade fair, wants a demo in March", "at": "2025-01-30T00:00:00Z",
     "actor": "partner:northwind"},
    {"type": "sign_up_customer", "customer_id": "globex", "email": "ap@globex.example", "company": "Globex Corp",
     "at": "2025-02-03T00:00:00Z"},
    {"type": "claim_customer", "customer_id": "globex", "partner_id": "northwind", "channel": "link",
     "at": "2025-02-03T00:00:00Z"},
    {"type": "record_payment", "payment_id": "in_1001", "customer_id": "globex", "currency": "USD",
     "lines": [{"kind": "platform_fee", "amount": "400.00"}, {"kind": "message_overage", "amount": "50.00"}],
     "tax": "85.50", "at": "2025-02-05T00:00:00Z"},
    {"type": "record_refund", "refund_id": "re_2001", "payment_id": "in_1001", "amount": "53.55", "at": "2025-02-10T00:00:00Z"},
    {"type": "record_chargeback", "chargeback_id": "cb_3001", "payment_id": "in_1001", "amount": "21.42",
     "at": "2025-02-12T00:00:00Z"},
    {"type": "record_cost", "cost_id": "cost-17", "customer_id": "globex", "amount": "100.00", "currency": "USD",
     "kind": "marketing", "at": "2025-02-14T00:00:00Z"},
    {"type": "adjust_commission", "adjustment_id": "adj-5", "partner_id": "northwind", "amount": "15.00", "currency": "USD",
     "reason": "shared trade-fair booth, agreed with finance", "at": "2025-02-20T00:00:00Z", "actor": "finance@acme.example"},
    # The partner's own staff signs up through its link: the payment is held for review.
    {"type": "sign_up_customer", "customer_id": "northwind-it", "email": "it@northwind.example", "at": "2025-02-21T00:00:00Z"},
    {"type": "claim_customer", "customer_id": "northwind-it", "partner_id": "northwind", "channel": "code",
     "at": "2025-02-21T00:00:00Z"},
    {"type": "record_payment", "payment_id": "in_1002", "customer_id": "northwind-it", "currency": "USD",
     "lines": [{"kind": "platform_fee", "amount": "100.00"}], "at": "2025-02-22T00:00:00Z"},
    {"type": "review_commission", "payment_id": "in_1002", "decision": "release",
     "reason": "separate legal entity, checked the contract", "at": "2025-02-25T00:00:00Z", "actor": "finance@acme.example"},
    {"type": "close_period", "program_id": "acme", "period": "2025-02", "at": "2025-03-01T02:00:00Z",
     "command_id": "close-acme-2025-02"},
    {"type": "request_payout", "partner_id": "northwind", "currency": "USD", "amount": "200.00", "at": "2025-03-02T08:00:00Z",
     "actor": "partner:northwind"},
    {"type": "issue_sign_in_link", "partner_id": "northwind", "invite_id": "a1b2c3d4e5f6",
     "expires_at": "2025-03-08T00:00:00Z", "at": "2025-03-05T00:00:00Z", "actor": "admin@acme.example"},
    {"type": "reveal_payout_account", "partner_id": "northwind", "shown_in": "SEPA file", "at": "2025-03-05T00:00:00Z",
     "actor": "finance@acme.example"},
    {"type": "record_payout", "payout_id": "po-9001", "partner_id": "northwind", "amount": "200.00", "currency": "USD",
     "statement_ids": [_STATEMENT], "at": "2025-03-05T00:00:00Z"},
    # A customer the partner resells to.
    {"type": "sign_up_customer", "customer_id": "initech", "company": "Initech", "at": "2025-03-06T00:00:00Z"},
    {"type": "claim_customer", "customer_id": "initech", "partner_id": "northwind", "channel": "resell",
     "at": "2025-03-06T00:00:00Z"},
    {"type": "set_do_not_contact", "customer_id": "initech", "value": True, "at": "2025-03-07T00:00:00Z"},
    {"type": "create_resold_customer", "partner_id": "northwind", "customer_id": "umbrella", "company": "Umbrella Ltd",
     "email": "it@umbrella.example", "do_not_contact": True, "at": "2025-03-08T00:00:00Z", "actor": "partner:northwind"},
    {"type": "change_level", "partner_id": "northwind", "level": "Gold", "at": "2025-04-01T00:00:00Z"},
    {"type": "set_commission_rate", "partner_id": "northwind", "rate": "0.30", "at": "2025-04-01T00:00:00Z"},
    {"type": "set_active_until", "partner_id": "northwind", "until": "2026-12-31", "at": "2025-04-01T00:00:00Z"},
    {"type": "close_promo", "program_id": "acme", "at": "2025-04-30T00:00:00Z"},
    {"type": "forget_customer", "customer_id": "initech", "reason": "erasure request (GDPR art. 17)", "at": "2025-06-01T00:00:00Z"},
    {"type": "terminate_partner", "partner_id": "northwind", "reason": "contract ended by mutual agreement",
     "at": "2025-12-31T23:59:59Z"},
    {"type": "forget_partner", "partner_id": "bluebird", "reason": "erasure request (GDPR art. 17)", "at": "2026-01-15T00:00:00Z"},
]

# Every code a refusal can carry, and what it means to the sender.
REFUSAL_CODES: dict[str, str] = {
    "invalid_json": "the line is not a JSON object",
    "unknown_type": "`type` is not one of the commands below",
    "invalid": "a field is missing, malformed or out of range (or an amount exceeds what is left); `errors` lists every one",
    "not_found": "the program, partner, customer, payment or statement named does not exist",
    "invalid_state": "the command does not fit where the thing stands (e.g. approving a partner twice, closing the promo twice)",
    "out_of_order": "months close in order: the message names the first open month",
    "too_early": "the month has not ended yet",
    "conflict": "the id is already taken, or the idempotency key was used for a different command",
    "forgotten": "personal data was sent for a partner or customer whose data was erased",
    "nothing_due": "a payout or payout request for a currency in which nothing is due now",
    "below_minimum": "the latest statement held the balance back: it is below the program's minimum payout",
    "tax_form_missing": "the latest statement held the balance back: the partner has no tax form on file",
    "training_missing": "the latest statement held the balance back: the partner has not completed the training",
    "claim_rejected": "the attribution claim does not qualify on its date; the refusal itself is recorded for the audit trail",
    "unknown_referral": "no partner has the referral code or link given",
    "code_rotated": "the partner code was replaced by a newer one (customers it already brought stay attributed)",
    "lead_refused": "the lead does not qualify (another partner's lead, a current customer, purchased before, training"
                    " required first); the lead is recorded as refused with the reason, for the partner to see",
    "not_supported": "the command type has no handler in this version",
    "internal": "the ledger failed on this command (a bug: the rest of the batch still applied)",
    "busy": "other writers kept changing what the command needed, attempt after attempt; nothing was recorded: send it again",
}


@dataclass(frozen=True)
class FieldDoc:
    name: str  # dotted path for nested fields: `profile.company`, `lines[].amount`, `terms.levels.<name>.rate`
    type: str
    required: bool
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required, "description": self.description}


@dataclass(frozen=True)
class CommandDoc:
    model: type[m.Command]
    type: str
    summary: str
    fields: list[FieldDoc]
    example: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "summary": self.summary, "fields": [f.as_dict() for f in self.fields],
                "example": self.example}


class UnknownCommand(LookupError):
    def __init__(self, command_type: str) -> None:
        super().__init__(f"no command {command_type!r}; `ledger commands` lists them: {', '.join(COMMAND_MODELS)}")


def summary(model: type[BaseModel]) -> str:
    """The first line of the model's own docstring ('' when it has none)."""
    doc = model.__dict__.get("__doc__") or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def example(command_type: str) -> dict[str, Any] | None:
    """The story's first command of that type."""
    return next((step for step in STORY if step["type"] == command_type), None)


def catalogue() -> list[CommandDoc]:
    """Every command, in the story's order (types the story lacks come last)."""
    order = list(dict.fromkeys(step["type"] for step in STORY if step["type"] in COMMAND_MODELS))
    order += [command_type for command_type in COMMAND_MODELS if command_type not in order]
    return [describe(command_type) for command_type in order]


def describe(command_type: str) -> CommandDoc:
    model = COMMAND_MODELS.get(command_type)
    if model is None:
        raise UnknownCommand(command_type)
    fields = [row for name, info in model.model_fields.items() if name not in COMMON_FIELDS for row in field_docs(name, info)]
    return CommandDoc(model, command_type, summary(model), fields, example(command_type))


def common_fields() -> list[FieldDoc]:
    return [FieldDoc(name, type_name(info.annotation), False, info.description or "")
            for name, info in m.Command.model_fields.items() if name != "type"]


def field_docs(name: str, info: FieldInfo) -> list[FieldDoc]:
    """The field, then the fields of the object(s) it holds, as dotted paths."""
    rows = [FieldDoc(name, type_name(info.annotation), info.is_required(), info.description or "")]
    nested = _nested(info.annotation)
    if nested is not None:
        model, suffix = nested
        for child, child_info in model.model_fields.items():
            rows += field_docs(f"{name}{suffix}.{child}", child_info)
    return rows


def _nested(annotation: Any) -> tuple[type[BaseModel], str] | None:
    """The object model a field holds (directly, in a list or as a map's values)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if origin is typing.Annotated:
        return _nested(args[0])
    if origin in (typing.Union, types.UnionType):
        found = [n for n in (_nested(arg) for arg in args) if n is not None]
        return found[0] if len(found) == 1 else None
    if origin is list and args:
        inner = _nested(args[0])
        return (inner[0], "[]" + inner[1]) if inner else None
    if origin is dict and len(args) == 2:
        inner = _nested(args[1])
        return (inner[0], ".<name>" + inner[1]) if inner else None
    return None


_SCALARS: dict[Any, str] = {
    str: "string", bool: "boolean", int: "integer", Decimal: "decimal string", datetime: "date-time",
    date: "date", type(None): "null",
}


def type_name(annotation: Any) -> str:
    """How the field is written in JSON, in words: `decimal string`, `list of object`, ..."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return "one of " + ", ".join(f"`{arg}`" for arg in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(type_name(arg) for arg in args))
    if origin is list:
        return f"list of {type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of name to {type_name(args[1])}" if len(args) == 2 else "object"
    return getattr(annotation, "__name__", str(annotation))
