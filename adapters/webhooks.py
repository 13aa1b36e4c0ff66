"""Webhook endpoints an admin registered, and their delivery log (the outbox's rows of
the ``webhooks`` consumer).

An endpoint is configuration, not a business fact, so it lives in a table of its own
(as API tokens do), never in the log. Its signing secret (``whsec_`` + base64 of 32
random bytes, as the Standard Webhooks specification has it) is shown once, when it is
made, and kept sealed in the vault (subject ``webhook:<id>``): the ledger must read it
back to sign, so it cannot be a hash; it is never logged, listed or published.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.database import Database
from adapters.outbox import OUTBOX_TABLE, moment
from adapters.vault import Vault
from ledger.webhooks import CONSUMER

ENDPOINTS_TABLE = "ledger_webhook_endpoints"
_DDL = [
    f"CREATE TABLE IF NOT EXISTS {ENDPOINTS_TABLE} ("
    " endpoint_id TEXT PRIMARY KEY, url TEXT NOT NULL, event_types TEXT NOT NULL, description TEXT,"
    " secret TEXT NOT NULL, created_at TEXT NOT NULL, disabled_at TEXT)",
]


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    url: str
    event_types: tuple[str, ...]  # catalogue topics, or ("*",) for every published event
    description: str | None
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def as_dict(self) -> dict[str, Any]:
        return {"endpoint_id": self.endpoint_id, "url": self.url, "event_types": list(self.event_types),
                "description": self.description, "created_at": self.created_at.isoformat(),
                "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None}


class WebhookEndpoints:
    def __init__(self, db: Database, vault: Vault) -> None:
        self.db, self.vault = db, vault
        db.apply_schema("webhooks", _DDL, ENDPOINTS_TABLE)

    def add(self, url: str, event_types: list[str], description: str | None = None,
            now: datetime | None = None) -> tuple[Endpoint, str]:
        """A new endpoint and its signing secret, which is shown this once."""
        endpoint_id = "we_" + secrets.token_urlsafe(12)
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
        created = now or datetime.now(UTC)
        sealed = self.vault.seal(f"webhook:{endpoint_id}", secret)  # its key made first, in a transaction of its own
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"INSERT INTO {ENDPOINTS_TABLE} (endpoint_id, url, event_types, description, secret, created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (endpoint_id, url, json.dumps(sorted(set(event_types))), description, sealed, moment(created)),
            )
        endpoint = self.get(endpoint_id)
        assert endpoint is not None
        return endpoint, secret

    def all(self) -> list[Endpoint]:
        rows = self.db.fetch_all(f"SELECT {_COLUMNS} FROM {ENDPOINTS_TABLE} ORDER BY created_at, endpoint_id")
        return [_endpoint(row) for row in rows]

    def get(self, endpoint_id: str) -> Endpoint | None:
        rows = self.db.fetch_all(f"SELECT {_COLUMNS} FROM {ENDPOINTS_TABLE} WHERE endpoint_id = %s", (endpoint_id,))
        return _endpoint(rows[0]) if rows else None

    def signing_key(self, endpoint_id: str) -> bytes | None:
        """The secret's key bytes (what HMAC signs with), for delivery only."""
        rows = self.db.fetch_all(f"SELECT secret FROM {ENDPOINTS_TABLE} WHERE endpoint_id = %s", (endpoint_id,))
        secret = self.vault.unseal(rows[0][0]) if rows else None
        if not secret or not secret.startswith("whsec_"):
            return None
        return base64.b64decode(secret.removeprefix("whsec_"))

    def disable(self, endpoint_id: str, now: datetime | None = None) -> bool:
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(f"UPDATE {ENDPOINTS_TABLE} SET disabled_at = %s WHERE endpoint_id = %s AND disabled_at IS NULL"
                           " RETURNING endpoint_id", (moment(now or datetime.now(UTC)), endpoint_id))
            return cursor.fetchone() is not None

    def deliveries(self, endpoint_id: str, limit: int = 100) -> list[dict[str, Any]]:
        """The endpoint's deliveries, newest first: the event, state, attempts, when, why not."""
        rows = self.db.fetch_all(
            f"SELECT message_key, data, state, attempts, created_at, next_attempt_at, sent_at, last_error FROM {OUTBOX_TABLE}"
            " WHERE consumer = %s AND recipient = %s ORDER BY created_at DESC, message_key LIMIT %s",
            (CONSUMER, endpoint_id, limit),
        )
        out = []
        for key, data, state, attempts, created_at, next_attempt_at, sent_at, last_error in rows:
            body = json.loads(data)
            out.append({"key": key, "webhook_id": body.get("webhook_id", key), "event_type": body.get("event_type"),
                        "state": state, "attempts": attempts, "created_at": created_at, "next_attempt_at": next_attempt_at,
                        "sent_at": sent_at, "last_error": last_error})
        return out

    def delivery(self, endpoint_id: str, key: str) -> dict[str, Any] | None:
        rows = self.db.fetch_all(f"SELECT data FROM {OUTBOX_TABLE} WHERE consumer = %s AND recipient = %s AND message_key = %s",
                                 (CONSUMER, endpoint_id, key))
        return json.loads(rows[0][0]) if rows else None


_COLUMNS = "endpoint_id, url, event_types, description, created_at, disabled_at"


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(row[0], row[1], tuple(json.loads(row[2])), row[3], _time(row[4]), _time(row[5]) if row[5] else None)


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
