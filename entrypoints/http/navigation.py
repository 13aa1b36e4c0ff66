"""The consoles each role opens, as the links of every page's top bar (and of ``/``)."""

from __future__ import annotations

from entrypoints.http.access import Principal, Role
from entrypoints.http.urls import url

Link = dict[str, str]

_STAFF_LINKS: dict[Role, list[Link]] = {
    Role.ADMIN: [
        {"href": "/admin/applications", "label": "Applications"},
        {"href": "/admin/partners", "label": "Partners"},
        {"href": "/admin/holds", "label": "Holds"},
        {"href": "/admin/leads", "label": "Leads"},
        {"href": "/admin/programs", "label": "Programs"},
        {"href": "/what-if", "label": "What-if"},
        {"href": "/admin/webhooks", "label": "Webhooks"},
        {"href": "/audit", "label": "Audit trail"},
    ],
    Role.FINANCE: [
        {"href": "/finance", "label": "Months"},
        {"href": "/finance/statements", "label": "Statements"},
        {"href": "/finance/payouts", "label": "Payouts"},
        {"href": "/what-if", "label": "What-if"},
        {"href": "/audit", "label": "Audit trail"},
        {"href": "/audit/snapshots", "label": "Snapshots"},
    ],
    Role.AUDITOR: [
        {"href": "/audit", "label": "Audit trail"},
        {"href": "/audit/snapshots", "label": "Snapshots"},
        {"href": "/audit/verify", "label": "Verify"},
    ],
    Role.BILLING: [],
}
API_REFERENCE: Link = {"href": "/docs", "label": "API reference"}


def links_for(principal: Principal) -> list[Link]:
    """The top bar's links, each ``href`` a ``urls.Url`` (templates place it with ``|url``)."""
    if principal.role is Role.PARTNER:
        # The Resale page is a tab of the dashboard, shown only where the program resells.
        return [{"href": url("/partners/{}", principal.partner_id), "label": "Dashboard"}, _as_link(API_REFERENCE)]
    return [_as_link(link) for link in [*_STAFF_LINKS[principal.role], API_REFERENCE]]


def _as_link(link: Link) -> Link:
    return {**link, "href": url(link["href"])}  # these paths hold no id
