"""The four platforms' mappings to this ledger's commands, as data (see ``mapping.py``).

Every platform maps the same way:
- a partner (affiliate, partnership, promoter) -> ``submit_application`` and, when it is
  active there, ``approve_application`` (at the program's default level);
- a referred customer -> ``sign_up_customer`` and ``claim_customer`` (channel ``link``);
- a sale (a commission's sale, a transaction) -> ``record_payment`` of its amount, and a
  refund of it -> ``record_refund``: the commission is then this ledger's own, under the
  program's terms;
- a commission already **paid** on the platform -> ``adjust_commission`` of minus its amount
  ("paid on X before the move"), so what was paid there is never owed again here; a
  payout is therefore not imported itself.
Amounts on all four are in cents; ids are kept as the platform gives them.
"""

from __future__ import annotations

from typing import Any

from entrypoints.importers.mapping import Platform, Resource, Rule

KIND = ("kind",)  # the revenue line kind imported sales get (--revenue-kind)


def _profile(company: Any, email: str) -> dict[str, Any]:
    """The application's profile: what the platforms know (name, e-mail); the rest they
    do not keep, and says so."""
    return {"company": company, "contact_email": email, "city": "not given", "country": "not given",
            "business_type": "affiliate", "team_size": 1, "client_count": 0}


def _partner(platform: str, partner_id: str, company: Any, email: str, at: str, active: Any) -> tuple[Rule, ...]:
    return (
        Rule("apply", {"type": "submit_application", "partner_id": ("text", partner_id), "program_id": ("program",),
                       "profile": _profile(company, email), "at": ("moment", at)}),
        Rule("approve", {"type": "approve_application", "partner_id": ("text", partner_id), "at": ("moment", at)},
             when=active, unless=f"not active on {platform}: the application waits for an admin's decision"),
    )


def _customer(customer_id: str, partner_id: str, email: str, company: str, at: str) -> tuple[Rule, ...]:
    return (
        Rule("sign_up", {"type": "sign_up_customer", "customer_id": ("text", customer_id), "email": email,
                         "company": company, "at": ("moment", at)}),
        Rule("claim", {"type": "claim_customer", "customer_id": ("text", customer_id), "partner_id": ("text", partner_id),
                       "channel": "link", "at": ("moment", at)}),
    )


def _payment(payment_id: Any, customer_id: str, cents: str, currency: str, at: str, tax: str | None = None) -> Rule:
    return Rule("payment", {
        "type": "record_payment", "payment_id": payment_id, "customer_id": ("text", customer_id),
        "currency": ("currency", currency), "lines": [{"kind": KIND, "amount": ("money", cents, currency)}],
        "tax": ("money", tax, currency) if tax else None, "at": ("moment", at),
    })


def _paid_elsewhere(platform: str, commission_id: str, partner_id: str, cents: str, currency: str, at: str,
                    paid: Any) -> Rule:
    return Rule("paid", {
        "type": "adjust_commission", "adjustment_id": ("concat", f"{platform.lower()}-paid-", commission_id),
        "partner_id": ("text", partner_id), "amount": ("negative_money", cents, currency),
        "currency": ("currency", currency), "reason": f"paid on {platform} before the move", "at": ("moment", at),
    }, when=paid, unless=f"not paid on {platform}: this ledger computes the commission from the sale")


NOT_IMPORTED_PAYOUT = (True, "payouts are not imported: each commission paid there is imported as paid")

REWARDFUL = Platform(
    "rewardful", api_base="https://api.getrewardful.com/v1", auth="basic", paging="page",
    resources=(
        Resource("affiliates", endpoint="/affiliates", rules=_partner(
            "Rewardful", "$id", ("first", ("join", "$first_name", "$last_name"), "$email"), "$email", "$created_at",
            ("equals", "$state", "active"))),
        Resource("referrals", endpoint="/referrals", skip=(
            (("not", "$customer.id"), "a visitor or lead without a customer: nothing to import"),
            (("not", "$affiliate.id"), "no affiliate: not a partner's customer")),
            rules=_customer("$customer.id", "$affiliate.id", "$customer.email", "$customer.name",
                            "$became_conversion_at|became_lead_at|created_at")),
        Resource("commissions", endpoint="/commissions?expand[]=sale", skip=(
            (("equals", "$state", "voided"), "voided on Rewardful: its sale earns nothing"),), rules=(
            _payment("$sale.id", "$sale.referral.customer.id|sale.customer.id", "$sale.sale_amount_cents",
                     "$sale.currency|currency", "$sale.charged_at|sale.created_at|created_at", "$sale.tax_amount_cents"),
            Rule("refund", {"type": "record_refund", "refund_id": ("concat", "$sale.id", "-refund"), "payment_id": "$sale.id",
                            "amount": ("money", "$sale.refund_amount_cents", "$sale.currency|currency"),
                            "at": ("moment", "$sale.refunded_at|updated_at")},
                 when=("positive", "$sale.refund_amount_cents")),
            _paid_elsewhere("Rewardful", "$id", "$sale.referral.affiliate.id|affiliate.id", "$amount", "$currency",
                            "$paid_at|updated_at", ("equals", "$state", "paid")),
        )),
        Resource("payouts", endpoint="/payouts", skip=(NOT_IMPORTED_PAYOUT,), rules=()),
    ),
)

PARTNERSTACK = Platform(
    "partnerstack", api_base="https://api.partnerstack.com/api/v2", auth="basic", paging="cursor",
    resources=(
        Resource("partnerships", endpoint="/partnerships", row_id="$key", rules=_partner(
            "PartnerStack", "$key", ("first", "$company", ("join", "$first_name", "$last_name"), "$email"), "$email",
            "$joined_at|created_at", True)),
        Resource("customers", endpoint="/customers", row_id="$key", skip=(
            (("not", "$partnership_key"), "no partnership: not a partner's customer"),),
            rules=_customer("$key", "$partnership_key", "$email", "$name", "$created_at")),
        Resource("transactions", endpoint="/transactions", row_id="$key", skip=(
            (("negative", "$amount"), "a negative transaction (a refund) names no payment it refunds"),),
            rules=(_payment("$key", "$customer_key|customer.key", "$amount", "$currency", "$created_at"),)),
        Resource("rewards", endpoint="/rewards", row_id="$key", rules=(
            _paid_elsewhere("PartnerStack", "$key", "$partnership_key|partnership.key", "$amount", "$currency",
                            "$updated_at|created_at", ("equals", "$status", "paid")),)),
    ),
)

FIRSTPROMOTER = Platform(
    "firstpromoter", api_base="https://api.firstpromoter.com/api/v2/company", auth="bearer", paging="page",
    resources=(
        Resource("promoters", endpoint="/promoters", rules=_partner(
            "FirstPromoter", "$id", ("first", "$profile.company_name|company_name",
                                      ("join", "$profile.first_name|first_name", "$profile.last_name|last_name"), "$email"),
            "$email", "$joined_at|created_at", ("not", ("one_of", "$state", "pending", "rejected", "blocked", "denied")))),
        Resource("referrals", endpoint="/referrals", skip=(
            (("not", "$promoter.id|promoter_id|promoter_campaign.promoter.id"), "no promoter: not a partner's customer"),),
            rules=_customer("$uid|id", "$promoter.id|promoter_id|promoter_campaign.promoter.id", "$email", "$name|company",
                            "$created_at")),
        Resource("commissions", endpoint="/commissions", skip=(
            (("one_of", "$status", "denied", "rejected"), "denied on FirstPromoter: its sale earns nothing"),), rules=(
            _payment(("concat", "firstpromoter-sale-", "$id"), "$referral.uid|referral.id|referral_id",
                     "$sale_amount", "$currency", "$created_at"),
            _paid_elsewhere("FirstPromoter", "$id", "$promoter.id|promoter_id", "$amount", "$currency",
                            "$paid_at|updated_at|created_at", ("one_of", "$is_paid", "true")),
        )),
        Resource("payouts", endpoint="/payouts", skip=(NOT_IMPORTED_PAYOUT,), rules=()),
    ),
)

TOLT = Platform(
    "tolt", api_base="https://api.tolt.com/v1", auth="bearer", paging="cursor",
    resources=(
        Resource("partners", endpoint="/partners", rules=_partner(
            "Tolt", "$id", ("first", "$company_name", ("join", "$first_name", "$last_name"), "$email"), "$email",
            "$created_at", ("one_of", "$status", "active", "approved"))),
        Resource("customers", endpoint="/customers", skip=(
            (("not", "$partner_id|partner.id"), "no partner: not a partner's customer"),),
            rules=_customer("$id", "$partner_id|partner.id", "$email", "$name", "$created_at")),
        Resource("transactions", endpoint="/transactions", skip=(
            (("one_of", "$type|status", "refund", "refunded"), "a refund names no payment it refunds"),),
            rules=(_payment("$id", "$customer_id|customer.id", "$amount", "$currency", "$created_at"),)),
        Resource("commissions", endpoint="/commissions", rules=(
            _paid_elsewhere("Tolt", "$id", "$partner_id|partner.id", "$amount", "$currency", "$updated_at|created_at",
                            ("equals", "$status", "paid")),)),
    ),
)

PLATFORMS = {p.name: p for p in (REWARDFUL, PARTNERSTACK, FIRSTPROMOTER, TOLT)}
