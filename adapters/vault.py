"""Personal data, sealed with a key per partner or customer kept outside the log.

Destroying a subject's key forgets its personal data without rewriting a single event
(crypto-shredding): sealed fields then read as ``[forgotten]``. The key is destroyed
in the transaction that records the forget event (see ``adapters.event_store``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from adapters.database import Database
from ledger.errors import reject
from ledger.privacy import FORGOTTEN

KEYS_TABLE = "ledger_keys"  # outside the log, in the same database
_PREFIX = "sealed:"
_PEPPER_SUBJECT = "ledger:pepper"


class Vault:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._keys: dict[str, bytes | None] = {}
        with db.schema_change() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (subject TEXT PRIMARY KEY, "
                "secret TEXT, forgotten_at TEXT)"
            )
        self._pepper = self._key(_PEPPER_SUBJECT, create=True) or b""

    def seal(self, subject: str, plaintext: str) -> str:
        key = self._key(subject, create=True)
        if key is None:
            raise reject("forgotten", f"{subject} was forgotten: its personal data cannot be stored")
        token = Fernet(key).encrypt(plaintext.encode()).decode()
        return f"{_PREFIX}{subject}:{token}"

    def unseal(self, text: str | None) -> str | None:
        if text is None or not text.startswith(_PREFIX):
            return text
        subject, _, token = text[len(_PREFIX):].rpartition(":")
        # Not from the cache: another process may have forgotten the subject since.
        self._keys.pop(subject, None)
        key = self._key(subject, create=False)
        if key is None:
            return FORGOTTEN
        try:
            return Fernet(key).decrypt(token.encode()).decode()
        except InvalidToken:
            return FORGOTTEN

    def prepare(self, subjects: Iterable[str]) -> None:
        """Make sure keys exist for many subjects in one transaction (a batch's worth),
        rather than one transaction per new partner or customer."""
        missing = sorted({s for s in subjects if s not in self._keys})
        if not missing:
            return
        with self.db.connect() as conn, self.db.transaction(conn) as cursor:
            cursor.executemany(
                "INSERT INTO ledger_keys (subject, secret) VALUES (%s, %s) ON CONFLICT (subject) DO NOTHING",
                [(subject, Fernet.generate_key().decode()) for subject in missing],
            )
            for chunk in range(0, len(missing), 500):
                part = missing[chunk : chunk + 500]
                cursor.execute(
                    f"SELECT subject, secret FROM ledger_keys WHERE subject IN ({', '.join('%s' for _ in part)})", tuple(part)
                )
                for subject, secret in cursor.fetchall():
                    self._keys[subject] = secret.encode() if secret else None

    def fingerprint(self, value: str) -> str:
        """A keyed hash of an address or domain, case and spaces ignored: comparable
        between records, useless to whoever lacks the pepper."""
        return self.keyed_hash(value.strip().lower())

    def keyed_hash(self, text: str) -> str:
        return hmac.new(self._pepper, text.encode(), hashlib.sha256).hexdigest()

    def _key(self, subject: str, *, create: bool) -> bytes | None:
        if subject in self._keys:
            return self._keys[subject]
        # Only a key that may be made needs the write transaction; a lookup just reads.
        begin = self.db.transaction if create else self.db.reading
        with self.db.connect() as conn, begin(conn) as cursor:
            row = self._select(cursor, subject)
            if row is None and create:
                fresh = (secrets.token_bytes(32).hex() if subject == _PEPPER_SUBJECT
                         else Fernet.generate_key().decode())
                cursor.execute(
                    "INSERT INTO ledger_keys (subject, secret) VALUES (%s, %s) "
                    "ON CONFLICT (subject) DO NOTHING",
                    (subject, fresh),
                )
                row = self._select(cursor, subject)
        secret = row[0] if row else None
        key = secret.encode() if secret else None
        if row is not None:
            self._keys[subject] = key
        return key

    @staticmethod
    def _select(cursor: Any, subject: str) -> Any:
        cursor.execute("SELECT secret FROM ledger_keys WHERE subject = %s", (subject,))
        return cursor.fetchone()
