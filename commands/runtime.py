"""The composition root: one database, its event store, the ledger, its read side."""

from __future__ import annotations

from dataclasses import dataclass, field

from commands.dispatch import Dispatcher
from events.base import Source
from ledger.database import Database, database_url
from ledger.service import Ledger
from ledger.store import LedgerStore
from ledger.unit_of_work import UnitOfWork
from ledger.vault import Vault
from projections.audit_view import AuditView
from projections.customers_view import CustomersView
from projections.lines_view import LinesView
from projections.queries import Queries
from projections.runner import ProjectionRunner, View


def live_views() -> list[View]:
    # Order matters: the audit view reads the customers view's attribution.
    return [CustomersView(), LinesView(), AuditView()]


@dataclass
class Runtime:
    db: Database
    store: LedgerStore
    vault: Vault
    ledger: Ledger
    projections: ProjectionRunner
    queries: Queries
    dispatchers: dict[str, Dispatcher] = field(default_factory=dict)

    def dispatcher(self, source: Source = "cli", actor: str = "cli") -> Dispatcher:
        key = f"{source}:{actor}"
        if key not in self.dispatchers:
            self.dispatchers[key] = Dispatcher(self.ledger, source=source, default_actor=actor)
        return self.dispatchers[key]

    def close(self) -> None:
        self.store.close()


def open_runtime(url: str | None = None) -> Runtime:
    db = Database.from_url(database_url(url))
    store = LedgerStore(db)
    vault = Vault(db)
    ledger = Ledger(UnitOfWork(store), vault)
    projections = ProjectionRunner(db, store, live_views())
    projections.setup()
    return Runtime(db, store, vault, ledger, projections, Queries(db, store, vault))
