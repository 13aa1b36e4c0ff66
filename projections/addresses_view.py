"""Partners by the keyed hash of their contact address: how "e-mail me a sign-in link"
finds who typed an address without keeping any address in clear."""

from __future__ import annotations

from typing import Any

from events.partner import ApplicationSubmitted, PartnerForgotten, ProfileUpdated
from projections.record import Record
from projections.runner import Tables, View

_GIVEN = frozenset({ApplicationSubmitted.TOPIC, ProfileUpdated.TOPIC})


class AddressesView(View):
    TOPICS = frozenset(e.TOPIC for e in (ApplicationSubmitted, ProfileUpdated, PartnerForgotten))
    name = "addresses"
    TABLES = ("addresses",)

    def __init__(self) -> None:
        # Per batch, each partner's address as the batch leaves it (None: forgotten),
        # written at flush in one statement per kind, not one round trip per event.
        self._last: dict[str, str | None] = {}

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.addresses} (partner_id TEXT PRIMARY KEY, email_hash TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {t.addresses}_email ON {t.addresses} (email_hash)",
        ]

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p = record.payload
        if record.topic in _GIVEN:  # the address the partner gave last
            self._last[p["partner_id"]] = p["email_hash"]
        elif record.topic == PartnerForgotten.TOPIC:  # a forgotten partner cannot be reached
            self._last[p["partner_id"]] = None

    def discard(self) -> None:
        self._last = {}

    def flush(self, cursor: Any, t: Tables) -> None:
        given = [(partner_id, email_hash) for partner_id, email_hash in self._last.items() if email_hash is not None]
        forgotten = [(partner_id,) for partner_id, email_hash in self._last.items() if email_hash is None]
        cursor.execute_values(f"INSERT INTO {t.addresses} (partner_id, email_hash) VALUES ..."
                              " ON CONFLICT (partner_id) DO UPDATE SET email_hash = excluded.email_hash", given)
        cursor.execute_values(f"DELETE FROM {t.addresses} WHERE partner_id IN (SELECT * FROM (VALUES ...) AS v)", forgotten)
        self.discard()


def partners_at(db: Any, t: Tables, email_hash: str) -> list[str]:
    rows = db.fetch_all(f"SELECT partner_id FROM {t.addresses} WHERE email_hash = %s ORDER BY partner_id", (email_hash,))
    return [row[0] for row in rows]
