"""What-if terms against replay, on the same log in the same process.

A replay rebuilds every read model from event zero; a what-if reads the same log once
and folds one program twice (as recorded and under the proposal). The figure
``what_if.ratio_vs_replay`` is the what-if of every program of the log, one after
another, over one replay of the log: a what-if per program, each reading the whole
log, against one replay that covers them all (the issue's target: within 2 x).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from commands.handlers.programs import patched_terms
from entrypoints.bootstrap import bootstrap
from events.program import Terms
from replay.verify import replay
from replay.what_if import what_if

# +5 points on every program's first level: touches most payments.
RAISE = "0.05"


def what_if_benchmark(url: str) -> dict[str, Any]:
    ledger = bootstrap(database_url=url)
    try:
        ledger.read_models.catch_up()
        started = time.perf_counter()
        report = replay(ledger.db, ledger.store, ledger.read_models, ledger.snapshots())
        replay_s = time.perf_counter() - started
        what_if_s = 0.0
        for program_id in ledger.reports.program_ids():
            patch = _raise_first_level(ledger.queries.terms(program_id))
            started = time.perf_counter()
            what_if(ledger.store, program_id, patch, partial(_proposal, patch=patch))
            what_if_s += time.perf_counter() - started
        return {"what_if.seconds": round(what_if_s, 2), "what_if.replay_seconds": round(replay_s, 2),
                "what_if.events": report.events, "what_if.ratio_vs_replay": round(what_if_s / replay_s, 3)}
    finally:
        ledger.close()


def _proposal(terms: Terms, patch: dict[str, Any]) -> Terms:
    return patched_terms(terms, patch)


def _raise_first_level(terms: dict[str, Any]) -> dict[str, Any]:
    level, values = next(iter(terms["levels"].items()))
    rate = min(1, float(values["rate"]) + float(RAISE))
    return {"levels": {level: {"rate": f"{rate:.2f}"}}}
