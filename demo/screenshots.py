"""``make screenshots``: a PNG of every dashboard, taken in Debian's chromium from a real
``ledger serve`` on the demo database, into ``docs/screenshots/`` (the README shows them).

``python -m demo.screenshots [--db sqlite:///demo.db] [--out docs/screenshots]``. It signs
in each role with a token made for the run and revoked after it."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.http.server import serving
from ledger.calendar import add_months, month_end, period_of

CHROMIUM = "/usr/lib/chromium/chromium"
VIEWPORT = {"width": 1280, "height": 900}
MAX_HEIGHT = 2200  # long lists are cut here: the picture shows the page, not every row


def scenes(ledger: Ledger) -> list[tuple[str, str | None, str | None, str]]:
    """(file name, role, partner, path) of each picture, on partners the demo data makes
    interesting: a referral partner with commission due, and a reseller."""
    ledger.read_models.catch_up()
    due = ledger.listings.payouts_due(program="referral-tiers", limit=1).items
    partner = due[0]["partner_id"] if due else ledger.listings.partners(state="approved", limit=1).items[0]["partner_id"]
    reseller = _a_reseller(ledger) or partner
    program = ledger.queries.partner(partner)["program_id"]
    last = ledger.queries.periods(program)["last_closed"] or ""
    year_to = f"from={period_of(add_months(month_end(last), -11))}&to={last}" if last else ""  # the demo's history ends before today
    return [
        ("signin", None, None, "/signin"),
        ("partner-dashboard", "partner", partner, f"/partners/{partner}?{year_to}"),
        ("partner-resale", "partner", reseller, f"/partners/{reseller}/resale"),
        ("apply", None, None, f"/apply/{program}"),
        ("admin-applications", "admin", None, "/admin/applications"),
        ("admin-partners", "admin", None, "/admin/partners"),
        ("admin-partner", "admin", None, f"/admin/partners/{partner}"),
        ("admin-program", "admin", None, f"/admin/programs/{program}"),
        ("admin-holds", "admin", None, "/admin/holds"),
        ("finance-months", "finance", None, "/finance"),
        ("finance-statements", "finance", None, f"/finance/statements?period={last}"),
        ("finance-payouts", "finance", None, "/finance/payouts"),
        ("audit-trail", "auditor", None, f"/audit?partner={partner}"),
        ("audit-snapshots", "auditor", None, "/audit/snapshots"),
        ("audit-verify", "auditor", None, "/audit/verify"),
    ]


def _a_reseller(ledger: Ledger) -> str | None:
    for item in ledger.listings.partners(program="refer-resell", state="approved", limit=200).items:
        customers = ledger.listings.customers(partner=item["partner_id"], limit=50).items
        if any(c.get("channel") == "resell" for c in customers):
            return str(item["partner_id"])
    return None


@contextmanager
def tokens(ledger: Ledger) -> Iterator[Callable[[str, str | None], str]]:
    """Yields ``token_for(role, partner)``: a token made once per (role, partner) the
    scenes need; every one is revoked when the pictures are taken."""
    made: dict[tuple[str, str | None], tuple[str, str]] = {}

    def token_for(role: str, partner: str | None) -> str:
        if (role, partner) not in made:
            credential, secret = ledger.access.issue("token", role, partner_id=partner, label="make screenshots")
            made[(role, partner)] = (credential.credential_id, secret)
        return made[(role, partner)][1]

    try:
        yield token_for
    finally:
        for credential_id, _ in made.values():
            ledger.access.revoke(credential_id)


def take(database_url: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    ledger = bootstrap(database_url=database_url)
    written = []
    try:
        pictures = scenes(ledger)
        with tokens(ledger) as token_for, serving(database_url) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            for name, role, partner, path in pictures:
                target = out / f"{name}.png"
                _picture(browser, base, token_for(role, partner) if role else None, path, target)
                written.append(target)
                print(f"{target}  ({path})")
            browser.close()
    finally:
        ledger.close()
    return written


def _picture(browser: Browser, base: str, token: str | None, path: str, target: Path) -> None:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    page = context.new_page()
    if token:
        page.goto(f"{base}/signin")
        page.fill("#token", token)
        page.click('form[action="/signin"] button')  # the token form (the page also has the e-mail one)
        page.wait_for_load_state()
    page.goto(f"{base}{path}")
    page.wait_for_load_state("networkidle")
    height = min(int(page.evaluate("document.documentElement.scrollHeight")), MAX_HEIGHT)
    page.screenshot(path=str(target), full_page=True, clip={"x": 0, "y": 0, "width": VIEWPORT["width"], "height": height})
    context.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="demo.screenshots")
    parser.add_argument("--db", default="sqlite:///demo.db")
    parser.add_argument("--out", default="docs/screenshots")
    args = parser.parse_args()
    take(args.db, Path(args.out))


if __name__ == "__main__":
    main()
