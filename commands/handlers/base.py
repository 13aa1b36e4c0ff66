"""What every handler gets: the unit of work, the vault, the read side and the
command's metadata, with loaders that refuse clearly when something does not exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from commands import models as m
from commands.ports import ReadModels, Vault
from commands.unit_of_work import UnitOfWork
from events.base import Event, EventMeta
from ledger import policy
from ledger.aggregate import Aggregate, Envelope
from ledger.customer import Customer
from ledger.errors import reject
from ledger.partner import Partner
from ledger.payment import Payment
from ledger.program import Program

Result = dict[str, Any]
A = TypeVar("A", bound=Aggregate)
C = TypeVar("C", bound=m.Command)


@dataclass
class Context:
    uow: UnitOfWork
    vault: Vault
    read_models: ReadModels
    meta: EventMeta

    def record(self, aggregate: Aggregate, event: Event) -> Envelope:
        return self.uow.record(aggregate, event, self.meta)

    def existing(self, cls: type[A], key: str) -> A:
        """The aggregate, or a ``not_found`` refusal naming the ``<kind>_id`` field."""
        found = self.uow.get(cls, key)
        if found is None:
            raise reject("not_found", f"{cls.KIND} {key!r} does not exist", f"{cls.KIND}_id")
        return found

    def program(self, program_id: str) -> Program:
        return self.existing(Program, program_id)

    def partner(self, partner_id: str) -> Partner:
        return self.existing(Partner, partner_id)

    def approved_partner(self, partner_id: str) -> Partner:
        partner = self.partner(partner_id)
        if not partner.is_approved:
            raise reject("invalid_state", f"partner {partner_id!r} is {partner.state}, not approved", "partner_id")
        return partner

    def accepting_program(self, partner: Partner, currency: str, on: datetime) -> Program:
        """The partner's program, if its terms on that date accept ``currency``."""
        program = self.program(partner.program_id)
        terms = program.terms_on(on)
        if not terms.accepts(currency):
            accepted = ", ".join([terms.currency, *terms.currencies])
            raise reject(
                "invalid", f"program {program.program_id!r} does not accept {currency} (it accepts {accepted}:"
                " add it to the terms' currencies)", "currency",
            )
        return program

    def customer(self, customer_id: str) -> Customer:
        return self.existing(Customer, customer_id)

    def payment(self, payment_id: str) -> Payment:
        return self.existing(Payment, payment_id)

    def sealed(self, owner: str, value: str | None) -> str | None:
        """Personal data sealed under its owner's key (``ledger.privacy.subject``)."""
        return None if value is None else self.vault.seal(owner, value)

    def domain_hash(self, email: str) -> str | None:
        return domain_hash(self.vault, email)


def domain_hash(vault: Vault, email: str) -> str | None:
    """A keyed hash of the address's domain, unless it is a shared mailbox provider."""
    domain = email.rpartition("@")[2].strip().lower()
    return None if not domain or domain in policy.FREE_MAIL_DOMAINS else vault.fingerprint(domain)


Handler = Callable[[Context, Any], Result]
HANDLERS: dict[type[m.Command], Handler] = {}


def handles(command: type[C]) -> Callable[[Callable[[Context, C], Result]], Callable[[Context, C], Result]]:
    """Register the handler of one command type."""

    def register(handler: Callable[[Context, C], Result]) -> Callable[[Context, C], Result]:
        if command in HANDLERS:
            raise TypeError(f"{command.__name__} has two handlers")
        HANDLERS[command] = handler
        return handler

    return register
