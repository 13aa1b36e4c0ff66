"""`ledger project --follow` keeps read models current for writers in other processes."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import AbstractContextManager, nullcontext

from commands.bus import MessageBus
from commands.unit_of_work import UnitOfWork
from projections.catalog import LiveReadModels
from tests import builders as b
from tests.conftest import Driver


class NotCatchingUp:
    """Read models this process leaves alone (another process keeps them current)."""

    def __init__(self, live: LiveReadModels) -> None:
        self.live = live

    def catch_up(self, *, recent: object = ()) -> int:
        return 0

    def deciding(self) -> AbstractContextManager[None]:
        return nullcontext()

    def prefetch_contacts(self, email_hashes: set[str], domain_hashes: set[str]) -> None:
        pass


def test_follower_process_projects_what_another_process_writes(pg_url):
    follower = subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "--db", pg_url, "project", "--follow", "--interval", "0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    writer = Driver(pg_url)
    try:
        # Write through a bus that does not catch up the read side: only the follower projects.
        bus = MessageBus(UnitOfWork(writer.app.store), writer.app.vault, NotCatchingUp(writer.app.read_models))
        results = list(bus.handle_many([
            b.program(), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1", {"platform_fee": "80.00"}),
        ]))
        assert all(r["ok"] for r in results)
        head = writer.app.store.max_position()
        deadline = time.monotonic() + 20
        while min(writer.app.read_models.positions().values()) < head and time.monotonic() < deadline:
            time.sleep(0.1)
        assert min(writer.app.read_models.positions().values()) == head
        assert writer.app.queries.balance("p1")["currencies"]["USD"]["earned"] == "40.00"
    finally:
        follower.terminate()
        follower.wait(10)
        writer.close()
