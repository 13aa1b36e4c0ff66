"""Credentials for the HTTP server: API tokens, one-time invite links and browser
sessions, in one table beside the log (never in it: no event, log line or Kafka
message ever carries a credential).

Only a SHA-256 hash of each secret is stored. The secrets are 256 random bits, so a
fast hash is enough (a slow password hash protects guessable secrets, and these are
not guessable); whoever reads the table cannot sign in with what it finds there.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from adapters.database import Database

ACCESS_TABLE = "ledger_access"
Kind = Literal["token", "invite", "session"]
_PREFIX: dict[str, str] = {"token": "lt_", "invite": "li_", "session": "ls_"}
_COLUMNS = "credential_id, kind, role, partner_id, label, created_at, expires_at, revoked_at, used_at, parent_id"


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Credential:
    """What a secret stands for (never the secret itself)."""

    credential_id: str
    kind: Kind
    role: str
    partner_id: str | None
    label: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None = None
    used_at: datetime | None = None
    parent_id: str | None = None  # the token or invite a session was opened with
    parent_kind: Kind | None = None  # read by ``authenticate`` only
    parent_expires_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        def iso(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment else None

        return {
            "token_id": self.credential_id, "kind": self.kind, "role": self.role, "partner_id": self.partner_id,
            "label": self.label, "created_at": iso(self.created_at), "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at), "used_at": iso(self.used_at),
        }


class AccessStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        with db.schema_change() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {ACCESS_TABLE} (credential_id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL UNIQUE,"
                " kind TEXT NOT NULL, role TEXT NOT NULL, partner_id TEXT, label TEXT, created_at TEXT NOT NULL,"
                " expires_at TEXT, revoked_at TEXT, used_at TEXT, parent_id TEXT)"
            )

    def issue(
        self, kind: Kind, role: str, *, partner_id: str | None = None, label: str | None = None,
        lifetime: timedelta | None = None, parent_id: str | None = None, not_after: datetime | None = None,
    ) -> tuple[Credential, str]:
        """A new credential and its secret: the only moment the secret exists in clear. It
        expires after ``lifetime``, and at ``not_after`` at the latest."""
        now = datetime.now(UTC)
        ends = [moment for moment in (now + lifetime if lifetime else None, not_after) if moment is not None]
        credential = Credential(
            credential_id=secrets.token_hex(6), kind=kind, role=role, partner_id=partner_id, label=label,
            created_at=now, expires_at=min(ends, default=None), parent_id=parent_id,
        )
        secret = _PREFIX[kind] + secrets.token_urlsafe(32)
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"INSERT INTO {ACCESS_TABLE} ({_COLUMNS}, secret_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (credential.credential_id, kind, role, partner_id, label, _text(now), _text(credential.expires_at),
                 None, None, parent_id, secret_hash(secret)),
            )
        return credential, secret

    def authenticate(self, secret: str, kind: Kind, now: datetime | None = None) -> Credential | None:
        """The live credential of ``kind`` this secret opens: not expired, not revoked,
        and (for a session) opened with a token or invite that is not revoked either, nor,
        for a token, expired: a session never outlives the token it was opened with. (An
        invite's expiry bounds when it may be used, not the session it opened.)"""
        if not secret.startswith(_PREFIX[kind]):
            return None
        rows = self._select(
            f"SELECT {_aliased('c')}, p.kind, p.expires_at FROM {ACCESS_TABLE} c"
            f" LEFT JOIN {ACCESS_TABLE} p ON p.credential_id = c.parent_id"
            " WHERE c.secret_hash = %s AND c.kind = %s AND c.revoked_at IS NULL AND p.revoked_at IS NULL",
            (secret_hash(secret), kind),
        )
        found = rows[0] if rows else None
        moment = now or datetime.now(UTC)
        if found is None or _expired(found, moment) or _expired_parent(found, moment):
            return None
        return found

    def redeem_invite(self, secret: str) -> Credential | None:
        """Use an invite: the first caller gets it, every later one gets None."""
        invite = self.authenticate(secret, "invite")
        if invite is None or invite.used_at is not None:
            return None
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"UPDATE {ACCESS_TABLE} SET used_at = %s WHERE credential_id = %s AND used_at IS NULL RETURNING credential_id",
                (_text(datetime.now(UTC)), invite.credential_id),
            )
            won = cursor.fetchone() is not None
        return invite if won else None

    def credentials(self, *, include_sessions: bool = False) -> list[Credential]:
        kinds = ("token", "invite", "session") if include_sessions else ("token", "invite")
        marks = ", ".join("%s" for _ in kinds)
        return self._select(f"SELECT {_COLUMNS} FROM {ACCESS_TABLE} WHERE kind IN ({marks}) ORDER BY created_at", kinds)

    def revoke(self, credential_id: str) -> bool:
        """Revoke a credential (and so every session opened with it); False if unknown
        or already revoked."""
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.execute(
                f"UPDATE {ACCESS_TABLE} SET revoked_at = %s WHERE credential_id = %s AND revoked_at IS NULL RETURNING credential_id",
                (_text(datetime.now(UTC)), credential_id),
            )
            return cursor.fetchone() is not None

    def _select(self, sql: str, params: tuple[Any, ...]) -> list[Credential]:
        with self.db.connect() as conn, self.db.reading(conn) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [
            Credential(
                credential_id=r[0], kind=r[1], role=r[2], partner_id=r[3], label=r[4], created_at=_moment(r[5]),
                expires_at=_maybe(r[6]), revoked_at=_maybe(r[7]), used_at=_maybe(r[8]), parent_id=r[9],
                **({"parent_kind": r[10], "parent_expires_at": _maybe(r[11])} if len(r) > 10 else {}),
            )
            for r in rows
        ]


def _aliased(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


def _expired(credential: Credential, now: datetime) -> bool:
    return credential.expires_at is not None and credential.expires_at <= now


def _expired_parent(credential: Credential, now: datetime) -> bool:
    return credential.parent_kind == "token" and credential.parent_expires_at is not None and credential.parent_expires_at <= now


def _text(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if moment else None


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _maybe(text: str | None) -> datetime | None:
    return _moment(text) if text else None
