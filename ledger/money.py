"""Exact money: Decimal amounts rounded half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

import iso4217

# ISO 4217 currencies that are money, with their minor unit (digits after the point).
# Codes without a minor unit (gold, silver, SDR, the test and "no currency" codes)
# are not money the ledger can pay out.
_MINOR_UNITS = {c.code: c.exponent for c in iso4217.Currency if c.exponent is not None and c.code not in ("XTS", "XXX")}
CURRENCIES = frozenset(_MINOR_UNITS)

# Every amount stays below this: far above any real payment, far below where decimal
# arithmetic at 28 significant digits would lose a cent.
MAX_AMOUNT = Decimal("1e15")

ZERO = Decimal("0")


@cache
def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2))


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round once, half-up, to the currency's minor unit (0.005 USD -> 0.01)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def zero(currency: str) -> Decimal:
    return round_money(ZERO, currency)
