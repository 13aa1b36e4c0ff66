"""What the in-process page tests share: a browser's Accept header and the one-time
notice a page shows after a form."""

from __future__ import annotations

import re

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def notice(page: str) -> str:
    """The one-time notice a page shows after a form: ``"ok: ..."`` or ``"error: ..."``."""
    found = re.search(r'<p class="flash (\w+)"[^>]*>([^<]*)</p>', page)
    assert found, "no notice on the page"
    return f"{found.group(1)}: {found.group(2)}".replace("&#39;", "'")
