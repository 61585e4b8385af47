"""API keys: created once (the secret is shown only then), stored as a SHA-256 hash, revocable.

A key reads ``slk_<key id>_<secret>``. The secret is 256 random bits, so a plain SHA-256 cannot be
reversed by guessing and costs microseconds per request; a slow password KDF would add latency
to every call without adding security for keys that are not chosen by people.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from .database import Database
from .errors import ApiKeyError

PREFIX = "slk"
SCOPES = ("ingest", "read", "consent", "metrics", "admin")
SCOPE_HELP = {
    "ingest": "POST /v1/events and /v1/identify",
    "read": "GET /v1/customers/{id}/consent and /v1/erasure/{id}",
    "consent": "PUT /v1/customers/{id}/consent",
    "metrics": "GET /metrics",
    "admin": "DELETE /v1/customers/{id} (erasure), and everything the other scopes allow",
}
_KEY_RE = re.compile(rf"{PREFIX}_([0-9a-f]{{16}})_([A-Za-z0-9_\-]{{43}})")


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    scopes: frozenset[str]
    rate_limit_per_s: float  # 0 means no limit
    created_at: datetime
    revoked_at: datetime | None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _key(db: Database, row) -> ApiKey:
    return ApiKey(row["key_id"], row["name"], frozenset(row["scopes"].split()), float(row["rate_limit_per_s"]),
                  db.read_time(row["created_at"]), db.read_time(row["revoked_at"]))


def create_api_key(db: Database, name: str, scopes, rate_limit_per_s: float, now: datetime) -> tuple[ApiKey, str]:
    """Make a key; returns it and its full secret text, which is not stored and cannot be shown again."""
    scopes = frozenset(scopes)
    if not scopes:
        raise ApiKeyError(f"a key needs at least one scope; pass --scope with one of {', '.join(SCOPES)}")
    unknown = sorted(scopes - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
    if not name.strip():
        raise ApiKeyError("a key needs a name saying who uses it, e.g. --name storefront")
    if rate_limit_per_s < 0:
        raise ApiKeyError(f"rate limit {rate_limit_per_s:g} is negative; pass a number of requests per second "
                          "(0 for no limit)")
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    text = f"{PREFIX}_{key_id}_{secret}"
    with db.transaction() as session:
        session.execute(
            "INSERT INTO api_keys (key_id, secret_sha256, name, scopes, rate_limit_per_s, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key_id, _digest(secret), name.strip(), " ".join(sorted(scopes)), float(rate_limit_per_s), db.time(now)))
    return ApiKey(key_id, name.strip(), scopes, float(rate_limit_per_s), now, None), text


def list_api_keys(db: Database) -> list[ApiKey]:
    with db.read() as session:
        rows = session.execute("SELECT key_id, name, scopes, rate_limit_per_s, created_at, revoked_at "
                               "FROM api_keys ORDER BY created_at").fetchall()
    return [_key(db, r) for r in rows]


def revoke_api_key(db: Database, key_id: str, now: datetime) -> ApiKey:
    """Revoke a key by id (the part after ``slk_``); revoking twice keeps the first time."""
    with db.transaction() as session:
        session.execute("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                        (db.time(now), key_id))
        row = session.execute("SELECT key_id, name, scopes, rate_limit_per_s, created_at, revoked_at "
                              "FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    if row is None:
        raise ApiKeyError(f"no API key with id {key_id!r}; `storelift serve keys list` shows the ids")
    return _key(db, row)


def split_key(text: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key text, else None."""
    match = _KEY_RE.fullmatch(text.strip())
    return (match.group(1), match.group(2)) if match else None


def lookup_api_key(db: Database, text: str) -> ApiKey | None:
    """The key whose secret matches `text` (revoked keys included), or None."""
    parts = split_key(text)
    if parts is None:
        return None
    key_id, secret = parts
    with db.read() as session:
        row = session.execute("SELECT key_id, secret_sha256, name, scopes, rate_limit_per_s, created_at, revoked_at "
                              "FROM api_keys WHERE key_id = ?", (key_id,)).fetchone()
    if row is None or not hmac.compare_digest(row["secret_sha256"], _digest(secret)):
        return None
    return _key(db, row)
