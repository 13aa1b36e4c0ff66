"""The ``ledger`` command line: arguments to a command or a query, through the bus or
the queries of ``entrypoints.bootstrap``, rendered as JSON or a table."""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from importlib import metadata
from typing import IO, TYPE_CHECKING, Any

from entrypoints import referrals_cli
from entrypoints import webhooks as webhooks_cli
from entrypoints import what_if as what_if_cli
from entrypoints.bootstrap import Ledger, bootstrap
from entrypoints.http import cli as http_cli
from entrypoints.importers import cli as import_cli
from entrypoints.logging import configure_logging
from entrypoints.output import print_json, print_record, print_table
from entrypoints.progress import progress
from entrypoints.progress import wanted as progress_wanted
from entrypoints.settings import SettingsError, load_settings
from ledger.calendar import parse_moment
from projections.catalog import LiveReadModels
from projections.listings import (
    APPLICATION_STATES,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    PARTNER_STATES,
    STATUSES,
    BadListing,
    Listings,
    Page,
    every,
)
from projections.money import CLAWED_BACK, DEDUCTED, PAID
from projections.queries import MoneyEffect, NotFound, Queries
from projections.reports import Reports
from replay.integrity import ChainReport
from replay.snapshots import Snapshot, SnapshotStore
from replay.verify import replay

if TYPE_CHECKING:  # the commands' side is imported where a command needs it (``Ledger.bus``)
    from commands.bus import MessageBus
    from commands.parsing import Sourced


def _moment(text: str) -> datetime:
    """The argument type of ``--as-of``, ``--known-at`` and ``--on``."""
    try:
        return parse_moment(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date or time: {text!r}") from None


def _expected_head(text: str) -> tuple[int, str]:
    position, _, head = text.partition(":")
    if not position.isdigit() or int(position) < 1 or len(head) != 64:
        raise argparse.ArgumentTypeError(f"give POSITION:HEAD as printed by ledger verify, not {text!r}")
    return int(position), head.lower()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ledger", description="Event-sourced commission ledger.")
    parser.add_argument("--version", action="version", version=f"ledger {_version()}")
    parser.add_argument("--db", help="database URL (default: $LEDGER_DATABASE_URL, else sqlite:///./ledger.db)")
    sub = parser.add_subparsers(dest="command", required=True)

    commands = sub.add_parser("commands", help="the command reference: every command type, or one type's fields and example")
    commands.add_argument("type", nargs="?", help="a command type, e.g. record_payment")
    commands.add_argument("--json", action="store_true", help="print JSON")

    apply = sub.add_parser("apply", help="apply JSONL commands from FILE or - (stdin)")
    apply.add_argument("file")
    apply.add_argument("--batch-size", type=int, default=500)
    apply.add_argument("--quiet", action="store_true", help="print only rejected commands (and no progress bar)")

    def query(name: str, help_: str, *, partner: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        if partner:
            p.add_argument("partner")
        p.add_argument("--json", action="store_true", help="print JSON")
        return p

    balance = query("balance", "a partner's commission balance per currency")
    balance.add_argument("--as-of", type=_moment, help="effective (business) time")
    balance.add_argument("--known-at", type=_moment, help="recorded time: what the ledger knew then")
    status = query("status", "active / at risk / locked")
    status.add_argument("--on", type=_moment, help="date to evaluate (default now)")
    status.add_argument("--known-at", type=_moment)
    partner = query("partner", "a partner's record (personal data masked)")
    partner.add_argument("--known-at", type=_moment)
    audit = query("audit", "every event about a partner or a customer", partner=False)
    audit.add_argument("partner", nargs="?")
    audit.add_argument("--customer")
    audit.add_argument("--as-of", type=_moment)
    audit.add_argument("--known-at", type=_moment)
    statement = query("statement", "a partner's issued statement for a period")
    statement.add_argument("--period", required=True, help="YYYY-MM")
    statement.add_argument("--as-of", type=_moment)
    statement.add_argument("--known-at", type=_moment, help="as the ledger knew it then")
    resale = query("resale", "a reseller's resale month by month (not_reported where a month has none)")
    resale.add_argument("--on", type=_moment, help="months ended by this date (default now)")
    periods = query("periods", "a program's closed months and the next one to close", partner=False)
    periods.add_argument("program")
    periods.add_argument("--known-at", type=_moment)
    _list_parser(sub)
    payout = sub.add_parser("payout", help="record a payout (the record_payout command, without writing JSON)")
    payout.add_argument("partner")
    payout.add_argument("--amount", required=True, help="how much was paid, a decimal (e.g. 120.00)")
    payout.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
    payout.add_argument("--statement", help="the statement paid (default: the partner's latest with money due)")
    payout.add_argument("--payout-id", help="your id of the payment, e.g. the bank transfer's (default: derived)")
    replay = sub.add_parser("replay", help="rebuild every read model from the log (into a scratch area)")
    replay.add_argument("--known-at", type=_moment, help="only events recorded by then")
    replay.add_argument("--verify", action="store_true", help="diff against live read models, statements, snapshots")
    replay.add_argument("--json", action="store_true", help="print JSON")
    replay.add_argument("--quiet", action="store_true", help="no progress bar")
    snapshot = sub.add_parser("snapshot", help="immutable snapshots of every read model for auditors")
    snap = snapshot.add_subparsers(dest="action", required=True)
    take = snap.add_parser("take", help="freeze every partner's figures now")
    take.add_argument("--label")
    listed = snap.add_parser("list", help="every snapshot, oldest first")
    show = snap.add_parser("show", help="a snapshot's frozen figures")
    show.add_argument("snapshot_id")
    show.add_argument("--partner")
    for p in (take, listed, show):
        p.add_argument("--json", action="store_true", help="print JSON")
    verify = sub.add_parser("verify", help="recompute the hash chain sealing the log")
    verify.add_argument("--expect", type=_expected_head, metavar="POSITION:HEAD", help="a head recorded at an earlier audit")
    verify.add_argument("--json", action="store_true", help="print JSON")
    project = sub.add_parser("project", help="bring the read models up to date")
    project.add_argument("--follow", action="store_true", help="keep following the log")
    project.add_argument("--interval", type=float, default=1.0)
    project.add_argument("--json", action="store_true", help="print JSON")
    project.add_argument("--quiet", action="store_true", help="no progress bar")
    relay = sub.add_parser("relay", help="publish the log to Kafka (settings: docs/kafka.md)")
    relay.add_argument("--once", action="store_true", help="publish what is in the log, then exit")
    mail = sub.add_parser("mail", aliases=["outbox"],
                          help="send the outbox's e-mails (invites, sign-in links, notices); `ledger serve` runs it too")
    mail.add_argument("--once", action="store_true", help="send what is due now, then exit")
    mail.add_argument("--status", action="store_true", help="print the outbox's counts and latest mails, send nothing")
    mail.add_argument("--interval", type=float, default=1.0, help="how often a following worker looks for new mail")
    consume = sub.add_parser("consume", help="apply billing's commands from Kafka (settings: docs/kafka.md)")
    consume.add_argument("--once", action="store_true", help="drain what is on the topic, then exit")
    _COMMANDS.update(http_cli.add_parsers(sub))
    _COMMANDS.update(what_if_cli.add_parsers(sub))
    _COMMANDS.update(import_cli.add_parsers(sub))
    _COMMANDS.update(referrals_cli.add_parsers(sub))
    _COMMANDS.update(webhooks_cli.add_parsers(sub))
    return parser


def _list_parser(sub: Any) -> None:
    listing = sub.add_parser("list", help="list partners, applications, statements, payouts due, holds or programs")
    kinds = listing.add_subparsers(dest="kind", required=True)

    def kind(name: str, help_: str) -> argparse.ArgumentParser:
        p = kinds.add_parser(name, help=help_)
        p.add_argument("--json", action="store_true", help="print JSON: {\"items\": [...], \"next\": CURSOR}")
        p.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help=f"at most this many (1..{MAX_LIMIT})")
        p.add_argument("--after", metavar="CURSOR", help="continue after the page that returned this cursor")
        p.add_argument("--all", action="store_true", help="every page, not just the first")
        return p

    partners = kind("partners", "partners in id order with state, level and status")
    partners.add_argument("--status", choices=STATUSES, help="status on --on (approved partners only)")
    partners.add_argument("--level", help="level on --on")
    partners.add_argument("--program")
    partners.add_argument("--state", choices=PARTNER_STATES)
    partners.add_argument("--on", type=_moment, help="date status and level are evaluated on (default now)")
    partners.add_argument("--q", help="partners whose id contains this text")
    applications = kind("applications", "applications oldest first (the review queue)")
    applications.add_argument("--state", choices=[*APPLICATION_STATES, "all"], default="pending")
    applications.add_argument("--program")
    statements = kind("statements", "a month's issued statements")
    statements.add_argument("--period", required=True, help="YYYY-MM")
    statements.add_argument("--program")
    payouts = kind("payouts-due", "partners with an amount due, and the statement to pay it against")
    payouts.add_argument("--program")
    holds = kind("holds", "commission on hold for review")
    holds.add_argument("--program")
    holds.add_argument("--partner")
    programs = kinds.add_parser("programs", help="every program: preset, levels, partners, months closed and to close")
    programs.add_argument("--json", action="store_true", help="print JSON: {\"items\": [...], \"next\": null}")


def _version() -> str:
    try:
        return metadata.version("commission-ledger")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except BrokenPipeError:
        # The reader went away (``ledger list partners | head -1``): stop quietly, and
        # point stdout at /dev/null so the interpreter's final flush does not fail too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a command ended by SIGPIPE


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "commands":  # the reference needs no database
        return cmd_commands(args)
    try:
        settings = load_settings(**({"database_url": args.db} if args.db else {}))
    except SettingsError as error:
        return _refuse("settings", str(error), None)
    configure_logging(settings.log_level)
    ledger = bootstrap(settings)
    # What start-up made (modules, models, validators) lives as long as the process:
    # the collector need not walk it again on every full pass of a long run.
    gc.freeze()
    try:
        return _COMMANDS[args.command](ledger, args)
    except NotFound as missing:
        return _refuse("not_found", str(missing), missing.field)
    except BadListing as bad:
        return _refuse("invalid", str(bad), bad.field)
    finally:
        ledger.close()
        gc.unfreeze()  # a caller in the same process (tests) collects as before


def _refuse(code: str, message: str, field: str | None) -> int:
    """A refusal on standard error, the same shape as a refused command's."""
    print(json.dumps({"ok": False, "error": {"code": code, "message": message, "field": field}}), file=sys.stderr)
    return 2


class _CommandFile:
    """The non-blank lines of a JSONL file (or of stdin, spooled to a temporary file
    first), each keyed by the SHA-256 of the whole file and its line number: applying
    the same file again, after an interruption or at the same time as another
    process, records no command twice, even those without an idempotency key."""

    def __init__(self, file: str) -> None:
        if file == "-":
            self._stream: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
            shutil.copyfileobj(sys.stdin.buffer, self._stream)
        else:
            self._stream = open(file, "rb")  # noqa: SIM115
        digest = hashlib.sha256()
        self.lines = 0  # non-blank lines: the commands it holds, counted in the same pass
        self._stream.seek(0)
        for line in self._stream:
            digest.update(line)
            self.lines += bool(line.strip())
        self.key_prefix = f"apply:{digest.hexdigest()[:32]}"
        self.numbers: deque[int] = deque()  # line numbers handed out and not yet answered

    def messages(self) -> Iterator[Sourced]:
        from commands.parsing import Sourced

        self._stream.seek(0)
        with self._stream:
            for number, line in enumerate(self._stream, 1):
                if line.strip():
                    self.numbers.append(number)
                    yield Sourced(line, f"{self.key_prefix}:{number}")


def cmd_apply(bus: MessageBus, args: argparse.Namespace) -> int:
    """Every result names its line (``"line": N``); a line that cannot be read is
    refused on its own and the others still apply."""
    rejected = 0
    out = sys.stdout
    try:
        source = _CommandFile(args.file)
    except OSError as error:
        return _refuse("not_found", str(error), "file")
    total = None if args.file == "-" else source.lines
    with progress("applying", total, unit="commands", enabled=progress_wanted(args.quiet)) as advance:
        for result in bus.handle_many(source.messages(), source="cli", batch_size=args.batch_size):
            result = {"line": source.numbers.popleft(), **result}
            rejected += not result["ok"]
            advance(1)
            if not args.quiet or not result["ok"]:
                out.write(json.dumps(result) + "\n")
    return 1 if rejected else 0


def cmd_commands(args: argparse.Namespace) -> int:
    from commands import reference

    if args.type is None:
        catalogue = reference.catalogue()
        if args.json:
            print(json.dumps([{"type": doc.type, "summary": doc.summary} for doc in catalogue], indent=2))
            return 0
        width = max(len(doc.type) for doc in catalogue)
        for doc in catalogue:
            print(f"{doc.type:<{width}}  {doc.summary}")
        return 0
    try:
        doc = reference.describe(args.type)
    except reference.UnknownCommand as unknown:
        return _refuse("unknown_type", str(unknown), "type")
    if args.json:
        print(json.dumps(doc.as_dict(), indent=2))
        return 0
    print(f"{doc.type}: {doc.summary}\n")
    rows = [(f.name, f.type, "required" if f.required else "optional", f.description) for f in doc.fields]
    rows += [(f.name, f.type, "optional", "(every command) " + f.description) for f in reference.common_fields()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3])
    print(f"\nExample (the examples are one story: applied in reference order, each one succeeds):\n{json.dumps(doc.example)}")
    return 0


def cmd_balance(queries: Queries, args: argparse.Namespace) -> int:
    balance = queries.balance(args.partner, args.as_of, args.known_at)
    if args.json:
        print_json(balance)
        return 0
    currencies = balance["currencies"]
    columns: list[Mapping[str, object]] = list(currencies.values())  # indexed by a figure's name, not copied
    names = list(columns[0]) if columns else []
    print_table(["figure", *currencies], [[name, *(column[name] for column in columns)] for name in names],
                title=f"Balance of {args.partner}", numeric=tuple(currencies),
                note=None if currencies else "no money has moved for this partner")
    return 0


def cmd_status(queries: Queries, args: argparse.Namespace) -> int:
    return _show(dict(queries.status(args.partner, args.on, args.known_at)), args, f"Status of {args.partner}")


def cmd_partner(queries: Queries, args: argparse.Namespace) -> int:
    # The operator at the server's shell acts as an admin: it sees the private code.
    record = queries.partner(args.partner, args.known_at, with_code=True)
    return _show(record, args, f"Partner {args.partner}")


def cmd_periods(queries: Queries, args: argparse.Namespace) -> int:
    periods = queries.periods(args.program, args.known_at)
    if args.json:
        print_json(periods)
        return 0
    rows = [[c["period"], c["closed_at"], c["statements"]] for c in periods["closed"]]
    note = next_to_close_text(periods)
    print_table(("period", "closed at", "statements"), rows, title=f"Closed months of {args.program}",
                numeric=("statements",), note=note)
    return 0


def next_to_close_text(periods: dict[str, Any]) -> str:
    """What a program can close next, in words that stay right for months long past."""
    ready, month = periods["ready_to_close"], periods["next"]
    if not ready:
        return f"next to close: {month}, once it has ended (after {periods['next_can_close_after'][:10]})"
    if len(ready) == 1:
        return f"next to close: {month} (it has ended: it can be closed now)"
    return f"next to close: {month}; {len(ready)} ended months can be closed now, in order ({ready[0]} to {ready[-1]})"


def cmd_resale(queries: Queries, args: argparse.Namespace) -> int:
    resale = queries.resale(args.partner, args.on)
    if args.json:
        print_json(resale)
        return 0
    rows = []
    for month in resale["months"]:
        for currency, f in month["currencies"].items() or [("-", {})]:
            rows.append([month["period"], month["state"], currency, f.get("payments"), f.get("list_price"),
                         f.get("margin"), f.get("wholesale")])
    print_table(("month", "report", "currency", "payments", "list price", "margin", "wholesale owed"), rows,
                title=f"Resale of {args.partner}", numeric=("payments", "list price", "margin", "wholesale owed"),
                note=None if rows else "no resold customers")
    return 0


def cmd_audit(queries: Queries, args: argparse.Namespace) -> int:
    if bool(args.partner) == bool(args.customer):
        return _refuse("invalid", "give a PARTNER or --customer ID (one of them)", "partner")
    trail = queries.audit(partner_id=args.partner, customer_id=args.customer, as_of=args.as_of, known_at=args.known_at)
    if args.json:
        print_json(trail)
        return 0
    rows = [
        [e["position"], e["effective_at"][:19], e["recorded_at"][:19], e["actor"], e["what"],
         "; ".join(_money_effect(m) for m in e["money"]), e["reason"]]
        for e in trail
    ]
    print_table(("#", "effective", "recorded", "actor", "what happened", "money", "reason"), rows,
                title=f"Audit trail of {args.partner or args.customer}", numeric=("#",))
    return 0


def _money_effect(line: MoneyEffect) -> str:
    """A money line as its effect on the partner's balance: ``refund -20.00 USD``."""
    amount = line["amount"]
    if line["bucket"] in _TAKES_AWAY and not amount.startswith("-"):
        amount = f"-{amount}"
    return f"{line['kind']} {amount} {line['currency']}"


_TAKES_AWAY = (CLAWED_BACK, DEDUCTED, PAID)


def cmd_statement(queries: Queries, args: argparse.Namespace) -> int:
    statements = queries.statements(args.partner, args.period, args.as_of, args.known_at)
    if not statements:
        raise NotFound(f"no statement for {args.partner} in {args.period}", "period")
    if args.json:
        print_json(statements[0] if len(statements) == 1 else statements)
        return 0
    for document in statements:
        rows = [["", "opening", document["opening"], "", "", "", "", ""]]
        rows += [[line["effective_at"][:10], line["kind"], line["amount"], line["source_id"], line["customer_id"] or "",
                  line["payment_id"] or "", line["base"] or "", line["rate"] or ""] for line in document["lines"]]
        rows += [["", "closing", document["closing"], "", "", "", "", ""], ["", "due", document["due"], "", "", "", "", ""]]
        reasons = document.get("carried_forward_because", [])
        print_table(("date", "line", document["currency"], "source", "customer", "payment", "base", "rate"), rows,
                    numeric=(document["currency"], "base", "rate"),
                    title=f"Statement {document['statement_id']} (issued {document['issued_at'][:19]})",
                    note="carried forward: " + "; ".join(reasons) if reasons else None)
    return 0


# What each listing shows as a table: (column, item key), money columns right-aligned.
_LIST_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "partners": [("partner", "partner_id"), ("program", "program_id"), ("company", "company"), ("state", "state"),
                 ("level", "level"), ("status", "status"), ("applied", "applied_at"), ("terminated", "terminated_at")],
    "applications": [("partner", "partner_id"), ("program", "program_id"), ("applied", "applied_at"),
                     ("state", "state"), ("company", "company"), ("country", "country"),
                     ("business", "business_type"), ("team", "team_size"), ("clients", "client_count")],
    "statements": [("statement", "statement_id"), ("partner", "partner_id"), ("currency", "currency"),
                   ("opening", "opening"), ("lines", "lines"), ("closing", "closing"), ("due", "due"),
                   ("not due because", "carried_forward_because")],
    "payouts-due": [("partner", "partner_id"), ("program", "program_id"), ("currency", "currency"),
                    ("due", "due"), ("statements", "statement_ids")],
    "holds": [("partner", "partner_id"), ("customer", "customer_id"), ("payment", "payment_id"),
              ("currency", "currency"), ("amount", "amount"), ("since", "since"), ("reason", "reason")],
}
_NUMERIC = ("opening", "lines", "closing", "due", "amount", "team", "clients")


def _listing(listings: Listings, args: argparse.Namespace) -> Any:
    """The listing function of ``args.kind``, with its filters bound."""
    common = {"limit": args.limit}
    if args.kind == "partners":
        return lambda after: listings.partners(status=args.status, level=args.level, program=args.program, state=args.state,
                                               on=args.on, q=args.q, after=after, **common)
    if args.kind == "applications":
        state = None if args.state == "all" else args.state
        return lambda after: listings.applications(state=state, program=args.program, after=after, **common)
    if args.kind == "statements":
        return lambda after: listings.statements(period=args.period, program=args.program, after=after, **common)
    if args.kind == "payouts-due":
        return lambda after: listings.payouts_due(program=args.program, after=after, **common)
    return lambda after: listings.holds(program=args.program, partner=args.partner, after=after, **common)


def cmd_list(listings: Listings, reports: Reports, queries: Queries, args: argparse.Namespace) -> int:
    if args.kind == "programs":
        return _list_programs(reports, queries, args)
    fetch = _listing(listings, args)
    page: Page = fetch(args.after)
    items = list(page.items)
    while args.all and page.next:
        page = fetch(page.next)
        items += page.items
    if args.json:
        print_json({"items": items, "next": page.next})
        return 0
    columns = _LIST_COLUMNS[args.kind]
    note = f"more: --after {page.next}" if page.next else None
    print_table([c for c, _ in columns], [[item[k] for _, k in columns] for item in items],
                numeric=_NUMERIC, note=note)
    return 0


def _list_programs(reports: Reports, queries: Queries, args: argparse.Namespace) -> int:
    """Every program (a handful: one page), with what finance and admins ask of it first."""
    items = []
    for program_id in reports.program_ids():
        program, periods = reports.program(program_id), queries.periods(program_id)
        items.append({
            "program_id": program_id, "preset": program["preset"], "currency": program["terms"]["currency"],
            "levels": list(program["terms"]["levels"]), "promo_left": (program["promo"] or {}).get("left"),
            "partners": program["partners"], "last_closed": periods["last_closed"], "next_to_close": periods["next"],
            "ready_to_close": len(periods["ready_to_close"]),
        })
    if args.json:
        print_json({"items": items, "next": None})
        return 0
    rows = [[i["program_id"], i["preset"] or "custom", i["currency"], ", ".join(i["levels"]), i["promo_left"],
             i["partners"].get("approved", 0), i["partners"].get("applied", 0), i["last_closed"], i["next_to_close"],
             i["ready_to_close"]] for i in items]
    print_table(("program", "preset", "currency", "levels", "promo left", "approved", "applied", "last closed",
                 "next to close", "ready to close"), rows,
                numeric=("promo left", "approved", "applied", "ready to close"), note=None if items else "no program defined yet")
    return 0


def cmd_payout(bus: MessageBus, listings: Listings, args: argparse.Namespace) -> int:
    """``ledger payout P --amount A --currency C``: ``record_payout`` without writing JSON.
    The statement defaults to the partner's latest one with money due in that currency,
    and the payout id to one derived from them, so running the same line twice pays once."""
    statement = args.statement or _statement_due(listings, args.partner, args.currency)
    if statement is None:
        return _refuse("nothing_due", f"nothing is due to {args.partner} in {args.currency}: no statement to pay", "amount")
    payout_id = args.payout_id or f"cli:{statement.replace('/', ':')}:{args.amount}"  # an id in the id grammar
    command = {"type": "record_payout", "payout_id": payout_id, "partner_id": args.partner, "amount": args.amount,
               "currency": args.currency, "statement_ids": [statement]}
    [result] = bus.handle_many([command], source="cli")
    print(json.dumps(result))
    return 0 if result["ok"] else 1


def _statement_due(listings: Listings, partner_id: str, currency: str) -> str | None:
    """The statement a payout of ``partner_id`` in ``currency`` pays: its latest with money due."""
    for item in every(lambda after: listings.payouts_due(limit=MAX_LIMIT, after=after)):
        if (item["partner_id"], item["currency"]) == (partner_id, currency):
            return str(item["statement_ids"][-1])
    return None


def cmd_replay(ledger: Ledger, args: argparse.Namespace) -> int:
    total = ledger.log_head()
    with progress("replaying", total, unit="events", enabled=progress_wanted(args.quiet)) as advance:
        report = replay(ledger.db, ledger.store, ledger.read_models, ledger.snapshots(),
                        known_at=args.known_at, verify=args.verify, progress=advance)
    document = report.as_dict()
    if args.json:
        print_json(document)
    else:
        checked = ", ".join(f"{name} {count}" for name, count in report.checked.items())
        print_record({"ok": report.ok, "events": report.events, "position": report.position, "checked": checked or None,
                      "differences": document["difference_count"]}, title="Replay")
        if report.differences:
            print_table(("partner", "field", "live", "rebuilt", "where", "what"),
                        [[d["partner_id"], d["field"], d["live"], d["rebuilt"], d["where"], d["message"]]
                         for d in document["differences"]],
                        title="Differences", numeric=("live", "rebuilt"))
    return 0 if report.ok else 1


def cmd_snapshot(snapshots: SnapshotStore, take: Callable[[str | None], Snapshot | None], args: argparse.Namespace) -> int:
    if args.action == "take":
        snapshot = take(args.label)
        if snapshot is None:
            print("read models moved on while the snapshot was taken (a writer caught up): take it again", file=sys.stderr)
            return 1
        _show(snapshot.as_dict(), args, "Snapshot taken")
    elif args.action == "list":
        listed = [s.as_dict() for s in snapshots.list()]
        if args.json:
            print_json(listed)
        else:
            columns = ("snapshot_id", "label", "position", "taken_at", "hash")
            print_table(columns, [[s[c] for c in columns] for s in listed], title="Snapshots", numeric=("position",))
    else:
        found = snapshots.get(args.snapshot_id)
        if found is None:
            raise NotFound(f"snapshot {args.snapshot_id!r} does not exist", "snapshot_id")
        documents = list(snapshots.documents(args.snapshot_id, args.partner))
        if args.partner and not documents:
            raise NotFound(f"partner {args.partner!r} is not in snapshot {args.snapshot_id}", "partner")
        if args.json:
            print_json({**found.as_dict(), "partners": documents})
            return 0
        print_record(found.as_dict(), title=f"Snapshot {args.snapshot_id}")
        rows = [[d["partner_id"], currency, figures["lifetime_commission"], figures["paid"], figures["balance"],
                 figures["due"], d["onboarded_total"]]
                for d in documents for currency, figures in (d["currencies"].items() or [("-", _NO_FIGURES)])]
        print_table(("partner", "currency", "lifetime", "paid", "balance", "due", "onboarded"), rows,
                    numeric=("lifetime", "paid", "balance", "due", "onboarded"))
    return 0


_NO_FIGURES = {"lifetime_commission": None, "paid": None, "balance": None, "due": None}


def cmd_verify(check: Callable[[tuple[int, str] | None], ChainReport], args: argparse.Namespace) -> int:
    report = check(args.expect)
    _show(report.as_dict(), args, "Hash chain")
    return 0 if report.ok else 1


def cmd_project(read_models: LiveReadModels, log_head: Callable[[], int], args: argparse.Namespace) -> int:
    behind = log_head() - min(read_models.positions().values())
    with progress("projecting", behind, unit="events", enabled=progress_wanted(args.quiet)) as advance:
        applied = read_models.catch_up(progress=advance)
    if not args.follow:
        _show({"applied": applied, "positions": read_models.positions()}, args, "Read models")
        return 0
    while True:
        if not read_models.catch_up():
            time.sleep(args.interval)


def cmd_relay(ledger: Ledger, args: argparse.Namespace) -> int:
    from entrypoints.relay import run_relay

    return run_relay(ledger, once=args.once)


def cmd_mail(ledger: Ledger, args: argparse.Namespace) -> int:
    from entrypoints.mail import CONSUMER, run_mail

    if args.status:
        print_json({"to": ledger.mailer().describe(), "outbox": ledger.outbox.summary(CONSUMER),
                    "latest": ledger.outbox.messages(CONSUMER, limit=20)})
        return 0
    return run_mail(ledger.mailroom, once=args.once, interval=args.interval)


def cmd_consume(ledger: Ledger, args: argparse.Namespace) -> int:
    from entrypoints.consumer import run_consumer

    return run_consumer(ledger, once=args.once)


def _show(document: dict[str, Any], args: argparse.Namespace, title: str | None = None) -> int:
    if args.json:
        print_json(document)
    else:
        print_record(document, title=title)
    return 0


# What each command is handed: only the parts of the Ledger it uses. The processes
# that wire the whole of it (a replay, the relay, the Kafka consumer, the mail worker)
# take the Ledger.
_COMMANDS: dict[str, Callable[[Ledger, argparse.Namespace], int]] = {
    "apply": lambda ledger, args: cmd_apply(ledger.bus, args),
    "balance": lambda ledger, args: cmd_balance(ledger.queries, args),
    "status": lambda ledger, args: cmd_status(ledger.queries, args),
    "partner": lambda ledger, args: cmd_partner(ledger.queries, args),
    "audit": lambda ledger, args: cmd_audit(ledger.queries, args),
    "statement": lambda ledger, args: cmd_statement(ledger.queries, args),
    "project": lambda ledger, args: cmd_project(ledger.read_models, ledger.log_head, args),
    "list": lambda ledger, args: cmd_list(ledger.listings, ledger.reports, ledger.queries, args),
    "payout": lambda ledger, args: cmd_payout(ledger.bus, ledger.listings, args),
    "periods": lambda ledger, args: cmd_periods(ledger.queries, args),
    "resale": lambda ledger, args: cmd_resale(ledger.queries, args),
    "replay": cmd_replay,
    "snapshot": lambda ledger, args: cmd_snapshot(ledger.snapshots(), ledger.take_snapshot, args),
    "verify": lambda ledger, args: cmd_verify(ledger.verify_chain, args),
    "relay": cmd_relay,
    "consume": cmd_consume,
    "mail": cmd_mail,
    "outbox": cmd_mail,
}

if __name__ == "__main__":
    sys.exit(main())
