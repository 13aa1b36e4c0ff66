"""Leads and the contacts they are checked against.

``leads``: every lead a partner submitted, with its state (open, converted, refused),
the reason a refused one gives and the customer a converted one became; its contact
data stays sealed (unsealed only when a page shows it). ``contacts``: the keyed hashes
of each customer's e-mail and domain, so a lead for a current customer is recognised."""

from __future__ import annotations

from typing import Any

from adapters.database import Database
from events.customer import CustomerSignedUp
from events.referral import LeadConverted, LeadRefused, LeadSubmitted
from ledger.referral import Contacts
from projections.record import Record
from projections.runner import Tables, View


class LeadsView(View):
    TOPICS = frozenset(e.TOPIC for e in (LeadSubmitted, LeadRefused, LeadConverted, CustomerSignedUp))
    name = "leads"
    TABLES = ("leads", "contacts")

    def __init__(self) -> None:
        self._leads: dict[str, list[Any]] = {}  # per batch: new leads, as rows
        self._outcomes: dict[str, tuple[str, str | None, str | None]] = {}  # earlier leads: state, reason, customer
        self._contacts: list[tuple[str, str | None, str | None]] = []

    def ddl(self, t: Tables) -> list[str]:
        return [
            f"CREATE TABLE IF NOT EXISTS {t.leads} ("
            " lead_id TEXT PRIMARY KEY, partner_id TEXT NOT NULL, program_id TEXT NOT NULL, state TEXT NOT NULL,"
            " reason TEXT, customer_id TEXT, submitted_at TEXT NOT NULL, submitted_known TEXT NOT NULL,"
            " email_hash TEXT NOT NULL, company TEXT NOT NULL, email TEXT NOT NULL, note TEXT)",
            f"CREATE INDEX IF NOT EXISTS {t.leads}_partner ON {t.leads} (partner_id, submitted_at)",
            f"CREATE INDEX IF NOT EXISTS {t.leads}_queue ON {t.leads} (state, submitted_at)",
            f"CREATE INDEX IF NOT EXISTS {t.leads}_email ON {t.leads} (email_hash)",
            f"CREATE TABLE IF NOT EXISTS {t.contacts} (customer_id TEXT PRIMARY KEY, email_hash TEXT, domain_hash TEXT)",
            f"CREATE INDEX IF NOT EXISTS {t.contacts}_email ON {t.contacts} (email_hash)",
            f"CREATE INDEX IF NOT EXISTS {t.contacts}_domain ON {t.contacts} (domain_hash)",
        ]

    def handle(self, cursor: Any, t: Tables, record: Record, position: int) -> None:
        p, topic = record.payload, record.topic
        if topic == LeadSubmitted.TOPIC:
            self._leads[p["lead_id"]] = [
                p["lead_id"], p["partner_id"], p["program_id"], "open", None, None,
                record.effective_at, record.recorded_at, p["email_hash"], p["company"], p["email"], p.get("note"),
            ]
        elif topic == LeadRefused.TOPIC:
            self._outcome(p["lead_id"], "refused", p["reason"], None)
        elif topic == LeadConverted.TOPIC:
            self._outcome(p["lead_id"], "converted", None, p["customer_id"])
        elif topic == CustomerSignedUp.TOPIC and (p.get("email_hash") or p.get("domain_hash")):
            self._contacts.append((p["customer_id"], p.get("email_hash"), p.get("domain_hash")))

    def _outcome(self, lead_id: str, state: str, reason: str | None, customer_id: str | None) -> None:
        if lead_id in self._leads:
            self._leads[lead_id][3:6] = [state, reason, customer_id]
        else:
            self._outcomes[lead_id] = (state, reason, customer_id)

    def discard(self) -> None:
        self._leads, self._outcomes, self._contacts = {}, {}, []

    def flush(self, cursor: Any, t: Tables) -> None:
        cursor.insert_many(t.leads, list(self._leads.values()))
        if self._outcomes:
            cursor.executemany(
                f"UPDATE {t.leads} SET state = %s, reason = %s, customer_id = %s WHERE lead_id = %s",
                [(*outcome, lead_id) for lead_id, outcome in self._outcomes.items()],
            )
        cursor.insert_many(t.contacts, self._contacts)
        self.discard()


class KnownContacts:
    """The contacts of many addresses read at once (a batch's worth), answering
    ``contacts`` for those addresses as the one-by-one query would. (Leads come in the
    query's order, which decides the open one; the order of customers decides nothing.)"""

    def __init__(self, db: Database, t: Tables, email_hashes: set[str], domain_hashes: set[str]) -> None:
        self.email_hashes, self.domain_hashes = email_hashes, domain_hashes
        self._customers: dict[str, tuple[str | None, str | None]] = {}  # customer_id -> (email hash, domain hash)
        self._leads: list[tuple[str, str, str, str]] = []  # (email hash, lead, partner, state) by submitted_at, lead_id
        with db.connect() as conn, db.reading(conn) as cursor:
            for chunk in _chunks(sorted(email_hashes)):
                cursor.execute(
                    f"SELECT email_hash, lead_id, partner_id, state FROM {t.leads}"
                    f" WHERE email_hash IN ({_marks(chunk)}) ORDER BY submitted_at, lead_id", chunk,
                )
                self._leads += [(row[0], row[1], row[2], row[3]) for row in cursor.fetchall()]
            for column, hashes in (("email_hash", email_hashes), ("domain_hash", domain_hashes)):
                for chunk in _chunks(sorted(hashes)):
                    cursor.execute(
                        f"SELECT customer_id, email_hash, domain_hash FROM {t.contacts} WHERE {column} IN ({_marks(chunk)})"
                        " ORDER BY customer_id", chunk,
                    )
                    self._customers.update((row[0], (row[1], row[2])) for row in cursor.fetchall())

    def knows(self, email_hash: str, domain_hash: str | None) -> bool:
        return email_hash in self.email_hashes and (domain_hash is None or domain_hash in self.domain_hashes)

    def contacts(self, email_hash: str, domain_hash: str | None) -> Contacts:
        return Contacts(
            tuple(customer for customer, (email, domain) in self._customers.items()
                  if email == email_hash or (domain is not None and domain == domain_hash)),
            tuple((lead, partner, state) for email, lead, partner, state in self._leads if email == email_hash),
        )


def _chunks(values: list[str], size: int = 500) -> list[list[str]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


def _marks(values: list[str]) -> str:
    return ", ".join("%s" for _ in values)


def contacts(db: Database, t: Tables, email_hash: str, domain_hash: str | None) -> Contacts:
    with db.connect() as conn, db.reading(conn) as cursor:
        cursor.execute(
            f"SELECT customer_id FROM {t.contacts} WHERE email_hash = %s OR (domain_hash IS NOT NULL AND domain_hash = %s)"
            " ORDER BY customer_id", (email_hash, domain_hash),
        )
        customer_ids = tuple(row[0] for row in cursor.fetchall())
        cursor.execute(
            f"SELECT lead_id, partner_id, state FROM {t.leads} WHERE email_hash = %s ORDER BY submitted_at, lead_id",
            (email_hash,),
        )
        leads = tuple((row[0], row[1], row[2]) for row in cursor.fetchall())
    return Contacts(customer_ids, leads)
