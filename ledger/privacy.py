"""Personal data in the domain: whose key seals a value, and how values are masked.

The keys themselves live outside the log (``adapters.vault``); forgetting a subject
destroys its key, after which its sealed fields read as ``FORGOTTEN``.
"""

from __future__ import annotations

FORGOTTEN = "[forgotten]"


def subject(kind: str, key: str) -> str:
    """Whose key seals a value: ``partner:<id>`` or ``customer:<id>``."""
    return f"{kind}:{key}"


def mask(value: str) -> str:
    """Show only the last characters (at most 4, at most a third): enough to recognise,
    useless to misuse."""
    keep = min(4, len(value) // 3)
    return "*" * (len(value) - keep) + (value[-keep:] if keep else "")
