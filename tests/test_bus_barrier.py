"""A month close runs alone, after a commit, however it arrives: a decoded object, JSON
text or bytes (a Kafka record's value), a file's line (``Sourced``), its type written
with JSON escapes, or a parsed command; a command that only mentions ``close_period`` in
a value does not."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from commands.bus import MessageBus, Origin
from commands.handlers import Result
from commands.parsing import Sourced, parse
from tests import builders as b
from tests.conftest import Driver

CLOSE = {"type": "close_period", "program_id": "prog", "period": "2024-01"}
MEETING = {"type": "record_meeting", "partner_id": "p1"}
MENTION = {"type": "reject_application", "partner_id": "p1", "reason": 'said "type": "close_period" twice'}


class Batches(MessageBus):
    """A bus that only records how it cuts the stream into batches."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = []

    def _apply_batch(self, batch: list[Any], origin: Origin) -> list[Result]:  # a batch of parsed commands
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
    "escaped text": lambda body: escaped(json.dumps(body)),
    "escaped bytes": lambda body: escaped(json.dumps(body)).encode(),
    "escaped file line": lambda body: Sourced(escaped(json.dumps(body)) + "\n", "file:1"),
}


def escaped(text: str) -> str:
    """The same JSON with the type's underscore written as ``\\u005f``: parsed as the same command."""
    return text.replace('"close_period"', '"close\\u005fperiod"').replace('"record_meeting"', '"record\\u005fmeeting"')


@pytest.mark.parametrize("form", FORMS)
def test_a_month_close_runs_alone_after_a_commit(form: str) -> None:
    make = FORMS[form]
    bus = Batches()
    results = list(bus.handle_many([make(MEETING), make(MENTION), make(CLOSE), make(MEETING)]))
    assert len(results) == 4
    assert [len(batch) for batch in bus.batches] == [2, 1, 1]
    assert bus.batches[1] == [parse(make(CLOSE))]
    assert bus.batches[0] == [parse(make(MEETING)), parse(make(MENTION))]


def test_several_escaped_month_closes_each_run_alone() -> None:
    """Closes of several months in one stream (one ``ledger apply`` file) never share a
    batch: each states from the books after the one before it was committed."""
    bus = Batches()
    closes = [escaped(json.dumps({**CLOSE, "period": period})) for period in ("2024-01", "2024-02", "2024-03")]
    list(bus.handle_many([json.dumps(MEETING), *closes, escaped(json.dumps(MEETING))]))
    assert [len(batch) for batch in bus.batches] == [1, 1, 1, 1, 1]
    assert [batch[0].period for batch in bus.batches[1:4]] == ["2024-01", "2024-02", "2024-03"]


@pytest.mark.parametrize("spelled", [json.dumps, lambda body: escaped(json.dumps(body))], ids=["plain", "escaped"])
def test_months_closed_in_one_stream_state_a_commission_once(ledger: Driver, spelled: Callable[[Any], str]) -> None:
    """Four closes sent together: January states the payment's commission, the later
    months carry it unpaid and state no line again (a close sharing a batch with the one
    before would state it again from books without that one's statement)."""
    ledger.ok(b.program(), *b.partner("p1"), *b.customer("c1", "p1", at="2025-01-05T00:00:00Z"))
    ledger.ok(b.payment("in_1", "c1", {"platform_fee": "1000.00"}, at="2025-01-10T00:00:00Z"))
    periods = ["2025-01", "2025-02", "2025-03", "2025-04"]
    results = list(ledger.app.bus.handle_many([spelled(b.close(period, at="2025-06-01T00:00:00Z")) for period in periods]))
    assert [result["ok"] for result in results] == [True] * 4
    stated = [[(s["due"], len(s["lines"])) for s in ledger.app.queries.statements("p1", period)] for period in periods]
    assert stated == [[("500.00", 1)], [("500.00", 0)], [("500.00", 0)], [("500.00", 0)]]


def test_batches_are_cut_at_their_size_between_closes() -> None:
    bus = Batches()
    list(bus.handle_many([MEETING] * 5 + [CLOSE] + [MEETING] * 3, batch_size=2))
    assert [len(batch) for batch in bus.batches] == [2, 2, 1, 1, 2, 1]
