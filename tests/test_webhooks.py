"""Signed webhooks: a real HTTP receiver on loopback gets signed ``payment.recorded`` and
``statement.issued`` deliveries that the Standard Webhooks reference library
(``standardwebhooks``) accepts; killed mid-way, it gets the rest after its downtime,
nothing lost and nothing sent unsigned; only Kafka's public fields travel."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from entrypoints.webhooks import BACKOFF, add_endpoint, send_again, worker
from ledger.errors import CommandRejected
from tests import builders as b
from tests.builders import TERMS, close
from tests.conftest import Driver


class Receiver:
    """An HTTP endpoint on loopback that keeps every request it gets; ``stop()`` kills it
    (connections are refused), ``start()`` brings it back on the same port; with
    ``die_after`` it dies by itself after that many requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], str]] = []
        self.die_after: int | None = None
        self.port = 0
        self.server: ThreadingHTTPServer | None = None
        self.dead = False  # killed: answers nothing, even while the server is shutting down

    def start(self) -> None:
        receiver = self
        self.dead = False

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if receiver.dead:  # a request accepted in the shutdown's last poll gets no answer
                    self.close_connection = True
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()
                if receiver.die_after is not None and len(receiver.requests) >= receiver.die_after:
                    receiver.die_after = None
                    receiver.dead = True
                    threading.Thread(target=receiver.stop).start()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.start()
    yield found
    found.stop()


def world(driver: Driver) -> None:
    """A payment in January, January closed (a statement issued), and a customer's sign-up
    carrying an e-mail (sealed: it must never travel)."""
    driver.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1", email="cfo@globex.example"),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.payment("pay2", "c1", {"subscription": "300.00"}, at="2025-01-20T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    )


def verified(secret: str, requests: list[tuple[dict[str, str], str]]) -> list[dict[str, Any]]:
    """Every request checked by the reference library (it raises on a bad or missing
    signature); the bodies."""
    hook = Webhook(secret)
    return [hook.verify(body, headers) for headers, body in requests]


def later(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def test_deliveries_are_signed_as_the_standard_says_and_carry_only_public_fields(sqlite_ledger: Driver, receiver: Receiver) -> None:
    endpoint, secret = add_endpoint(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, receiver.url, ["payment.recorded", "statement.issued", "customer.signed_up"])
    assert secret.startswith("whsec_")
    world(sqlite_ledger)
    done = worker(sqlite_ledger.app).run_once()
    assert done.sent == len(receiver.requests) > 0
    bodies = verified(secret, receiver.requests)
    types = sorted(body["type"] for body in bodies)
    assert types.count("payment.recorded") == 2 and "statement.issued" in types and "customer.signed_up" in types
    payment = next(body for body in bodies if body["type"] == "payment.recorded")
    assert payment["data"]["payload"]["earning"]["partner_id"] == "p1"
    text = json.dumps(bodies)
    assert "cfo@globex.example" not in text and "sealed:" not in text and "email_hash" not in text
    for headers, body in receiver.requests:  # a forged body or another secret is refused by the reference verifier
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body[:-1] + ', "forged": true}', headers)
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=").verify(body, headers)
    ids = [headers["webhook-id"] for headers, _ in receiver.requests]
    assert len(set(ids)) == len(ids)
    assert worker(sqlite_ledger.app).run_once().sent == 0  # nothing twice
    log = sqlite_ledger.app.webhooks.deliveries(endpoint.endpoint_id)
    assert {d["state"] for d in log} == {"sent"} and len(log) == len(ids)


def test_a_receiver_killed_midway_gets_the_rest_after_its_downtime(ledger: Driver, receiver: Receiver) -> None:
    endpoint, secret = add_endpoint(ledger.app.webhooks, ledger.app.outbox, receiver.url, ["*"])
    world(ledger)
    receiver.die_after = 2
    first = worker(ledger.app).run_once()
    assert first.sent == 2 and first.retried > 0 and receiver.server is None
    pending = [d for d in ledger.app.webhooks.deliveries(endpoint.endpoint_id) if d["state"] == "pending"]
    assert len(pending) == first.retried and all(d["last_error"] for d in pending)
    assert worker(ledger.app).run_once().sent == 0  # not due yet: backing off
    receiver.start()  # back, on the same address
    second = worker(ledger.app).run_once(now=later(1))
    assert second.sent == first.retried and second.retried == 0
    bodies = verified(secret, receiver.requests)  # every request that ever arrived was signed
    expected = {d["webhook_id"] for d in ledger.app.webhooks.deliveries(endpoint.endpoint_id)}
    assert {headers["webhook-id"] for headers, _ in receiver.requests} == expected  # nothing lost
    assert {"payment.recorded", "statement.issued"} <= {body["type"] for body in bodies}
    assert {d["state"] for d in ledger.app.webhooks.deliveries(endpoint.endpoint_id)} == {"sent"}


def test_retries_go_on_for_more_than_a_day_then_give_up(sqlite_ledger: Driver, receiver: Receiver) -> None:
    waits = [min(BACKOFF.longest, BACKOFF.first * 2 ** (n - 1)) for n in range(1, BACKOFF.attempts)]
    assert sum(waits, timedelta()) >= timedelta(days=1)
    endpoint, _ = add_endpoint(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, receiver.url, ["payment.recorded"])
    receiver.stop()
    sqlite_ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"))
    runner, at = worker(sqlite_ledger.app), datetime.now(UTC)
    for _ in range(BACKOFF.attempts):
        runner.run_once(now=at)
        at += BACKOFF.longest * 2
    [delivery] = sqlite_ledger.app.webhooks.deliveries(endpoint.endpoint_id)
    assert (delivery["state"], delivery["attempts"]) == ("failed", BACKOFF.attempts)
    assert receiver.requests == []


def test_send_again_delivers_the_same_body_with_the_same_webhook_id(sqlite_ledger: Driver, receiver: Receiver) -> None:
    endpoint, secret = add_endpoint(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, receiver.url, ["payment.recorded"])
    sqlite_ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"))
    worker(sqlite_ledger.app).run_once()
    [delivery] = sqlite_ledger.app.webhooks.deliveries(endpoint.endpoint_id)
    assert send_again(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, endpoint.endpoint_id, delivery["key"])
    assert not send_again(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, endpoint.endpoint_id, "no-such-key")
    assert worker(sqlite_ledger.app).run_once().sent == 1
    first, again = receiver.requests
    assert first[1] == again[1] and first[0]["webhook-id"] == again[0]["webhook-id"]
    verified(secret, receiver.requests)
    assert len(sqlite_ledger.app.webhooks.deliveries(endpoint.endpoint_id)) == 2  # the log shows both


def test_a_removed_endpoint_gets_nothing_more_and_bad_registrations_are_refused(sqlite_ledger: Driver, receiver: Receiver) -> None:
    endpoint, _ = add_endpoint(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, receiver.url, ["payment.recorded"])
    sqlite_ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"))
    receiver.stop()
    assert worker(sqlite_ledger.app).run_once().retried == 1
    assert sqlite_ledger.app.webhooks.disable(endpoint.endpoint_id)
    receiver.start()
    done = worker(sqlite_ledger.app).run_once(now=later(1))  # the waiting delivery is dropped, not sent
    assert (done.sent, done.skipped, receiver.requests) == (0, 1, [])
    sqlite_ledger.ok(b.payment("pay2", "c1", at="2025-02-06T00:00:00Z"))
    assert worker(sqlite_ledger.app).run_once(now=later(1)).derived == 0  # nothing new for it either
    with pytest.raises(CommandRejected) as refused:
        add_endpoint(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, "ftp://example.com", ["payment.nope"])
    assert [p.field for p in refused.value.problems] == ["url", "event_types"]


def test_the_secret_is_shown_once_sealed_at_rest_and_never_logged(sqlite_ledger: Driver, receiver: Receiver,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out = sqlite_ledger.cli("webhooks", "add", receiver.url, "--events", "payment.recorded", "--json")
    assert code == 0
    created = json.loads(out)
    secret = created["secret"]
    code, out = sqlite_ledger.cli("webhooks", "list", "--json")
    assert secret not in out and json.loads(out)[0]["endpoint_id"] == created["endpoint_id"]
    stored = sqlite_ledger.app.db.fetch_all("SELECT secret FROM ledger_webhook_endpoints")
    assert stored[0][0].startswith("sealed:") and secret not in stored[0][0]
    sqlite_ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"))
    code, out = sqlite_ledger.cli("webhooks", "deliver", "--json")
    assert code == 0 and json.loads(out)["sent"] == 1
    outbox = sqlite_ledger.app.db.fetch_all("SELECT data FROM ledger_outbox")
    assert secret not in json.dumps(outbox) and secret not in capsys.readouterr().err
    verified(secret, receiver.requests)


# -- the admin console ---------------------------------------------------------------


def test_an_admin_registers_an_endpoint_reads_its_log_and_sends_one_again(http: Any, receiver: Receiver) -> None:
    http.sign_in("admin")
    page = http.get("/admin/webhooks")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    created = http.post("/admin/webhooks", data={"csrf_token": token, "url": receiver.url,
                                                 "event_types": ["payment.recorded", "statement.issued"]})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    secret = created.text.split('id="webhook-secret" aria-label="Signing secret" readonly value="', 1)[1].split('"', 1)[0]
    assert secret.startswith("whsec_") and secret not in http.get("/admin/webhooks").text  # shown once
    [endpoint] = http.driver.app.webhooks.all()
    world(http.driver)
    worker(http.driver.app).run_once()
    verified(secret, receiver.requests)
    log_page = http.get(f"/admin/webhooks/{endpoint.endpoint_id}")
    assert log_page.status_code == 200 and log_page.text.count('data-state="sent"') == len(receiver.requests)
    key = log_page.text.split('name="key" value="', 1)[1].split('"', 1)[0]
    again = http.post(f"/admin/webhooks/{endpoint.endpoint_id}/send-again", data={"csrf_token": token, "key": key})
    assert again.status_code == 303
    assert worker(http.driver.app).run_once().sent == 1
    bad = http.post("/admin/webhooks", data={"csrf_token": token, "url": "nope", "event_types": []})
    assert bad.status_code == 422 and "url</strong>" in bad.text and "event_types</strong>" in bad.text


def test_ledger_serve_delivers_webhooks_beside_the_http_server(sqlite_ledger: Driver, receiver: Receiver) -> None:
    from entrypoints.http.server import serving

    _, secret = add_endpoint(sqlite_ledger.app.webhooks, sqlite_ledger.app.outbox, receiver.url, ["payment.recorded"])
    with serving(sqlite_ledger.url):
        sqlite_ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1"), b.payment("pay1", "c1"))
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while not receiver.requests and datetime.now(UTC) < deadline:  # the worker's own pace, not a timing check
            threading.Event().wait(0.2)
    [body] = verified(secret, receiver.requests)
    assert body["data"]["payload"]["payment_id"] == "pay1"
