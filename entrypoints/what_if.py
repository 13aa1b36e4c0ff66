"""``ledger what-if PROGRAM --terms-patch FILE``: a program's history under proposed
terms, computed in memory (``replay.what_if``), nothing recorded. The finance console's
what-if page calls ``run_what_if`` too."""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from entrypoints.bootstrap import Ledger
from entrypoints.output import print_json, print_table
from entrypoints.progress import progress
from entrypoints.progress import wanted as progress_wanted
from events.program import Terms
from ledger.errors import CommandRejected, Problem
from projections.queries import NotFound
from replay.what_if import WhatIfReport, what_if

Command = Callable[[Ledger, argparse.Namespace], int]
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
PARTNER_COLUMNS = ("partner_id", "currency", "issued", "proposed", "difference", "status_issued", "status_proposed")
MONEY = ("issued", "proposed", "difference")


def run_what_if(
    ledger: Ledger, program_id: str, patch: Any, *, start: str | None = None, end: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> WhatIfReport:
    """The what-if, or ``CommandRejected`` naming every bad field (the patch checked the
    way ``change_program_terms`` checks it, against the terms in force now)."""
    from commands.handlers.programs import patched_terms  # the commands' side, only when asked

    problems = _window_problems(start, end)
    if not isinstance(patch, dict):
        problems.append(Problem("invalid", "a terms patch is a JSON object (RFC 7396 merge patch)", "terms_patch"))
    if problems:
        raise CommandRejected.of(problems)
    try:
        in_force = Terms.model_validate(ledger.queries.terms(program_id))
    except NotFound:
        raise NotFound(f"program {program_id!r} does not exist", "program") from None
    patched_terms(in_force, patch)  # refused here, naming every field, before the log is read
    return what_if(ledger.store, program_id, patch, lambda terms: patched_terms(terms, patch),
                   start=start, end=end, progress=progress)


def _window_problems(start: str | None, end: str | None) -> list[Problem]:
    problems = [Problem("invalid", f"{name} is a month, YYYY-MM, not {value!r}", name)
                for name, value in (("from", start), ("to", end)) if value is not None and not _PERIOD.match(value)]
    if not problems and start and end and start > end:
        problems.append(Problem("invalid", f"from {start} is after to {end}", "from"))
    return problems


def add_parsers(sub: Any) -> dict[str, Command]:
    parser = sub.add_parser("what-if", help="a program's history under proposed terms, in memory: nothing is recorded")
    parser.add_argument("program")
    parser.add_argument("--terms-patch", required=True, metavar="FILE",
                        help="a JSON merge patch of the terms in force, as change_program_terms takes (- for stdin)")
    parser.add_argument("--from", dest="start", metavar="YYYY-MM", help="first month counted (default: the beginning)")
    parser.add_argument("--to", dest="end", metavar="YYYY-MM", help="last month counted (default: now); statuses at its end")
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print JSON")
    shape.add_argument("--csv", action="store_true", help="print the per-partner rows as CSV")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return {"what-if": cmd_what_if}


def cmd_what_if(ledger: Ledger, args: argparse.Namespace) -> int:
    try:
        patch = _read_patch(args.terms_patch)
        with progress("reading the log", ledger.store.max_position(), unit="events",
                      enabled=progress_wanted(args.quiet or args.json or args.csv)) as advance:
            report = run_what_if(ledger, args.program, patch, start=args.start, end=args.end, progress=advance)
    except CommandRejected as refused:
        print(json.dumps({"ok": False, "error": refused.as_dict(), "errors": [p.as_dict() for p in refused.problems]}),
              file=sys.stderr)
        return 2
    if args.json:
        print_json(report.as_dict())
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(PARTNER_COLUMNS)
        writer.writerows([row[c] for c in PARTNER_COLUMNS] for row in report.partner_rows())
    else:
        _print(report)
    return 0


def _read_patch(file: str) -> Any:
    try:
        text = sys.stdin.read() if file == "-" else open(file, encoding="utf-8").read()  # noqa: SIM115
        return json.loads(text)
    except OSError as error:
        raise CommandRejected("not_found", str(error), "terms_patch") from None
    except ValueError as error:
        raise CommandRejected("invalid", f"the terms patch is not JSON: {error}", "terms_patch") from None


def _print(report: WhatIfReport) -> None:
    window = f"{report.start or 'the beginning'} to {report.end or datetime.now(UTC).strftime('%Y-%m')}"
    print_table(("currency", *MONEY), [[c, f.issued, f.proposed, f.difference] for c, f in report.totals().items()],
                title=f"What-if {report.program_id}, {window}", numeric=MONEY,
                note=f"terms patch {json.dumps(report.patch)}: computed in memory, nothing recorded")
    print_table(PARTNER_COLUMNS, [[row[c] for c in PARTNER_COLUMNS] for row in report.partner_rows()],
                title="Partners", numeric=MONEY)
    print_table(("period", "currency", *MONEY), [[r["period"], r["currency"], *(r[c] for c in MONEY)] for r in report.month_rows()],
                title="Months", numeric=MONEY)
