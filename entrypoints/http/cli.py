"""The HTTP server's subcommands of ``ledger``: ``serve`` and ``token``. They register
themselves on the main parser (``add_parsers``) so the CLI module stays small."""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from entrypoints.bootstrap import Credentials, Ledger
from entrypoints.http.access import Role
from projections.queries import Queries

Command = Callable[[Ledger, argparse.Namespace], int]
MAX_DAYS = 36_500  # a token's longest life: a hundred years


def add_parsers(sub: Any) -> dict[str, Command]:
    """Add ``serve`` and ``token`` to the ``ledger`` parser; returns their handlers."""
    serve = sub.add_parser("serve", help="the HTTP API and dashboards (FastAPI on uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (each bootstraps its own ledger)")
    serve.add_argument("--no-mail", action="store_true", help="do not send mail from this process (run `ledger mail` instead)")
    serve.add_argument("--no-webhooks", action="store_true",
                       help="do not deliver webhooks from this process (run `ledger webhooks deliver --follow` instead)")

    token = sub.add_parser("token", help="API tokens and one-time sign-in links (only hashes are stored)")
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new token, printed once")
    invite = actions.add_parser("invite", help="a one-time sign-in link for a browser")
    for parser in (create, invite):
        parser.add_argument("--role", required=True, choices=[r.value for r in Role])
        parser.add_argument("--partner", help="the partner a partner token is bound to")
        parser.add_argument("--label", help="what the token is for (shown by `token list`)")
        parser.add_argument("--json", action="store_true", help="print JSON")
    create.add_argument("--expires", type=positive_days, metavar="DAYS",
                        help=f"expire after DAYS days, a positive number up to {MAX_DAYS} (default: never)")
    invite.add_argument("--base-url", default="http://127.0.0.1:8000", help="where the server is reached")
    listing = actions.add_parser("list", help="tokens and invites (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    revoke = actions.add_parser("revoke", help="revoke a token or invite (and its browser sessions)")
    revoke.add_argument("token_id")
    return {"serve": cmd_serve, "token": lambda ledger, args: cmd_token(ledger.queries, ledger.credentials, args)}


def positive_days(text: str) -> float:
    """``--expires``: a positive, finite number of days (0 would mean "never" and a
    negative one a token born expired), at most ``MAX_DAYS``."""
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not 0 < days <= MAX_DAYS:  # NaN fails every comparison
        raise argparse.ArgumentTypeError(f"must be a positive number of days up to {MAX_DAYS}, got {text!r}")
    return days


def cmd_serve(ledger: Ledger, args: argparse.Namespace) -> int:
    from entrypoints.http.server import serve

    print(f"serving on http://{args.host}:{args.port}/ (API reference: /docs)", file=sys.stderr)
    if not args.no_mail:
        from entrypoints.mail import start_beside_server

        print(f"mail: sent by this process to {ledger.mailer().describe()}", file=sys.stderr)
        start_beside_server(ledger.settings, threading.Event())  # a daemon thread: it ends with the server
    if not args.no_webhooks:
        from entrypoints.webhooks import start_beside_server as deliver_webhooks

        deliver_webhooks(ledger.settings, threading.Event())  # likewise: signed deliveries to the endpoints admins registered
    ledger.close()  # each worker bootstraps its own
    serve(ledger.settings, host=args.host, port=args.port, workers=args.workers)
    return 0


def cmd_token(queries: Queries, credentials: Credentials, args: argparse.Namespace) -> int:
    if args.action in ("create", "invite"):
        problem = _binding_problem(args.role, args.partner)
        if problem:
            print(json.dumps({"ok": False, "error": {"code": "invalid", "message": problem, "field": "partner"}}), file=sys.stderr)
            return 2
        if args.partner:
            queries.partner(args.partner)  # not_found unless the partner exists
    if args.action == "create":
        return _create(credentials, args)
    if args.action == "invite":
        from entrypoints.http.auth import invite_link  # FastAPI only loads when needed

        link = invite_link(credentials, args.base_url, Role(args.role), args.partner, args.label)
        print(json.dumps(link) if args.json else link["url"])
        return 0
    if args.action == "list":
        return _list(credentials, args)
    if not credentials.access.revoke(args.token_id):
        print(json.dumps({"ok": False, "error": {"code": "not_found", "message": f"no live token {args.token_id!r}"}}), file=sys.stderr)
        return 2
    print(json.dumps({"ok": True, "revoked": args.token_id}))
    return 0


def _binding_problem(role: str, partner: str | None) -> str | None:
    if role == Role.PARTNER and not partner:
        return "a partner token needs --partner"
    if role != Role.PARTNER and partner:
        return f"--partner binds partner tokens only, not {role}"
    return None


def _create(credentials: Credentials, args: argparse.Namespace) -> int:
    lifetime = timedelta(days=args.expires) if args.expires is not None else None
    credential, secret = credentials.access.issue("token", args.role, partner_id=args.partner, label=args.label, lifetime=lifetime)
    if args.json:
        print(json.dumps({**credential.as_dict(), "token": secret}))
    else:
        print(f"token {credential.credential_id} ({args.role}); shown once, store it now:\n{secret}")
    return 0


def _list(credentials: Credentials, args: argparse.Namespace) -> int:
    listed = [c.as_dict() for c in credentials.access.credentials()]
    if args.json:
        print(json.dumps(listed, indent=2))
        return 0
    for c in listed:
        state = "revoked" if c["revoked_at"] else "used" if c["used_at"] else "live"
        print(f"{c['token_id']}  {c['kind']:<6} {c['role']:<8} {c['partner_id'] or '-':<16} {state:<8} "
              f"expires {c['expires_at'] or 'never':<32} {c['label'] or ''}")
    return 0
