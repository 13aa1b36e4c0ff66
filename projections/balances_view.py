"""Running totals per partner, currency and bucket (and the amount due): the current
balance in one indexed read. Balances as of a past time are summed from the journal."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from events.statement import PayoutRecorded, StatementIssued, StatementReleased
from projections.columns import to_minor
from projections.money import DUE, MONEY_TOPICS, record_lines
from projections.record import Record, amount
from projections.runner import Tables, View

_RESETS = frozenset({StatementIssued.TOPIC, StatementReleased.TOPIC})


class BalancesView(View):
    TOPICS = MONEY_TOPICS | {StatementReleased.TOPIC}
    name = "balances"
    TABLES = ("balances",)

    def __init__(self) -> None:
        self._deltas: dict[tuple[str, str, str], int] = defaultdict(int)
        self._due_reset: dict[tuple[str, str], int] = {}  # accounts a statement reset in this batch

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.balances} (partner_id TEXT NOT NULL, currency TEXT NOT NULL,"
            " bucket TEXT NOT NULL, amount_minor BIGINT NOT NULL, PRIMARY KEY (partner_id, currency, bucket))"
        ]

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        for line in record_lines(record):
            self._deltas[(line.partner_id, line.currency, line.bucket)] += to_minor(line.amount, line.currency)
        p = record.payload
        if record.topic in _RESETS:
            # The new statement's due (or a released one) replaces whatever was due before it.
            account = (p["partner_id"], p["currency"])
            self._due_reset[account] = to_minor(amount(p["due"]), p["currency"])
            self._deltas.pop((*account, DUE), None)
        elif record.topic == PayoutRecorded.TOPIC:
            self._deltas[(p["partner_id"], p["currency"], DUE)] -= to_minor(amount(p["amount"]), p["currency"])

    def discard(self) -> None:
        self._deltas.clear()
        self._due_reset.clear()

    def flush(self, cursor: Any, t: Tables) -> None:
        resets = [(p, c, DUE, due + self._deltas.pop((p, c, DUE), 0)) for (p, c), due in self._due_reset.items()]
        if resets:
            cursor.execute_values(
                f"INSERT INTO {t.balances} VALUES ..."
                " ON CONFLICT (partner_id, currency, bucket) DO UPDATE SET amount_minor = excluded.amount_minor",
                resets,
            )
        if self._deltas:
            cursor.execute_values(
                f"INSERT INTO {t.balances} VALUES ... ON CONFLICT (partner_id, currency, bucket)"
                f" DO UPDATE SET amount_minor = {t.balances}.amount_minor + excluded.amount_minor",
                [(*key, delta) for key, delta in self._deltas.items()],
            )
        self.discard()
