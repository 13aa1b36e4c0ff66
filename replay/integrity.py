"""Tamper evidence: recompute the hash chain that seals every event in the log."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.database import Database
from ledger.store import CHAIN_TABLE, GENESIS, LedgerStore, chain_hash
from replay.tablescan import scan

BATCH = 5000


@dataclass(frozen=True)
class ChainReport:
    events: int
    first_bad_position: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "events": self.events, "first_bad_position": self.first_bad_position, "reason": self.reason}


def verify_chain(db: Database, store: LedgerStore) -> ChainReport:
    """Walk the log and its seals side by side; name the first position that fails."""
    seals = scan(db, CHAIN_TABLE, ("position",))
    previous, count, after = GENESIS, 0, 0
    while True:
        notifications = store.notifications(after, BATCH)
        if not notifications:
            break
        for notification in notifications:
            seal = next(seals, None)
            if seal is None or int(seal[0]) > notification.id:
                return ChainReport(count, notification.id, "event has no seal (inserted outside the ledger?)")
            if int(seal[0]) < notification.id:
                return ChainReport(count, int(seal[0]), "sealed event is missing (deleted?)")
            expected = chain_hash(previous, notification.id, notification)
            if bytes(seal[-1]) != expected:
                return ChainReport(count, notification.id, "content does not match its seal (edited?)")
            previous, count = expected, count + 1
        after = notifications[-1].id
    extra = next(seals, None)
    if extra is not None:
        return ChainReport(count, int(extra[0]), "sealed event is missing (deleted?)")
    return ChainReport(count, None, None)
