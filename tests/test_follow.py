"""`ledger project --follow` keeps read models current for writers in other processes."""

from __future__ import annotations

import subprocess
import sys
import time

from tests import builders as b
from tests.conftest import Ledger


def test_follower_process_projects_what_another_process_writes(pg_url):
    follower = subprocess.Popen(
        [sys.executable, "-m", "commands.cli", "--db", pg_url, "project", "--follow", "--interval", "0.1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    writer = Ledger(pg_url)
    try:
        dispatcher = writer.runtime.dispatcher("cli")
        # Write without catching up the read side here: only the follower projects.
        results = list(dispatcher.apply_many([
            b.program(), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1", {"platform_fee": "80.00"}),
        ]))
        assert all(r["ok"] for r in results)
        head = writer.runtime.store.max_position()
        deadline = time.monotonic() + 20
        while min(writer.runtime.projections.positions().values()) < head and time.monotonic() < deadline:
            time.sleep(0.1)
        assert min(writer.runtime.projections.positions().values()) == head
        assert writer.runtime.queries.balance("p1")["currencies"]["USD"]["earned"] == "40.00"
    finally:
        follower.terminate()
        follower.wait(10)
        writer.close()
