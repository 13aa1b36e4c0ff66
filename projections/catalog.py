"""The set of live read models, in the order they must see each event."""

from __future__ import annotations

from projections.audit_view import AuditView
from projections.balances_view import BalancesView
from projections.customers_view import CustomersView
from projections.lines_view import LinesView
from projections.partners_view import PartnersView
from projections.runner import View
from projections.statements_view import StatementsView

# Primary keys, for streaming comparisons of two copies of a view's tables.
TABLE_KEYS = {
    "partners": ("partner_id",),
    "customers": ("customer_id",),
    "lines": ("position", "seq"),
    "statements": ("statement_id",),
    "audit": ("position",),
    "balances": ("partner_id", "currency", "bucket"),
}


def live_views() -> list[View]:
    # Order matters: the audit view reads the customers view's attribution.
    return [PartnersView(), CustomersView(), LinesView(), BalancesView(), StatementsView(), AuditView()]
