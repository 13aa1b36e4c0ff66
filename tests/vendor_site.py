"""A stand-in for the seller's own website in browser tests: the landing page a referral
link sends visitors to (``/signup?ref=<link>``), whose sign-up form creates the account
and tells the ledger, as the seller's billing integration would: ``sign_up_customer``
with the ``ref`` it received as ``referral_link``, sent with a billing token."""

from __future__ import annotations

import html
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

SIGNUP_FORM = """<!doctype html><title>Sign up</title><h1>Try our product</h1>
<form method="post" action="/signup"><input type="hidden" name="ref" value="{ref}">
<label>Company <input name="company" required></label><label>E-mail <input name="email" type="email" required></label>
<button type="submit">Create my account</button></form>"""
WELCOME = "<!doctype html><title>Welcome</title><h1>Welcome aboard</h1><p>Your account {customer_id} is ready.</p>"


@contextmanager
def vendor_site(ledger_base: str, billing_token: str) -> Iterator[str]:
    """The site on a free loopback port; yields its base URL, stops it afterwards."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(ledger_base, billing_token))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _handler(ledger_base: str, billing_token: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            self._answer(200, SIGNUP_FORM.format(ref=html.escape(query.get("ref", [""])[0])))

        def do_POST(self) -> None:
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
            customer_id = f"acct-{uuid.uuid4().hex[:8]}"
            command: dict[str, Any] = {"type": "sign_up_customer", "customer_id": customer_id,
                                       "email": form["email"], "company": form["company"]}
            if form.get("ref"):
                command["referral_link"] = form["ref"]
            answer = httpx.post(f"{ledger_base}/v1/commands", json=command,
                                headers={"Authorization": f"Bearer {billing_token}"})
            if answer.status_code != 200:
                self._answer(502, f"the ledger refused the sign-up: {html.escape(answer.text)}")
                return
            self._answer(200, WELCOME.format(customer_id=customer_id))

        def _answer(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
            pass

    return Handler
