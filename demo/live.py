"""What a running program adds to the generated history, which only the ledger itself
can tell: after each month close, finance pays most of what the statements left due and
some partners ask to be paid first; and visitors click the partners' referral links.

The generated history (``demo.generate``) knows the business, not the figures the ledger
derives from it (what a statement leaves due depends on every rule of the program), so
the demo applies the history a month at a time and, after each month's closes, reads what
is due (finance's payouts-due list) and records payouts and payout requests through the
bus like finance and partners do. After the last close, the requests are left waiting
for finance. All randomness comes from one ``random.Random`` seeded from the demo's seed.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from adapters.clicks import CLICKS_TABLE
from entrypoints.bootstrap import Ledger
from entrypoints.payment_files import default_reference, reference_payout_id
from ledger.partner import Partner
from projections.listings import every

Command = dict[str, Any]
PAID_SHARE = 0.7  # of the amounts due after a close, paid by finance within days
ASKED_SHARE = 0.15  # asked for by the partner first (then paid a few days later, except after the last close)


def month_closes(commands: Iterable[Command]) -> Iterator[tuple[list[Command], Command | None]]:
    """The history cut after each month's closes: (commands, the last close or None for the tail)."""
    chunk: list[Command] = []
    closing: Command | None = None
    for command in commands:
        if closing is not None and command["type"] != "close_period":
            yield chunk, closing
            chunk, closing = [], None
        chunk.append(command)
        if command["type"] == "close_period":
            closing = command
    if chunk:
        yield chunk, closing


def apply_history(ledger: Ledger, commands: Iterable[Command], seed: int, last_period: str, *,
                  record: Callable[[Command], None], advance: Callable[[int], None],
                  batch_size: int = 500) -> Counter[tuple[str, str]]:
    """Apply the history through the bus, month by month, with the payouts and requests of
    each close (``last_period``: the history's last month); ``record`` gets every command
    applied, in order. Returns the rejections by (command type, error code)."""
    r = random.Random(f"payouts {seed}")
    rejected: Counter[tuple[str, str]] = Counter()
    for chunk, closing in month_closes(commands):
        rejected += _apply(ledger, chunk, record, advance, batch_size)
        if closing is not None:
            closed_at = datetime.fromisoformat(closing["at"].replace("Z", "+00:00"))
            derived = _after_close(ledger, r, closed_at, last=closing["period"] == last_period)
            rejected += _apply(ledger, derived, record, advance, batch_size)
    return rejected


def _apply(ledger: Ledger, commands: list[Command], record: Callable[[Command], None], advance: Callable[[int], None],
           batch_size: int) -> Counter[tuple[str, str]]:
    rejected: Counter[tuple[str, str]] = Counter()
    for command, result in zip(commands, ledger.bus.handle_many(commands, source="cli", batch_size=batch_size), strict=True):
        record(command)
        advance(1)
        if not result["ok"]:
            rejected[(command["type"], result["error"]["code"])] += 1
    return rejected


def _after_close(ledger: Ledger, r: random.Random, closed_at: datetime, last: bool) -> list[Command]:
    """Payouts and payout requests for what the close left due, dated in the days after it
    (never after now); after the last close only requests, waiting for finance."""
    commands: list[Command] = []
    now = datetime.now(UTC)
    for due in every(lambda after: ledger.listings.payouts_due(limit=500, after=after)):
        roll = r.random() if commands or not last else 0.0  # after the last close, at least one request waits
        partner_id, currency = due["partner_id"], due["currency"]
        if roll < ASKED_SHARE:
            asked = min(now, closed_at + timedelta(hours=r.randint(2, 20 if last else 72)))
            commands.append({"type": "request_payout", "partner_id": partner_id, "currency": currency,
                             "at": _iso(asked), "actor": f"partner:{partner_id}"})
            if last:
                continue
        elif roll >= ASKED_SHARE + PAID_SHARE or last:
            continue  # carried to the next month
        paid = min(now, closed_at + timedelta(days=r.randint(4, 12), hours=r.randint(8, 17)))
        commands.append({"type": "record_payout", "payout_id": payout_id(paid, partner_id, currency),
                         "partner_id": partner_id, "amount": due["due"], "currency": currency,
                         "statement_ids": due["statement_ids"], "at": _iso(paid), "actor": "finance"})
    return commands


def payout_id(paid: datetime, partner_id: str, currency: str) -> str:
    """The id finance's payouts page gives a payment, ``REFERENCE:partner:currency``, with
    its default reference, the day's (``payout-2024-02-09``): one id per partner, currency
    and payment run, as a bank transfer's reference would be. (An id made of the partner and
    its oldest statement's month named a partner's payouts in two currencies alike.)"""
    return reference_payout_id(default_reference(paid), partner_id, currency)


def click_rows(ledger: Ledger, seed: int, until: date) -> list[tuple[str, str, int]]:
    """(link, day, clicks): for every approved partner, visitors on its referral link in each
    month since its approval, several times the customers it brought that month, on a few days."""
    r = random.Random(f"clicks {seed}")
    t = ledger.read_models.t
    onboarded = Counter({(partner_id, month): int(count) for partner_id, month, count in ledger.db.fetch_all(
        f"SELECT partner_id, SUBSTR(onboarded_at, 1, 7), COUNT(*) FROM {t.customers}"
        " WHERE partner_id IS NOT NULL AND onboarded_at IS NOT NULL GROUP BY partner_id, SUBSTR(onboarded_at, 1, 7)")})
    rows: list[tuple[str, str, int]] = []
    approved = [row[0] for row in ledger.db.fetch_all(
        f"SELECT partner_id FROM {t.partners} WHERE state = 'approved' ORDER BY partner_id")]
    for partner_id in approved:
        partner = ledger.store.load(Partner, partner_id)
        if partner is None or partner.approved_at is None or partner.referral_link is None:
            continue
        since = partner.approved_at.date()
        month = since.replace(day=1)
        while month < until:
            visits = onboarded[(partner_id, month.strftime("%Y-%m"))] * r.randint(4, 20) + r.randint(0, 6)
            days = sorted(r.sample(range(1, 29), k=min(visits, 6)))
            for k, day in enumerate(days):
                moment = month.replace(day=day)
                if since <= moment < until:
                    rows.append((partner.referral_link, moment.isoformat(), visits // len(days) + (k < visits % len(days))))
            month = (month + timedelta(days=32)).replace(day=1)
    return rows


def record_clicks(ledger: Ledger, rows: list[tuple[str, str, int]]) -> int:
    """Write the clicks in one transaction (the click counter adds one visit at a time)."""
    with ledger.db.connect() as conn, ledger.db.transaction(conn) as cursor:
        cursor.execute(f"DELETE FROM {CLICKS_TABLE}")
        cursor.executemany(f"INSERT INTO {CLICKS_TABLE} (link, day, clicks) VALUES (%s, %s, %s)", rows)
    return sum(clicks for _, _, clicks in rows)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
