"""The composition root: one database, its event store, the ledger, its read side."""

from __future__ import annotations

from dataclasses import dataclass, field

from commands.dispatch import Dispatcher
from events.base import Source
from ledger.account import StatementDraft
from ledger.database import Database, database_url
from ledger.service import Ledger
from ledger.store import LedgerStore
from ledger.unit_of_work import UnitOfWork
from ledger.vault import Vault
from projections.catalog import live_views
from projections.queries import Queries
from projections.runner import ProjectionRunner
from projections.statement_drafts import statement_drafts


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
            self.dispatchers[key] = Dispatcher(
                self.ledger, source=source, default_actor=actor, statement_source=self.statement_drafts
            )
        return self.dispatchers[key]

    def statement_drafts(self, program_id: str, period: str) -> list[StatementDraft]:
        """Month close reads the journal, so it must be current: catch up first."""
        self.projections.catch_up()
        return statement_drafts(self.db, self.projections.t, program_id, period)

    def close(self) -> None:
        self.store.close()
        self.db.close()


def open_runtime(url: str | None = None) -> Runtime:
    db = Database.from_url(database_url(url))
    store = LedgerStore(db)
    vault = Vault(db)
    ledger = Ledger(UnitOfWork(store), vault)
    projections = ProjectionRunner(db, store, live_views())
    projections.setup()
    return Runtime(db, store, vault, ledger, projections, Queries(db, store, vault))
