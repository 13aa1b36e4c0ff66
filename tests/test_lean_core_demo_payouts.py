"""The demo records finance's payouts as a real program would: one payout id per partner,
currency and payment run, so none collides with another (``demo.live``). The demo's
numbers feed the bench and the screenshots; a payout refused as a ``conflict`` left money
due that finance had paid, and the partner's next request waiting for ever.

(A test of the demo beside the lean core's: the guard lane's own test files.)
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

from demo.live import _after_close, payout_id
from tests import builders as b
from tests.conftest import Driver


class Paying(random.Random):
    """A draw that always has finance pay (never ask first, never carry to next month)."""

    def random(self) -> float:
        return 0.5


def test_a_partner_paid_in_two_currencies_over_two_months_gets_four_payouts(sqlite_ledger: Driver) -> None:
    sqlite_ledger.ok(
        b.program(), *b.partner("p1"),
        b.cmd("submit_tax_form", partner_id="p1", form="W-8BEN", at="2025-01-04T00:00:00Z"),
        *b.customer("c1", "p1"), *b.customer("c2", "p1"),
    )
    payouts = []
    for month, (period, closed_at) in enumerate((("2025-01", "2025-02-01T00:00:00Z"), ("2025-02", "2025-03-01T00:00:00Z"))):
        sqlite_ledger.ok(
            b.payment(f"i{month}-usd", "c1", {"platform_fee": "1000.00"}, at=f"{period}-20T00:00:00Z"),
            b.payment(f"i{month}-eur", "c2", {"platform_fee": "800.00"}, at=f"{period}-20T00:00:00Z", currency="EUR"),
            b.close(period, closed_at),
        )
        derived = _after_close(sqlite_ledger.app, Paying(), datetime.fromisoformat(closed_at), last=False)
        assert [(c["type"], c["currency"]) for c in derived] == [("record_payout", "EUR"), ("record_payout", "USD")]
        sqlite_ledger.ok(*derived)  # no conflict: each payout has an id of its own
        payouts += derived
    assert len({c["payout_id"] for c in payouts}) == 4, [c["payout_id"] for c in payouts]
    assert sqlite_ledger.app.listings.payouts_due(limit=10).items == []  # everything due was paid


def test_the_payout_id_is_the_finance_form_s() -> None:
    assert payout_id(datetime(2024, 2, 9, 10, tzinfo=UTC), "rr-00001", "EUR") == "payout-2024-02-09:rr-00001:EUR"
