"""Partners by program and state: who a month close issues statements to."""

from __future__ import annotations

from typing import Any

from events.partner import ApplicationApproved, ApplicationRejected, ApplicationSubmitted, PartnerTerminated
from projections.record import Record
from projections.runner import Tables, View

_STATES = {ApplicationApproved.TOPIC: "approved", ApplicationRejected.TOPIC: "rejected", PartnerTerminated.TOPIC: "terminated"}


class PartnersView(View):
    TOPICS = frozenset(e.TOPIC for e in (ApplicationSubmitted, ApplicationApproved, ApplicationRejected, PartnerTerminated))
    name = "partners"
    TABLES = ("partners",)

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.partners} ("
            " partner_id TEXT PRIMARY KEY, program_id TEXT NOT NULL, state TEXT NOT NULL, applied_at TEXT NOT NULL,"
            " applied_known TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t.partners}_program ON {t.partners} (program_id, state)",
            # The applications list: oldest first, a page at a time.
            f"CREATE INDEX IF NOT EXISTS {t.partners}_applied ON {t.partners} (applied_at, partner_id)",
        ]

    def __init__(self) -> None:
        self._new: dict[str, list[Any]] = {}  # per batch: partners who applied, as rows
        self._states: dict[str, str] = {}  # per batch: new states of partners from earlier batches

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p = record.payload
        if record.topic == ApplicationSubmitted.TOPIC:
            self._new[p["partner_id"]] = [p["partner_id"], p["program_id"], "applied", record.effective_at, record.recorded_at]
        elif (state := _STATES.get(record.topic)) is not None:
            if p["partner_id"] in self._new:
                self._new[p["partner_id"]][2] = state
            else:
                self._states[p["partner_id"]] = state

    def discard(self) -> None:
        self._new, self._states = {}, {}

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.partners, list(self._new.values()))
        if self._states:
            cursor.executemany(
                f"UPDATE {t.partners} SET state = %s WHERE partner_id = %s",
                [(state, partner_id) for partner_id, state in self._states.items()],
            )
        self.discard()
