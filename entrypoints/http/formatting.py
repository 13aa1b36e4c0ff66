"""How pages show money and rates; every template has ``money`` and ``percent`` (Jinja
globals, see ``templating``), and Python code imports them from here or ``pages.common``.
One number format everywhere: thousands grouped, the currency's own decimals."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ledger.money import minor_unit


def amount_text(amount: str | Decimal, currency: str, *, signed: bool = False) -> str:
    """``1234.5`` USD -> ``1,234.50``: exact (Decimal, never float), thousands grouped,
    at least the currency's decimals (JPY none, USD two); more are shown as they are, never
    rounded away. ``signed`` writes ``+`` before a positive change."""
    value = Decimal(amount)
    unit = minor_unit(currency)
    if value.as_tuple().exponent > unit.as_tuple().exponent:  # type: ignore[operator]
        value = value.quantize(unit)
    return f"{value:+,}" if signed and value > 0 else f"{value:,}"


def money(amount: str | Decimal | None, currency: str, *, signed: bool = False) -> str:
    """``1234.5`` USD -> ``1,234.50 USD`` (see ``amount_text``); None -> ``—``."""
    if amount is None:
        return "—"
    return f"{amount_text(amount, currency, signed=signed)} {currency}"


def percent(rate: str | None) -> str:
    """A rate (a decimal fraction as text) as a percentage: "0.2" -> "20 %"."""
    if rate is None:
        return "—"
    try:
        value = Decimal(rate) * 100
    except InvalidOperation:
        return rate
    return f"{value.normalize():f} %"
