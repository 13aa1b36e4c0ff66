"""The Kafka relay's own read model: how far each sink has published, and the
customer -> partner attributions seen in the log (with the claim's position), so an
event that names only a customer is keyed by its partner once the claim precedes it.
Attributions never change, so this is a pure function of the log, shared by sinks."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.database import Database

TRACKING_TABLE = "relay_tracking"
ATTRIBUTION_TABLE = "relay_attribution"


class RelayTracking:
    def __init__(self, db: Database, sink: str) -> None:
        self.db, self.sink = db, sink

    def setup(self) -> None:
        with self.db.schema_change() as cursor:
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {TRACKING_TABLE} (sink TEXT PRIMARY KEY, position BIGINT NOT NULL)")
            cursor.execute(
                f"INSERT INTO {TRACKING_TABLE} (sink, position) VALUES (%s, 0) ON CONFLICT (sink) DO NOTHING", (self.sink,)
            )
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {ATTRIBUTION_TABLE} ("
                " customer_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, position BIGINT NOT NULL)"
            )

    def position(self) -> int:
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(f"SELECT position FROM {TRACKING_TABLE} WHERE sink = %s", (self.sink,))
            row = cursor.fetchone()
        return int(row[0]) if row else 0

    def attributions(self, customer_ids: set[str]) -> dict[str, tuple[str, int]]:
        """(partner id, claim position) of the given customers that were claimed."""
        found: dict[str, tuple[str, int]] = {}
        ids = sorted(customer_ids)
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                cursor.execute(
                    f"SELECT customer_id, partner_id, position FROM {ATTRIBUTION_TABLE} "
                    f"WHERE customer_id IN ({', '.join(['%s'] * len(chunk))})",
                    chunk,
                )
                for customer_id, partner_id, position in cursor.fetchall():
                    found[customer_id] = (partner_id, int(position))
        return found

    def advance(self, position: int, claims: Sequence[tuple[str, str, int]] = ()) -> None:
        """Record new attributions and move the position, in one transaction; never
        backwards (two relays on one sink must not undo each other's progress)."""
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            if claims:
                cursor.executemany(
                    f"INSERT INTO {ATTRIBUTION_TABLE} (customer_id, partner_id, position) VALUES (%s, %s, %s) "
                    "ON CONFLICT (customer_id) DO NOTHING",
                    list(claims),
                )
            cursor.execute(
                f"UPDATE {TRACKING_TABLE} SET position = %s WHERE sink = %s AND position < %s",
                (position, self.sink, position),
            )
