"""The set of live read models, in the order they must see each event."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from adapters.database import Database
from adapters.event_store import EventStore
from ledger.referral import Contacts
from projections.addresses_view import AddressesView
from projections.audit_view import AuditView
from projections.balances_view import BalancesView
from projections.customers_view import CustomersView
from projections.first_paid_view import FirstPaidView
from projections.leads_view import KnownContacts, LeadsView, contacts
from projections.line_details_view import LineDetailsView
from projections.lines_view import LinesView
from projections.listings_view import ListingsView
from projections.partners_view import PartnersView
from projections.program_terms_view import ProgramTermsView
from projections.runner import ProjectionRunner, View
from projections.statements_view import StatementsView

# Primary keys, for streaming comparisons of two copies of a view's tables.
TABLE_KEYS = {
    "partners": ("partner_id",),
    "customers": ("customer_id",),
    "lines": ("position", "seq"),
    "statements": ("statement_id",),
    "statement_releases": ("position",),
    "line_details": ("source_id", "source"),
    "audit": ("position",),
    "balances": ("partner_id", "currency", "bucket"),
    "partner_levels": ("position",),
    "holds": ("payment_id",),
    "program_terms": ("program_id", "position"),
    "leads": ("lead_id",),
    "contacts": ("customer_id",),
    "first_paid": ("customer_id",),
    "addresses": ("partner_id",),
}


def live_views() -> list[View]:
    # Order matters: the audit view reads the customers view's attribution.
    return [ProgramTermsView(), PartnersView(), CustomersView(), LinesView(), BalancesView(), StatementsView(), ListingsView(),
            LeadsView(), FirstPaidView(), AddressesView(), LineDetailsView(), AuditView()]


class LiveReadModels(ProjectionRunner):
    """The live read models (``proj_*`` tables): what the bus keeps current after every
    commit. (A month close reads none of them: it states from the books, folded from
    the log.)"""

    def __init__(self, db: Database, store: EventStore) -> None:
        super().__init__(db, store, live_views())
        self._in_batch = False
        self._current_in_batch = False
        self._known: KnownContacts | None = None  # a batch's contacts, read at once

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """While a batch of commands is decided: the read models are brought up to date
        once, at the batch's first reading, not at every one. (A batch decides on the
        log as it was when it began, its own events aside, either way: what another
        writer commits in between is a race whether read once or at every command.)"""
        self._in_batch, self._current_in_batch = True, False
        try:
            yield
        finally:
            self._in_batch = self._current_in_batch = False
            self._known = None

    def prefetch_contacts(self, email_hashes: set[str], domain_hashes: set[str]) -> None:
        """Read the contacts of a batch's addresses in a few queries (while ``deciding``)."""
        if self._in_batch and email_hashes:
            self._bring_up_to_date()
            self._known = KnownContacts(self.db, self.t, email_hashes, domain_hashes)

    def _bring_up_to_date(self) -> None:
        if not self._current_in_batch:
            self.catch_up()
            self._current_in_batch = self._in_batch

    def contacts(self, email_hash: str, domain_hash: str | None) -> Contacts:
        """Customers whose e-mail or domain matches, and leads for that e-mail: current
        (another process may have written since)."""
        if self._known is not None and self._known.knows(email_hash, domain_hash):
            return self._known.contacts(email_hash, domain_hash)
        self._bring_up_to_date()
        return contacts(self.db, self.t, email_hash, domain_hash)
