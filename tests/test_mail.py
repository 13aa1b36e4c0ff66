"""E-mail from the outbox, received by a real SMTP server (aiosmtpd): the invite on
approval (a one-time link whose secret is never in the log nor kept once sent), the
rejection with its reason, the notices (statement issued, payout blocked by missing
paperwork, payout recorded, commission held) unless the partner turned them off,
"e-mail me a sign-in link" (the same answer for any address, rate-limited), SMTP
refusals, the folder without SMTP, and a worker killed mid-delivery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from entrypoints.bootstrap import bootstrap
from entrypoints.mail import CONSUMER, mail_worker, request_signin_link
from events.base import EventMeta
from events.statement import StatementIssued
from ledger import notices
from ledger.account import BELOW_MINIMUM, NO_TAX_FORM, NOT_POSITIVE, NOT_TRAINED
from ledger.aggregate import Envelope
from tests import builders as b
from tests.builders import TERMS, close
from tests.conftest import ROOT
from tests.smtp import body, link_in, smtp_server

P1 = "owner@p1.example"


def mail_to(driver, url: str) -> None:
    driver.app.settings = driver.app.settings.model_copy(update={
        "smtp_url": SecretStr(url), "http_public_url": "https://partners.example", "mail_from": "Ledger <ledger@acme.example>"})


@pytest.fixture
def smtp():
    with smtp_server() as found:
        yield found


@pytest.fixture
def inbox(ledger, smtp):
    """The SMTP server, the ledger's settings pointing at it."""
    mail_to(ledger, smtp[1])
    return smtp[0]


@pytest.fixture
def web(http, smtp):
    """The HTTP app on its ledger, mailing to the SMTP server: (http, ledger, inbox)."""
    mail_to(http.driver, smtp[1])
    return http, http.driver, smtp[0]


def send_all(ledger, now: datetime | None = None):
    return mail_worker(ledger.app.mailroom).run_once(now)


def outbox_states(ledger) -> Counter[str]:
    return Counter(m["state"] for m in ledger.app.outbox.messages(CONSUMER))


def everything_stored(ledger) -> str:
    """The log and the outbox as text: where no secret may be."""
    db = ledger.app.db
    rows = db.fetch_all(f"SELECT * FROM {db.events_table()}") + db.fetch_all("SELECT * FROM ledger_outbox")
    return json.dumps(rows, default=str)


def test_an_approved_partner_is_e_mailed_a_one_time_invite_and_a_rejected_one_the_reason(web):
    http, ledger, inbox = web
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), b.application("p2"),
              b.cmd("reject_application", partner_id="p2", reason="no clients in our market yet"))
    done = send_all(ledger)
    assert (done.sent, done.failed) == (2, 0)
    invite = inbox.one(P1, "approved")
    assert invite["From"] == "Ledger <ledger@acme.example>"
    link = link_in(invite)
    assert link.startswith("https://partners.example/invite/li_")
    secret = link.rsplit("/", 1)[1]
    assert secret not in everything_stored(ledger), "the secret is in neither the log nor, once sent, the outbox"
    assert "no clients in our market yet" in body(inbox.one("owner@p2.example", "application"))
    assert "/invite/" not in body(inbox.one("owner@p2.example", "application"))
    # The link signs p1 in, once.
    path = link.removeprefix("https://partners.example")
    assert http.post(path, headers={"Origin": "http://testserver"}).status_code == 303
    assert http.get("/v1/me").json()["partner_id"] == "p1"
    assert http.post(path, headers={"Origin": "http://testserver"}).status_code == 404
    assert send_all(ledger).sent == 0, "each mail once"


def notices_world(ledger, email: str = "cfo@globex.example") -> None:
    """p1 without a tax form earns 100.00 in January (a statement that cannot be paid
    yet), then a self-referred payment (held), then the tax form and a payout."""
    ledger.ok(
        b.program(terms=TERMS), *b.partner("p1"), *b.customer("c1", "p1", email=email),
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
        *b.customer("c2", "p1", at="2025-02-02T00:00:00Z", email="boss@p1.example"),
        b.payment("pay2", "c2", {"subscription": "300.00"}, at="2025-02-03T00:00:00Z"),
        b.cmd("submit_tax_form", partner_id="p1", form="W-9", at="2025-02-10T00:00:00Z"),
        close("2025-02", "2025-03-01T01:00:00Z"),
        b.payout("po1", "100.00", ["prog/p1/USD/2025-02"]),
    )


def test_the_notices_say_what_happened_with_the_figures(ledger, inbox):
    notices_world(ledger)
    send_all(ledger)
    subjects = sorted(m["Subject"] for m in inbox.to(P1))
    assert subjects == sorted([
        "Your partner application is approved: sign in",
        "Statement prog/p1/USD/2025-01 for 2025-01 is issued", "Your payout waits for paperwork",
        "Commission on pay2 held for review",
        "Statement prog/p1/USD/2025-02 for 2025-02 is issued",
        "Payout po1 recorded",
    ])
    blocked = body(inbox.one(P1, "paperwork"))
    assert "100.00 USD" in blocked and "no tax form on file" in blocked
    assert "possible self-referral" in body(inbox.one(P1, "held for review"))
    assert "100.00 USD" in body(inbox.one(P1, "Payout po1"))
    january = body(inbox.one(P1, "2025-01 is issued"))
    assert "https://partners.example/partners/p1" in january and "Turn notices off" in january


def test_a_partner_that_turned_notices_off_gets_none_but_still_its_sign_in_mails(ledger, inbox):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), b.cmd("set_notices", partner_id="p1", notices=False))
    notices_world_after_approval = [
        *b.customer("c1", "p1"), b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        close("2025-01", "2025-02-01T01:00:00Z"),
    ]
    ledger.ok(*notices_world_after_approval)
    assert request_signin_link(ledger.app.mailroom, P1) == 1
    done = send_all(ledger)
    assert sorted(m["Subject"] for m in inbox.to(P1)) == ["Your partner application is approved: sign in", "Your sign-in link"]
    assert done.skipped == 2  # the statement and its paperwork notice
    assert outbox_states(ledger) == Counter({"sent": 2, "skipped": 2})
    assert ledger.app.queries.partner("p1")["notices"] is False
    ledger.ok(b.cmd("set_notices", partner_id="p1", notices=True))
    assert ledger.app.queries.partner("p1")["notices"] is True


def test_a_sign_in_link_goes_only_to_a_known_address_works_once_and_expires_soon(ledger, inbox):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), b.application("p9", email="new@p9.example"))
    assert request_signin_link(ledger.app.mailroom, "nobody@nowhere.example") == 0
    assert request_signin_link(ledger.app.mailroom, "new@p9.example") == 0, "an applicant not approved has no dashboard"
    assert request_signin_link(ledger.app.mailroom, "  Owner@P1.example ") == 1, "case and spaces ignored"
    send_all(ledger)
    link = link_in(inbox.one(P1, "sign-in link"))
    secret = link.rsplit("/", 1)[1]
    credential = ledger.app.access.authenticate(secret, "invite")
    assert credential is not None and credential.partner_id == "p1" and credential.role == "partner"
    assert credential.expires_at is not None
    assert credential.expires_at - credential.created_at == timedelta(minutes=15)
    assert ledger.app.access.redeem_invite(secret) is not None
    assert ledger.app.access.redeem_invite(secret) is None, "single use"
    assert secret not in everything_stored(ledger)


def test_a_sign_in_link_follows_the_partners_new_address(ledger, inbox):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"),
              b.cmd("update_profile", partner_id="p1", contact_email="billing@p1.example"))
    assert request_signin_link(ledger.app.mailroom, P1) == 0, "the old address reaches nobody"
    assert request_signin_link(ledger.app.mailroom, "billing@p1.example") == 1
    send_all(ledger)
    assert link_in(inbox.one("billing@p1.example", "sign-in link"))


def test_an_address_reaches_the_partners_that_gave_it_last_within_a_batch_and_across(ledger):
    """The addresses view writes each partner's last address once per batch: what several
    events in one batch leave is what they would leave one by one."""
    reached = ledger.app.queries.partners_reached_at
    ledger.ok(b.program(terms=TERMS), *b.partner("p1", email="a@x.example"), *b.partner("p2", email="a@x.example"),
              b.cmd("update_profile", partner_id="p1", contact_email="b@x.example"),
              *b.partner("p3", email="c@x.example"), b.cmd("forget_partner", partner_id="p3", reason="erasure request"))
    assert (reached("a@x.example"), reached("b@x.example"), reached("c@x.example")) == (["p2"], ["p1"], [])
    ledger.ok(b.cmd("update_profile", partner_id="p2", contact_email="b@x.example"),
              b.cmd("forget_partner", partner_id="p1", reason="erasure request"))
    assert (reached("a@x.example"), reached("b@x.example")) == ([], ["p2"])
    assert ledger.cli_json("replay", "--verify")["ok"]


def test_sign_in_links_are_rate_limited_per_partner(ledger, inbox):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"))
    per_hour = ledger.app.settings.signin_links_per_hour
    asked = [request_signin_link(ledger.app.mailroom, P1) for _ in range(per_hour + 3)]
    assert asked == [1] * per_hour + [0, 0, 0]
    send_all(ledger)
    assert len([m for m in inbox.to(P1) if "sign-in link" in m["Subject"]]) == per_hour


def test_the_sign_in_page_answers_the_same_for_any_address(web):
    http, ledger, inbox = web
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"))
    answers = []
    for address in (P1, "nobody@nowhere.example"):
        form = {"email": address, "csrf_token": http.signin_csrf("/signin")}
        answer = http.client.post("/signin/email", data=form)
        assert answer.status_code == 200
        answers.append(answer.text.split('name="csrf_token"')[0])  # up to the forms' fresh tokens
    assert answers[0] == answers[1]
    assert "If that address belongs to a partner, a sign-in link is on its way" in answers[0]
    send_all(ledger)
    assert [m["Subject"] for m in inbox.received if "sign-in" in m["Subject"]] == ["Your sign-in link"]
    refused = http.client.post("/signin/email", data={"email": P1, "csrf_token": "forged"})
    assert refused.status_code == 403, "only the ledger's own form"


def test_smtp_refusals_retry_later_or_fail_for_good(ledger, inbox):
    inbox.refuse = {P1: "451 4.3.0 try again later", "owner@p2.example": "550 5.1.1 no such user"}
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.partner("p2"))
    done = send_all(ledger)
    assert (done.retried, done.failed, done.sent) == (1, 1, 0)
    errors = {m["recipient"]: (m["state"], m["last_error"]) for m in ledger.app.outbox.messages(CONSUMER)}
    assert errors["p2"][0] == "failed" and "550" in errors["p2"][1]
    assert errors["p1"][0] == "pending" and "451" in errors["p1"][1]
    inbox.refuse = {}
    assert send_all(ledger).sent == 0, "not before its backoff"
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert send_all(ledger, later).sent == 1
    [first] = inbox.to(P1)
    assert link_in(first)


def test_a_server_that_is_away_keeps_the_mail_for_later(ledger):
    ledger.app.settings = ledger.app.settings.model_copy(update={"smtp_url": SecretStr("smtp://127.0.0.1:9")})
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"))
    assert send_all(ledger).retried == 1
    assert outbox_states(ledger) == Counter({"pending": 1})


def test_without_smtp_mails_are_files_in_the_mail_folder_written_once_per_message(ledger, tmp_path):
    folder = tmp_path / "mail"
    ledger.app.settings = ledger.app.settings.model_copy(update={"smtp_url": None, "mail_dir": str(folder)})
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"), *b.partner("p2"))
    assert send_all(ledger).sent == 2
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    assert any(f"To: {P1}" in f.read_text() for f in files)
    assert ledger.app.mailer().describe() == str(folder.resolve())


def test_ledger_mail_once_sends_what_is_due_and_status_shows_the_outbox(ledger, tmp_path, monkeypatch):
    monkeypatch.setenv("LEDGER_MAIL_DIR", str(tmp_path / "mail"))
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"))
    code, out = ledger.cli("mail", "--once")
    assert code == 0, out
    sent = json.loads(out)
    assert (sent["sent"], sent["to"], sent["outbox"]["sent"]) == (1, str((tmp_path / "mail").resolve()), 1)
    code, out = ledger.cli("outbox", "--status")
    status = json.loads(out)
    assert status["outbox"]["pending"] == 0 and [m["kind"] for m in status["latest"]] == ["invite"]
    assert "/invite/" not in out


def test_mail_history_is_not_sent_when_mail_is_switched_on_for_an_old_ledger(ledger, inbox):
    ledger.ok(b.program(terms=TERMS), *b.partner("p1"))
    # As if the ledger existed before mail: no position tracked yet.
    with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
        cursor.execute("DELETE FROM ledger_outbox_tracking")
    again = bootstrap(database_url=ledger.url)
    try:
        assert again.outbox.position(CONSUMER) == ledger.event_count()
    finally:
        again.close()


# -- a worker killed mid-delivery ----------------------------------------------------------


def test_a_worker_killed_mid_delivery_loses_nothing_and_repeats_only_the_mail_in_flight(ledger_url):
    with smtp_server() as (inbox, url):
        env = {**os.environ, "LEDGER_DATABASE_URL": ledger_url, "LEDGER_SMTP_URL": url, "LEDGER_LOG_LEVEL": "ERROR"}
        setup = bootstrap(database_url=ledger_url)
        partners = [f"p{i}" for i in range(1, 7)]
        try:
            results = setup.bus.handle_many([b.program(terms=TERMS), *(c for p in partners for c in b.partner(p))])
            assert all(r["ok"] for r in results)
        finally:
            setup.close()
        inbox.hold_at = 3  # the third mail is received, then the worker is killed before it hears "250"
        worker = subprocess.Popen([sys.executable, "-m", "entrypoints.cli", "mail"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert inbox.holding.wait(60), "the worker never reached the third mail"
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        finally:
            if worker.poll() is None:
                worker.kill()
        inbox.release.set()
        # A new worker, once the dead one's lease has run out.
        restarted = bootstrap(database_url=ledger_url)
        try:
            restarted.settings = restarted.settings.model_copy(update={"smtp_url": SecretStr(url)})
            done = mail_worker(restarted.mailroom).run_once(datetime.now(UTC) + timedelta(minutes=5))
            assert done.failed == 0
            assert Counter(m["state"] for m in restarted.outbox.messages(CONSUMER)) == Counter({"sent": 6})
        finally:
            restarted.close()
    ids = Counter(m["Message-ID"] for m in inbox.received)
    assert sorted({m["To"] for m in inbox.received}) == sorted(f"owner@{p}.example" for p in partners), "nothing lost"
    assert len(ids) == 6 and sorted(ids.values()) == [1, 1, 1, 1, 1, 2], "only the mail in flight came twice"
    [twice] = [message_id for message_id, count in ids.items() if count == 2]
    first, second = (body(m) for m in inbox.received if m["Message-ID"] == twice)
    assert first == second, "the repeat carries the same invite link"


# -- which mails an event causes (pure) ------------------------------------------------------

REASONS = [NO_TAX_FORM, NOT_TRAINED, f"{BELOW_MINIMUM} (50.00 USD)", NOT_POSITIVE]


@given(reasons=st.sets(st.sampled_from(REASONS)), due=st.decimals(min_value=0, max_value=1000, places=2))
def test_a_statement_tells_of_blocked_paperwork_only_when_the_money_would_be_due(reasons, due):
    event = StatementIssued(statement_id="prog/p1/USD/2025-01", program_id="prog", partner_id="p1", currency="USD",
                            period="2025-01", opening=Decimal(0), lines=[], closing=due, due=Decimal(0) if reasons else due,
                            carried_forward_because=sorted(reasons))
    envelope = Envelope(uuid4(), 1, datetime.now(UTC), EventMeta(effective_at=datetime.now(UTC), actor="t", source="cli",
                                                                  correlation_id="c"), event)
    mails = notices.mails_for(envelope)
    assert mails == notices.mails_for(envelope), "a pure function of the event"
    assert len({m.key(envelope.event_id) for m in mails}) == len(mails), "one key per message"
    blocked = NO_TAX_FORM in reasons and not reasons & {REASONS[2], NOT_POSITIVE}
    assert [m.kind for m in mails] == ["statement_issued", *(["payout_blocked"] if blocked else [])]
