"""A process starting beside running writers runs no DDL once the schema is in place:
on PostgreSQL ``CREATE INDEX IF NOT EXISTS`` locks its table even when the index exists,
and such a start deadlocked with a writer. Dropped tables bring the DDL back."""

from __future__ import annotations

from entrypoints.bootstrap import bootstrap
from tests import builders as b


def _ddl_runs(ledger, monkeypatch) -> list[str]:
    """Which parts a fresh bootstrap on the same database changes."""
    from adapters.database import Database

    changed: list[str] = []
    original = Database.record_schema

    def spy(self, cursor, part, fingerprint):
        changed.append(part)
        original(self, cursor, part, fingerprint)

    monkeypatch.setattr(Database, "record_schema", spy)
    bootstrap(database_url=ledger.url).close()
    return changed


def test_a_second_start_runs_no_ddl_and_a_dropped_read_model_is_made_again(ledger, monkeypatch):
    ledger.ok(b.program(), *b.partner("p1"))
    assert _ddl_runs(ledger, monkeypatch) == []
    ledger.app.read_models.drop()
    assert _ddl_runs(ledger, monkeypatch) == ["read models proj_"]
    again = bootstrap(database_url=ledger.url)
    try:
        again.read_models.catch_up()
        assert again.queries.partner("p1")["state"] == "approved"
    finally:
        again.close()
