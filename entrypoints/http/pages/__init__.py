"""The HTML pages, one router module per console. The app includes every router in
``ROUTERS``: a new console adds its module here (see docs/http.md, "Adding pages")."""

from __future__ import annotations

from fastapi import APIRouter

from entrypoints.http.pages import (
    admin,
    admin_tools,
    apply,
    audit,
    earnings,
    finance,
    home,
    paperwork,
    partner,
    paying,
    referrals,
    sessions,
    webhooks,
    what_if,
)

ROUTERS: list[APIRouter] = [
    sessions.router, home.router, partner.router, admin.router, admin_tools.router, apply.router, finance.router,
    paying.router, audit.router, referrals.router, what_if.router, webhooks.router, paperwork.router, earnings.router,
]
