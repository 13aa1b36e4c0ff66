"""Partners by program and state: who a month close issues statements to."""

from __future__ import annotations

from typing import Any

from events.partner import ApplicationApproved, ApplicationRejected, ApplicationSubmitted, PartnerTerminated
from ledger.aggregate import Envelope
from projections.columns import ts
from projections.runner import Tables, View

_STATES = {ApplicationApproved: "approved", ApplicationRejected: "rejected", PartnerTerminated: "terminated"}


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
        ]

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        if isinstance(event, ApplicationSubmitted):
            cursor.execute(
                f"INSERT INTO {t.partners} VALUES (%s, %s, %s, %s, %s)",
                (event.partner_id, event.program_id, "applied", ts(envelope.effective_at), ts(envelope.recorded_at)),
            )
        elif isinstance(event, ApplicationApproved | ApplicationRejected | PartnerTerminated):
            cursor.execute(
                f"UPDATE {t.partners} SET state = %s WHERE partner_id = %s", (_STATES[type(event)], event.partner_id)
            )
