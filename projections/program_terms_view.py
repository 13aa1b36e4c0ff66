"""Program terms as they change over time: what ``ledger status`` reads instead of
rebuilding the program from its events."""

from __future__ import annotations

from typing import Any

from events.base import event_class_for_topic
from events.program import ProgramDefined, ProgramTermsChanged
from projections.record import Record
from projections.runner import Tables, View


class ProgramTermsView(View):
    TOPICS = frozenset({ProgramDefined.TOPIC, ProgramTermsChanged.TOPIC})
    name = "program_terms"
    TABLES = ("program_terms",)

    def __init__(self) -> None:
        self._rows: list[tuple[Any, ...]] = []

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.program_terms} ("
            " program_id TEXT NOT NULL, position BIGINT NOT NULL, effective_at TEXT NOT NULL,"
            " recorded_at TEXT NOT NULL, terms TEXT NOT NULL, PRIMARY KEY (program_id, position))",
        ]

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        # Rare: the terms are written as their catalogue model writes them.
        event: Any = event_class_for_topic(record.topic).model_validate_json(record.payload_json)
        self._rows.append((event.program_id, position, record.effective_at, record.recorded_at, event.terms.model_dump_json()))

    def discard(self) -> None:
        self._rows = []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.program_terms, self._rows)
        self._rows = []
