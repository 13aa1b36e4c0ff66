"""The three partner programs of ``shared/seeds`` as ready-made terms.

Where a program document leaves a value open, the choice is written next to it. The
documents name no currency: every preset pays in USD and also accepts EUR and GBP
(a program accepts only the currencies its terms list; add others with
``change_program_terms``).
"""

from __future__ import annotations

from typing import Any

from events.program import Terms

PRESETS: dict[str, dict[str, Any]] = {
    # "How You Can Work as a Partner — Refer or Resell": one account, two modes,
    # commission 15–35 % for life, resale discount 20–35 %, by partner level.
    # The document names no levels: we chose four, each stepping commission and
    # discount together, ending at the documented bounds.
    "refer-resell": {
        "currency": "USD",
        "currencies": ["EUR", "GBP"],
        "levels": {
            "Registered": {"rate": "0.15", "discount": "0.20", "period_months": None},
            "Silver": {"rate": "0.20", "discount": "0.25", "period_months": None},
            "Gold": {"rate": "0.25", "discount": "0.30", "period_months": None},
            "Platinum": {"rate": "0.35", "discount": "0.35", "period_months": None},
        },
        "default_level": "Registered",
        # "You earn commission on the customer's subscription fees".
        "commissionable_revenue": ["subscription"],
        "promo": None,
        # The document sets no activity target and no lock: nobody is "at risk".
        "status": {"target_per_year": None, "lock_threshold": None},
    },
    # "Sales Partner Program": 20 % standard, configured per partner by admins, on
    # platform fee plus message overage; 50 % launch rate for the first 3 approved;
    # active = 10 new tenants a year over the rolling window (we chose 24 months);
    # 50 onboarded tenants lock the status for 5 years.
    "sales-partner": {
        "currency": "USD",
        "currencies": ["EUR", "GBP"],
        "levels": {"Standard": {"rate": "0.20", "discount": "0", "period_months": None}},
        "default_level": "Standard",
        "commissionable_revenue": ["platform_fee", "message_overage"],
        "promo": {"rate": "0.50", "slots": 3},
        "status": {"target_per_year": 10, "window_months": 24, "lock_threshold": 50, "lock_years": 5},
    },
    # "Referral Program Guide": 20 % of Net Revenue for 3 years (Master) or 2 years
    # (Elite, Sales Partner); W-9 / W-8BEN(-E) and bank details before payment; the
    # seller may require training before leads qualify or fees are paid (we require
    # neither by default: an admin switches them on with change_program_terms).
    "referral-tiers": {
        "currency": "USD",
        "currencies": ["EUR", "GBP"],
        "levels": {
            "Master": {"rate": "0.20", "discount": "0", "period_months": 36},
            "Elite": {"rate": "0.20", "discount": "0", "period_months": 24},
            "Sales Partner": {"rate": "0.20", "discount": "0", "period_months": 24},
        },
        "default_level": "Sales Partner",
        "commissionable_revenue": "*",
        "promo": None,
        "payout": {"minimum": "0.00", "hold_days": 0, "requires_tax_form": True, "requires_training": False},
        # "at least two meetings a year" with the seller's team; no activity target, no lock.
        "status": {"target_per_year": None, "lock_threshold": None, "meetings_per_year": 2},
    },
}


def preset_terms(name: str) -> Terms:
    return Terms.model_validate(PRESETS[name])
