"""What the journal (the ``proj_lines`` read model) says a month close would state: for
each partner of the program and currency, every money line effective (and payable) by
the period's end that no statement holds yet.

A month close does not read this: it states from the books (``ledger.account.Books``,
folded from the log), so a read model's bug cannot become a ``StatementIssued``. This
is the journal's independent answer, which tests/test_statements_books.py holds the
books to, close after close: a test's helper, not the ledger's."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from events.statement import StatementLine
from ledger.account import StatementDraft
from ledger.calendar import month_end
from projections.catalog import LiveReadModels
from projections.columns import from_minor, from_ts, ts
from projections.lines_view import PAYABLE
from projections.money import CLAWED_BACK, COMMISSION_SIGN, EARNED, STATEMENT_BUCKETS


def journal_drafts(read_models: LiveReadModels, program_id: str, period: str) -> list[StatementDraft]:
    """The journal's drafts for closing ``period`` of the program (caught up first)."""
    read_models.catch_up()
    db, t = read_models.db, read_models.t
    end = ts(month_end(period))
    buckets = ", ".join(f"'{bucket}'" for bucket in STATEMENT_BUCKETS)
    with db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute(
            "SELECT l.partner_id, l.currency, l.position, l.seq, l.bucket, l.kind, l.amount_minor,"
            " l.effective_at, l.source_id"
            f" FROM {t.lines} l JOIN {t.partners} p ON p.partner_id = l.partner_id"
            f" WHERE p.program_id = %s AND l.statement_id IS NULL AND l.held = {PAYABLE}"
            f" AND l.bucket IN ({buckets}) AND l.effective_at <= %s"
            " AND (l.payable_at IS NULL OR l.payable_at <= %s)"
            # A reversal waits for the commission it reverses to be payable.
            f" AND (l.bucket <> '{CLAWED_BACK}' OR NOT EXISTS (SELECT 1 FROM {t.lines} e WHERE e.payment_id = l.payment_id"
            f" AND e.bucket = '{EARNED}' AND (e.payable_at IS NULL OR e.payable_at > %s)))"
            " ORDER BY l.partner_id, l.currency, l.effective_at, l.position, l.seq",
            (program_id, end, end, end),
        )
        rows = cursor.fetchall()
        # Accounts with an earlier statement get one too, to carry their balance forward.
        cursor.execute(f"SELECT DISTINCT partner_id, currency FROM {t.statements} WHERE program_id = %s", (program_id,))
        accounts = {(row[0], row[1]) for row in cursor.fetchall()}
    drafts = {
        (partner_id, currency): [_line(row) for row in group]
        for (partner_id, currency), group in groupby(rows, key=lambda row: (row[0], row[1]))
    }
    for account in accounts - drafts.keys():
        drafts[account] = []
    return [StatementDraft(partner, currency, lines) for (partner, currency), lines in sorted(drafts.items())]


def _line(row: Any) -> StatementLine:
    _, currency, position, seq, bucket, kind, units, effective_at, source_id = row
    return StatementLine(
        kind=kind,
        amount=from_minor(units, currency) * COMMISSION_SIGN[bucket],
        effective_at=from_ts(effective_at),
        source_id=source_id,
        line_key=f"{int(position)}:{int(seq)}",
    )
