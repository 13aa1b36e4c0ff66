"""``ledger funnel P`` and ``ledger leads``: the partner's referral funnel and the leads
queue, as the dashboard and ``GET /v1/partners/{id}/funnel`` / ``GET /v1/leads`` show them.
(The partner's link and private code are in ``ledger partner P``.)"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from entrypoints.bootstrap import Ledger
from entrypoints.output import print_json, print_table
from ledger.calendar import parse_moment
from projections.referrals import LEAD_STATES
from projections.reports import MAX_MONTHS

Command = Callable[[Ledger, argparse.Namespace], int]
LEADS_LIMIT = 200


def _moment(text: str) -> Any:
    try:
        return parse_moment(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date or time: {text!r}") from None


def _months(text: str) -> int:
    months = int(text) if text.isdigit() else 0
    if not 1 <= months <= MAX_MONTHS:
        raise argparse.ArgumentTypeError(f"a number of months from 1 to {MAX_MONTHS}: {text!r}")
    return months


def add_parsers(sub: Any) -> dict[str, Command]:
    funnel = sub.add_parser("funnel", help="a partner's referral funnel per month: clicks, sign-ups, new paying customers, commission")
    funnel.add_argument("partner")
    funnel.add_argument("--months", type=_months, default=12, help="how many months, ending with --as-of's (default 12)")
    funnel.add_argument("--as-of", type=_moment, help="the last month shown is this date's (default now)")
    funnel.add_argument("--json", action="store_true", help="print JSON")
    leads = sub.add_parser("leads", help="partners' leads, newest first, with their state (personal data: admins' view)")
    leads.add_argument("--partner", help="one partner's leads")
    leads.add_argument("--state", choices=LEAD_STATES)
    leads.add_argument("--json", action="store_true", help="print JSON")
    return {"funnel": cmd_funnel, "leads": cmd_leads}


def cmd_funnel(ledger: Ledger, args: argparse.Namespace) -> int:
    funnel = ledger.referrals.funnel(args.partner, args.months, args.as_of)
    if args.json:
        print_json(funnel)
        return 0
    rows = [[m["period"], m["clicks"], m["sign_ups"], m["paying_customers"],
             ", ".join(f"{amount} {currency}" for currency, amount in m["commission"].items()) or "-"]
            for m in funnel["months"]]
    print_table(("month", "clicks", "sign-ups", "new paying", "commission"), rows,
                title=f"Funnel of {args.partner} (link {funnel['referral_link'] or 'none yet'})",
                numeric=("clicks", "sign-ups", "new paying", "commission"))
    return 0


def cmd_leads(ledger: Ledger, args: argparse.Namespace) -> int:
    leads = ledger.referrals.leads(partner_id=args.partner, state=args.state, limit=LEADS_LIMIT)
    if args.json:
        print_json(leads)
        return 0
    rows = [[lead["submitted_at"][:10], lead["lead_id"], lead["partner_id"], lead["company"], lead["email"], lead["state"],
             lead["reason"] or lead["customer_id"] or ""] for lead in leads]
    print_table(("submitted", "lead", "partner", "company", "contact", "state", "why / customer"), rows,
                title="Leads", note=None if rows else "no leads")
    return 0
