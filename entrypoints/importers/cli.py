"""``ledger import rewardful|partnerstack|firstpromoter|tolt FILE... [--program P]
[--dry-run] [--api-key K]``: registers itself on the main parser (``add_parsers``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from entrypoints.bootstrap import Ledger
from entrypoints.importers.mapping import Context, MappingError
from entrypoints.importers.platforms import PLATFORMS
from entrypoints.importers.run import FileReport, import_fetched, import_files
from entrypoints.output import print_json, print_table
from projections.queries import NotFound

Command = Callable[[Ledger, argparse.Namespace], int]


def add_parsers(sub: Any) -> dict[str, Command]:
    parser = sub.add_parser("import", help="move in from Rewardful, PartnerStack, FirstPromoter or Tolt (re-running is a no-op)")
    parser.add_argument("platform", choices=sorted(PLATFORMS))
    parser.add_argument("files", nargs="*", metavar="FILE", help=(
        "saved API answers (JSON) or CSV exports, named for what they hold, e.g. affiliates.json, commissions.csv"))
    parser.add_argument("--program", help="the program the partners join (default: the ledger's only program)")
    parser.add_argument("--dry-run", action="store_true", help="decide every command and report, recording nothing")
    parser.add_argument("--api-key", help="fetch from the platform's API instead of files (never logged)")
    parser.add_argument("--api-url", help="the API's base URL (default: the platform's)")
    parser.add_argument("--revenue-kind", default="subscription",
                        help="the payment line kind imported sales get (default subscription; the program's "
                             "commissionable_revenue decides whether it earns)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    return {"import": cmd_import}


def cmd_import(ledger: Ledger, args: argparse.Namespace) -> int:
    from entrypoints.importers.fetch import FetchError, fetch_all  # httpx, only for this command

    platform = PLATFORMS[args.platform]
    try:
        ctx = _context(ledger, args)
        if args.api_key:
            fetched = fetch_all(platform, args.api_key, args.api_url)
            reports = import_fetched(ledger, platform, fetched, ctx, dry_run=args.dry_run)
        elif args.files:
            reports = import_files(ledger, platform, [Path(f) for f in args.files], ctx, dry_run=args.dry_run)
        else:
            return _refuse("invalid", "give the files to import, or --api-key to fetch them", "files")
    except NotFound as missing:
        return _refuse("not_found", str(missing), "program")
    except (MappingError, ValueError) as bad:
        return _refuse("invalid", str(bad), "files")
    except (OSError, FetchError) as failed:
        return _refuse("unavailable", str(failed), "api_url" if args.api_key else "files")
    _print(reports, args)
    return 1 if any(report.refused for report in reports) else 0


def _context(ledger: Ledger, args: argparse.Namespace) -> Context:
    program = args.program
    if program is None:
        programs = ledger.reports.program_ids()
        if len(programs) != 1:
            raise NotFound(f"give --program: the ledger has {len(programs)} programs ({', '.join(programs) or 'none'})")
        program = programs[0]
    try:
        terms = ledger.queries.terms(program)
    except NotFound:
        raise NotFound(f"program {program!r} does not exist") from None
    return Context(program, terms["currency"], args.revenue_kind)


def _refuse(code: str, message: str, field: str) -> int:
    print(json.dumps({"ok": False, "error": {"code": code, "message": message, "field": field}}), file=sys.stderr)
    return 2


def _print(reports: list[FileReport], args: argparse.Namespace) -> None:
    if args.json:
        print_json({"dry_run": args.dry_run, "files": [report.as_dict() for report in reports]})
        return
    counts = ("rows", "mapped", "skipped", "refused", "events")
    print_table(("source", "resource", *counts),
                [[r.source, r.resource, r.rows, r.mapped, len(r.skipped), len(r.refused), r.events_recorded] for r in reports],
                title="Import (dry run: nothing recorded)" if args.dry_run else "Import", numeric=counts)
    refused = [[r.source, x["row"], x.get("command", "-"), x["error"]["code"], x["error"]["message"]] for r in reports for x in r.refused]
    if refused:
        print_table(("source", "row", "command", "code", "why"), refused, title="Refused")
    skipped: dict[tuple[str, str], int] = {}
    for report in reports:
        for item in report.skipped:
            skipped[(report.source, item["reason"])] = skipped.get((report.source, item["reason"]), 0) + 1
    if skipped:
        print_table(("source", "reason", "rows"), [[source, reason, n] for (source, reason), n in skipped.items()],
                    title="Skipped", numeric=("rows",))
