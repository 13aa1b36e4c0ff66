"""Replay equals live, snapshots, tamper evidence, forgetting, exactly-once projections."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest

from projections.catalog import live_views
from projections.runner import ProjectionRunner
from tests import builders as b
from tests.conftest import PG_DSN

TERMS = {"currency": "USD", "levels": {"Std": {"rate": "0.20"}}, "commissionable_revenue": "*",
         "payout": {"minimum": "0", "requires_tax_form": False}}


def history(ledger) -> None:
    ledger.ok(
        b.program(terms=TERMS), *b.partner("p1", email="ann@p1corp.com"), *b.partner("p2"),
        *b.customer("c1", "p1"), *b.customer("c2", "p2", channel="code"),
        b.signup("c3", email="bob@p1corp.com"), b.claim("c3", "p1"),  # self-referral: held
        b.payment("pay1", "c1", {"subscription": "500.00"}, at="2025-01-15T00:00:00Z"),
        b.payment("pay2", "c2", {"subscription": "120.00"}, at="2025-01-16T00:00:00Z"),
        b.payment("pay3", "c3", {"subscription": "80.00"}, at="2025-01-17T00:00:00Z"),
        b.refund("r1", "pay1", "100.00", at="2025-01-20T00:00:00Z"),
        b.cost("k1", "c2", "30.00", at="2025-01-21T00:00:00Z"),
        {"type": "close_period", "program_id": "prog", "period": "2025-01", "at": "2025-02-01T01:00:00Z"},
        {"type": "record_payout", "payout_id": "po1", "partner_id": "p1", "amount": "50.00", "currency": "USD",
         "statement_ids": ["prog/p1/USD/2025-01"], "at": "2025-02-02T00:00:00Z"},
        {"type": "review_commission", "payment_id": "pay3", "decision": "release", "reason": "checked", "at": "2025-02-03T00:00:00Z"},
    )
    ledger.apply(b.claim("c1", "p2"))  # rejected, recorded


def test_replay_verify_equals_live_and_exits_zero(ledger):
    history(ledger)
    code, out = ledger.cli("replay", "--verify", "--json")
    report = json.loads(out)
    assert code == 0, report
    assert report["checked"]["statements"] == 2 and report["events"] == ledger.event_count()


def _scratch_indexes(ledger) -> set[str]:
    """The secondary indexes on replay's scratch tables (not those of primary keys)."""
    with ledger.app.db.connect() as conn, ledger.app.db.reading(conn) as cursor:
        if ledger.app.db.is_postgres:
            cursor.execute(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                " JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace"
                " WHERE n.nspname = current_schema() AND t.relname LIKE 'replay%' AND NOT i.indisprimary")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name LIKE 'replay%' AND sql IS NOT NULL")
        return {row[0] for row in cursor.fetchall()}


def test_only_a_verifying_replay_indexes_its_scratch_tables(ledger):
    """A replay that does not verify leaves its scratch tables with their primary keys
    only: nothing reads them by anything else. ``--verify`` reads them by partner and
    by statement."""
    history(ledger)
    assert ledger.cli("replay", "--json")[0] == 0
    assert _scratch_indexes(ledger) == set()
    assert ledger.cli("replay", "--verify", "--json")[0] == 0
    assert {"replay_lines_partner", "replay_lines_statement", "replay_audit_partner"} <= _scratch_indexes(ledger)


def test_replay_verify_reports_a_drifted_read_model(ledger):
    history(ledger)
    with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
        cursor.execute("UPDATE proj_lines SET amount_minor = amount_minor + 1 WHERE source_id = 'pay1'")
    code, out = ledger.cli("replay", "--verify", "--json")
    assert code == 1
    [drift] = [d for d in json.loads(out)["differences"] if d["where"].startswith("proj_lines")]
    # partner, field, live and rebuilt values in currency units (one cent more than the log implies)
    assert (drift["partner_id"], drift["field"], drift["live"], drift["rebuilt"]) == ("p1", "amount", "100.01", "100.00")


def test_snapshot_take_show_list_and_replay_rederives_it(ledger):
    history(ledger)
    taken = json.loads(ledger.cli("snapshot", "take", "--label", "2025-01 close", "--json")[1])
    assert set(taken) == {"snapshot_id", "label", "position", "hash"} | {"taken_at"}
    ledger.ok(b.payment("pay4", "c1", {"subscription": "10.00"}, at="2025-02-10T00:00:00Z"))
    shown = json.loads(ledger.cli("snapshot", "show", taken["snapshot_id"], "--partner", "p1", "--json")[1])
    [p1] = shown["partners"]
    assert p1["currencies"]["USD"]["earned"] == "116.00"  # frozen: pay4 came later (pay3 is held, still earned)
    assert json.loads(ledger.cli("snapshot", "list", "--json")[1])[0]["hash"] == taken["hash"]
    assert ledger.cli("replay", "--verify")[0] == 0


def test_snapshots_are_immutable(ledger):
    history(ledger)
    ledger.cli("snapshot", "take")
    db = ledger.app.db
    with pytest.raises(Exception, match="immutable"), db.connect() as conn, db.transaction(conn) as cursor:
        cursor.execute("UPDATE ledger_snapshots SET hash = 'x'")


def test_statement_issued_then_late_refund_reproduced_by_known_at(ledger):
    history(ledger)
    issued = ledger.cli_json("statement", "p1", "--period", "2025-01")
    ledger.ok(b.refund("r2", "pay1", "100.00", at="2025-01-25T00:00:00Z"))
    assert ledger.cli_json("statement", "p1", "--period", "2025-01", "--known-at", issued["issued_at"]) == issued
    ledger.ok({"type": "close_period", "program_id": "prog", "period": "2025-02", "at": "2025-03-01T01:00:00Z"})
    february = ledger.cli_json("statement", "p1", "--period", "2025-02")
    assert ("refund", "-20.00") in [(line["kind"], line["amount"]) for line in february["lines"]]


def test_audit_trail_shows_times_actor_money_and_rejected_claims(ledger):
    history(ledger)
    trail = ledger.cli_json("audit", "p1")
    types = [entry["type"] for entry in trail]
    assert "payment.recorded" in types and "statement.issued" in types and "payout.recorded" in types
    payment = next(e for e in trail if e["type"] == "payment.recorded" and e["details"]["payment_id"] == "pay1")
    assert payment["money"] == [{"bucket": "earned", "kind": "commission", "amount": "100.00", "currency": "USD"}]
    assert {"effective_at", "recorded_at", "actor", "source", "correlation_id"} <= set(payment)
    customer_trail = ledger.cli_json("audit", "--customer", "c1")
    rejected = [e for e in customer_trail if e["type"] == "customer.claim_rejected"]
    assert rejected and rejected[0]["details"]["partner_id"] == "p2"
    assert "sealed:" not in json.dumps(trail) and "ann@" not in json.dumps(trail)
    held = next(e for e in trail if e["type"] == "payment.recorded" and e["details"]["payment_id"] == "pay3")
    assert (held["what"], held["reason"]) == ("payment recorded pay3", "on hold for review: self_referral")
    code, table = ledger.cli("audit", "p1")
    lines = table.splitlines()
    assert code == 0 and lines[1].split() == ["#", "effective", "recorded", "actor", "what", "happened", "money", "reason"]
    [refund] = [line for line in lines if "payment reversed r1" in line]
    assert "2025-01-20T00:00:00" in refund and "refund -20.00 USD" in refund and refund.split()[3] == "cli"
    [review] = [line for line in lines if "commission reviewed pay3" in line]
    assert review.rstrip().endswith("checked")


def test_verify_passes_then_detects_an_edit_on_sqlite(sqlite_ledger):
    history(sqlite_ledger)
    assert sqlite_ledger.cli("verify")[0] == 0
    path = sqlite_ledger.url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE stored_events SET topic = topic WHERE rowid = 5")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM stored_events WHERE rowid = 5")
    # Someone drops the guard and edits an amount: the chain still catches it.
    conn.execute("DROP TRIGGER stored_events_no_update")
    conn.execute("UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), '500.00', '900.00') AS BLOB)"
                 " WHERE topic = 'payment.recorded' AND CAST(state AS TEXT) LIKE '%pay1%'")
    conn.commit()
    [(position,)] = conn.execute("SELECT rowid FROM stored_events WHERE CAST(state AS TEXT) LIKE '%900.00%'")
    conn.close()
    code, out = sqlite_ledger.cli("verify", "--json")
    assert code == 1 and json.loads(out)["first_bad_position"] == position


def test_postgres_refuses_update_delete_truncate_of_the_log(pg_url):
    from tests.conftest import Driver

    ledger = Driver(pg_url)
    try:
        history(ledger)
        schema = pg_url.split("schema=")[1]
        for statement in ("UPDATE {s}.ledger_events SET topic = topic", "DELETE FROM {s}.ledger_events",
                          "TRUNCATE {s}.ledger_events", "DELETE FROM {s}.ledger_chain"):
            with psycopg.connect(PG_DSN) as conn, pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                conn.execute(statement.format(s=schema))
        assert ledger.cli("verify")[0] == 0
    finally:
        ledger.close()


def test_forgetting_a_partner_keeps_money_and_verification_working(ledger):
    history(ledger)
    before = ledger.balance("p1")
    ledger.ok({"type": "forget_partner", "partner_id": "p1", "reason": "GDPR request"})
    assert ledger.cli_json("partner", "p1")["profile"]["contact_email"] == "[forgotten]"
    assert ledger.balance("p1") == before
    assert ledger.cli("replay", "--verify")[0] == 0
    assert ledger.cli("verify")[0] == 0
    with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
        cursor.execute("SELECT secret FROM ledger_keys WHERE subject = 'partner:p1'")
        assert cursor.fetchone()[0] is None


def test_projection_stopped_mid_batch_resumes_exactly(ledger):
    history(ledger)
    runtime = ledger.app
    fresh = ProjectionRunner(runtime.db, runtime.store, live_views(), prefix="resume_")
    fresh.setup()
    fresh.catch_up(batch_size=3, max_batches=2)  # "crash" after two committed batches
    assert set(fresh.positions().values()) == {6}

    class Boom(Exception):
        pass

    views = live_views()
    audit = views[-1]
    original = audit.handle

    def explode_from_9(cursor, t, envelope, position):
        if position >= 9:
            raise Boom
        original(cursor, t, envelope, position)

    audit.handle = explode_from_9  # type: ignore[method-assign]
    crashing = ProjectionRunner(runtime.db, runtime.store, views, prefix="resume_")
    with pytest.raises(Boom):
        crashing.catch_up(batch_size=5)  # the batch 7..11 rolls back whole
    assert set(fresh.positions().values()) == {6}
    fresh.catch_up(batch_size=4)
    from projections.queries import Queries
    from projections.runner import Tables

    resumed = Queries(runtime.db, runtime.store, runtime.vault, Tables("resume_"))
    for partner in ("p1", "p2"):
        assert resumed.balance(partner) == runtime.queries.balance(partner)


def test_running_totals_equal_the_journal_sums(ledger):
    history(ledger)
    from datetime import UTC, datetime

    far = datetime(9999, 1, 1, tzinfo=UTC)
    for partner in ("p1", "p2"):
        assert ledger.app.queries.balance(partner) == ledger.app.queries.balance(partner, as_of=far)


def test_verify_checks_a_head_recorded_at_an_earlier_audit(sqlite_ledger):
    history(sqlite_ledger)
    first = json.loads(sqlite_ledger.cli("verify", "--json")[1])
    sqlite_ledger.ok(b.payment("pay9", "c1", {"subscription": "1.00"}, at="2025-03-01T00:00:00Z"))
    recorded = f"{first['head_position']}:{first['head']}"
    assert sqlite_ledger.cli("verify", "--expect", recorded)[0] == 0
    assert sqlite_ledger.cli("verify", "--expect", f"{first['head_position']}:{'0' * 64}")[0] == 1


def test_runners_lock_the_views_positions_in_view_order_whatever_the_rows_physical_order(pg_url):
    """A runner locks the tracking rows in one order (by view), however updates have
    moved the rows in the table: runners that locked them in scan order could each hold
    a row the other waits for, and deadlock. Shown with the last view's row first in the
    table and held elsewhere: a runner waiting for it already holds the first view's row."""
    import threading
    import time

    from tests.conftest import Driver

    ledger = Driver(pg_url)
    schema = pg_url.split("schema=")[1]
    runner = ProjectionRunner(ledger.app.db, ledger.app.store, live_views(), prefix="lockorder_")
    runner.setup()
    names = sorted(view.name for view in runner.views)
    first, last = names[0], names[-1]
    table = f"{schema}.lockorder_tracking"
    holder = psycopg.connect(PG_DSN)
    prober = psycopg.connect(PG_DSN)
    try:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:  # every row but the last view's moves to the table's end
            conn.execute(f"UPDATE {table} SET position = position WHERE view <> %s", (last,))
            [(physically_first,)] = conn.execute(f"SELECT view FROM {table} LIMIT 1").fetchall()
        assert physically_first == last
        holder.execute(f"SELECT 1 FROM {table} WHERE view = %s FOR UPDATE", (last,))

        def lock_positions() -> None:
            with ledger.app.db.connect() as conn, ledger.app.db.transaction(conn) as cursor:
                runner._lock_positions(cursor)

        locking = threading.Thread(target=lock_positions)
        locking.start()
        for _ in range(100):  # until the runner waits for the held row
            waiting = prober.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                                     " AND query LIKE %s", ("%lockorder_tracking%FOR UPDATE%",)).fetchall()[0][0]
            prober.rollback()
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the runner never waited for the held row"
        with pytest.raises(psycopg.errors.LockNotAvailable):
            prober.execute(f"SELECT 1 FROM {table} WHERE view = %s FOR UPDATE NOWAIT", (first,))
        prober.rollback()
        holder.commit()
        locking.join(timeout=10)
        assert not locking.is_alive()
    finally:
        holder.close()
        prober.close()
        ledger.close()
