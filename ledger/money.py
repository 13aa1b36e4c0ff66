"""Exact money: Decimal amounts rounded half-up to the currency's minor unit."""

from __future__ import annotations

import re
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

# How an amount is written wherever one enters the ledger (commands from files, HTTP,
# Kafka, forms, importers): ASCII digits, at most one "." with digits on both sides, and
# a leading "-" only where a negative makes sense. No exponent, "+", spaces, underscores
# or other scripts' digits, all of which Python's Decimal would accept.
AMOUNT_TEXT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def parse_amount(value: object, *, signed: bool = False) -> Decimal:
    """An amount read strictly: a string in the grammar above, an integer, or a Decimal
    (a JSON number, read exactly) whose plain form is in it (``1E+1`` is not); never a
    float or a bool. Raises ValueError saying the rule."""
    if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
        text = str(value)
        if AMOUNT_TEXT.fullmatch(text) and (signed or not text.startswith("-")):
            return Decimal(text)
    sign, banned = ("an optional leading '-', ", "'+'") if signed else ("", "sign")
    shown = str(value) if isinstance(value, int | Decimal) else repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    raise ValueError(f"write an amount as ASCII digits with {sign}at most one '.' and digits on both sides, e.g. 99.00 "
                     f"(no {banned}, exponent, spaces, underscores or other digits); got {shown}")


@cache
def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2))


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in whole minor units of its currency (cut toward zero, as read models store it)."""
    return int(amount / minor_unit(currency))


def from_minor(units: int, currency: str) -> Decimal:
    return Decimal(int(units)) * minor_unit(currency)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round once, half-up, to the currency's minor unit (0.005 USD -> 0.01)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


@cache
def zero(currency: str) -> Decimal:
    return round_money(ZERO, currency)
