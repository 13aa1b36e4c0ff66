"""Statement and payout events (month close)."""

from __future__ import annotations
