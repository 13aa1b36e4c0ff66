"""Running totals per partner, currency and bucket (and the amount due): the current
balance in one indexed read. Balances as of a past time are summed from the journal."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from events.statement import PayoutRecorded, StatementIssued, StatementReleased
from ledger.aggregate import Envelope
from projections.columns import to_minor
from projections.money import DUE, MONEY_TOPICS, money_lines
from projections.runner import Tables, View


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

    def handle(self, cursor: Any, t: Tables, envelope: Envelope, position: int) -> None:
        event = envelope.payload
        for line in money_lines(event):
            self._deltas[(line.partner_id, line.currency, line.bucket)] += to_minor(line.amount, line.currency)
        if isinstance(event, StatementIssued | StatementReleased):
            # The new statement's due (or a released one) replaces whatever was due before it.
            account = (event.partner_id, event.currency)
            self._due_reset[account] = to_minor(event.due, event.currency)
            self._deltas.pop((*account, DUE), None)
        elif isinstance(event, PayoutRecorded):
            self._deltas[(event.partner_id, event.currency, DUE)] -= to_minor(event.amount, event.currency)

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
