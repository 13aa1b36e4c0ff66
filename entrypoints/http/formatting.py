"""How pages show money and rates; every template has ``money`` and ``percent`` (Jinja
globals, see ``templating``), and Python code imports them from here or ``pages.common``."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def money(amount: str | Decimal, currency: str) -> str:
    """``1234.5`` USD -> ``1,234.50 USD``: exact (Decimal, never float), thousands grouped."""
    return f"{Decimal(amount):,} {currency}"


def percent(rate: str | None) -> str:
    """A rate (a decimal fraction as text) as a percentage: "0.2" -> "20 %"."""
    if rate is None:
        return "—"
    try:
        value = Decimal(rate) * 100
    except InvalidOperation:
        return rate
    return f"{value.normalize():f} %"
