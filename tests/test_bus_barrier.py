"""A month close runs alone, after a commit, however it arrives: a decoded object, JSON
text or bytes, a file's line (``Sourced``) or a parsed command; a command that only
mentions ``close_period`` in a value does not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from commands.bus import MessageBus, Origin
from commands.handlers import Result
from commands.parsing import Sourced, parse

CLOSE = {"type": "close_period", "program_id": "prog", "period": "2024-01"}
MEETING = {"type": "record_meeting", "partner_id": "p1"}
MENTION = {"type": "reject_application", "partner_id": "p1", "reason": 'said "type": "close_period" twice'}


class Batches(MessageBus):
    """A bus that only records how it cuts the stream into batches."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def _apply_batch(self, batch: list[Any], origin: Origin) -> list[Result]:
        self.batches.append(batch)
        return [{"ok": True} for _ in batch]


FORMS = {
    "object": lambda body: body,
    "text": json.dumps,
    "bytes": lambda body: json.dumps(body).encode(),
    "spaced text": lambda body: json.dumps(body, indent=2),
    "file line": lambda body: Sourced(json.dumps(body) + "\n", "file:1"),
    "file line as bytes": lambda body: Sourced(json.dumps(body).encode(), "file:1"),
    "command": parse,
}


@pytest.mark.parametrize("form", FORMS)
def test_a_month_close_runs_alone_after_a_commit(form: str) -> None:
    make = FORMS[form]
    bus = Batches()
    results = list(bus.handle_many([make(MEETING), make(MENTION), make(CLOSE), make(MEETING)]))
    assert len(results) == 4
    assert [len(batch) for batch in bus.batches] == [2, 1, 1]
    assert bus.batches[1] == [make(CLOSE)] or form == "command"


def test_batches_are_cut_at_their_size_between_closes() -> None:
    bus = Batches()
    list(bus.handle_many([MEETING] * 5 + [CLOSE] + [MEETING] * 3, batch_size=2))
    assert [len(batch) for batch in bus.batches] == [2, 2, 1, 1, 2, 1]
