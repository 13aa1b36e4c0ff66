"""Payment files finance hands to its bank or to PayPal: a SEPA credit transfer
(ISO 20022 ``pain.001.001.03``, made and checked against its XSD by ``sepaxml``, each
IBAN checked by ``schwifty``) for EUR bank payouts, and a PayPal Payouts CSV per currency.

A file records nothing. Each row carries its payout id (the transfer's end-to-end id,
PayPal's customer id): once the money went out, finance records the payouts by those
ids, so recording them twice pays nobody twice."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer

SEPA_SCHEMA = "pain.001.001.03"
SEPA_CURRENCY = "EUR"
BANK_METHODS = frozenset({"iban", "bank_transfer", "sepa"})  # paid by bank transfer to an IBAN
PAYPAL_METHODS = frozenset({"paypal"})
SEPA, PAYPAL = "sepa", "paypal"


@dataclass(frozen=True)
class Payer:
    """Whose account the transfers leave from (``LEDGER_PAYER_*`` settings)."""

    name: str
    iban: str
    bic: str = ""


@dataclass(frozen=True)
class Payment:
    """One payout in a file: whom, how much, against which statement, and where to."""

    payout_id: str
    partner_id: str
    currency: str
    amount: Decimal
    statement_id: str
    method: str
    holder: str
    account: str
    bic: str | None = None


def batch_id(rows: Iterable[tuple[str, str, str, str]], on: date) -> str:
    """A file's id from its rows (partner, currency, amount, statement) and the day: the
    same rows give the same ids, so making the files again changes nothing."""
    digest = hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()[:6]
    return f"PF{on:%Y%m%d}-{digest}"


def payout_id(batch: str, number: int) -> str:
    """``PF20261202-3fa2c1-001``: at most 30 characters, what PayPal's customer id and
    SEPA's end-to-end id (35) both take."""
    return f"{batch}-{number:03d}"


def default_reference(day: date) -> str:
    """A payment run's reference when finance gives none: the day's, ``payout-2024-02-09``."""
    return f"payout-{day:%Y-%m-%d}"


def reference_payout_id(reference: str, partner_id: str, currency: str) -> str:
    """The id of a payout recorded under a payment run's reference rather than from a
    payment file: ``REFERENCE:partner:currency`` (one per partner, currency and run, as a
    bank transfer's reference would be; it follows the id grammar)."""
    return f"{reference}:{partner_id}:{currency}"


def file_for(method: str, currency: str, account: str) -> tuple[str | None, str | None]:
    """Which file pays a payout (``sepa``, ``paypal``) or why none can."""
    if method in BANK_METHODS:
        if currency != SEPA_CURRENCY:
            return None, f"a SEPA transfer pays EUR only, not {currency}: pay it by other means"
        problem = iban_problem(account)
        return (SEPA, None) if problem is None else (None, problem)
    if method in PAYPAL_METHODS:
        return (PAYPAL, None) if "@" in account else (None, "the PayPal account is not an e-mail address")
    return None, f"no payment file pays by {method.replace('_', ' ')}: pay it by other means"


def iban_problem(account: str) -> str | None:
    try:
        iban = IBAN(account)
    except (SchwiftyException, ValueError) as invalid:
        return f"the account is not a valid IBAN ({invalid})"
    if not iban.in_sepa_zone:
        return f"the IBAN's country ({iban.country_code}) is outside the SEPA zone"
    return None


def sepa_credit_transfer(payer: Payer, payments: list[Payment], execution: date) -> bytes:
    """The pain.001 file, validated against the XSD before it is handed out."""
    config = {"name": payer.name, "IBAN": IBAN(payer.iban).compact, "batch": True, "currency": SEPA_CURRENCY}
    if payer.bic:
        config["BIC"] = payer.bic
    transfer = SepaTransfer(config, schema=SEPA_SCHEMA, clean=True)
    for payment in payments:
        transfer.add_payment({
            "name": payment.holder, "IBAN": IBAN(payment.account).compact,
            "amount": int(payment.amount * 100), "execution_date": execution,
            "description": f"Commission {payment.statement_id}", "endtoend_id": payment.payout_id,
            **({"BIC": payment.bic} if payment.bic else {}),
        })
    return transfer.export(validate=True)


def paypal_payouts_csv(payments: list[Payment]) -> str:
    """PayPal Payouts' upload file (one currency): no header; recipient, amount,
    currency, customer id (the payout id), note to the recipient, wallet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for payment in payments:
        writer.writerow([payment.account, str(payment.amount), payment.currency, payment.payout_id,
                         f"Commission {payment.statement_id}", "PAYPAL"])
    return out.getvalue()
