"""Tamper evidence: recompute the hash chain that seals every event in the log."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.database import Database
from adapters.event_store import EventStore
from adapters.hash_chain import CHAIN_TABLE, GENESIS, chain_hash
from replay.tablescan import scan

BATCH = 5000


@dataclass(frozen=True)
class ChainReport:
    events: int
    first_bad_position: int | None
    reason: str | None
    # The last seal: keep it somewhere the database's administrators cannot write
    # (a ticket, an e-mail to the auditor). Whoever can rewrite the database can
    # recompute the chain, but cannot make it end in a head recorded elsewhere.
    head: str | None = None
    head_position: int | None = None

    @property
    def ok(self) -> bool:
        return self.first_bad_position is None

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "events": self.events, "first_bad_position": self.first_bad_position,
                "reason": self.reason, "head": self.head, "head_position": self.head_position}


def verify_chain(db: Database, store: EventStore, expect: tuple[int, str] | None = None) -> ChainReport:
    """Walk the log and its seals side by side; name the first position that fails.
    ``expect`` is a (position, head) recorded at an earlier audit: the recomputed seal
    at that position must be that head, and the log must reach that position."""
    seals = scan(db, CHAIN_TABLE, ("position",))
    previous, count, after = GENESIS, 0, 0
    expect_position, expect_head = expect if expect is not None else (None, None)
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
                reason = "content does not match its seal (edited, or the event before it deleted with its seal?)"
                return ChainReport(count, notification.id, reason)
            if expect_position is not None and notification.id >= expect_position:
                if notification.id > expect_position:
                    reason = "no event at the position of the head recorded at an earlier audit (deleted?)"
                    return ChainReport(count, expect_position, reason)
                if expected.hex() != expect_head:
                    return ChainReport(count, notification.id, "history differs from the head recorded at an earlier audit")
                expect_position = None  # checked
            previous, count = expected, count + 1
        after = notifications[-1].id
    extra = next(seals, None)
    if extra is not None:
        return ChainReport(count, int(extra[0]), "sealed event is missing (deleted?)")
    if expect_position is not None:
        return ChainReport(
            count, after + 1, f"the log ends at position {after}, before the head recorded at position "
            f"{expect_position} at an earlier audit: events were removed from the end",
        )
    return ChainReport(count, None, None, previous.hex() if count else None, after or None)
