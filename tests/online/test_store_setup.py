"""Opening the store: URLs, idempotent tables, SQLite durability settings, API keys."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from storelift.online import ApiKeyError, OnlineStore, OnlineStoreError, OnlineURL
from storelift.online.database import redact


def test_default_store_is_online_sqlite_in_the_workspace(tmp_path):
    assert OnlineURL.parse(None, tmp_path) == OnlineURL("sqlite", str(tmp_path / "online.sqlite"))
    assert OnlineURL.parse("sqlite://state/o.sqlite", tmp_path).target == str(tmp_path / "state/o.sqlite")
    assert OnlineURL.parse("sqlite:///var/o.sqlite", tmp_path).target == "/var/o.sqlite"


def test_postgres_url_takes_a_schema_option():
    url = OnlineURL.parse("postgres://u:pw@db:5432/shop?schema=live&sslmode=require")
    assert (url.dialect, url.schema) == ("postgres", "live")
    assert url.target == "postgresql://u:pw@db:5432/shop?sslmode=require"
    assert OnlineURL.parse("postgresql://db/shop").schema == "storelift_online"


@pytest.mark.parametrize("url, words", [
    ("mysql://db/shop", "unknown kind"),
    ("postgresql://db/shop?schema=Drop;Table", "plain lower-case SQL name"),
    ("sqlite://", "names no file"),
])
def test_bad_url_says_what_to_use(url, words):
    with pytest.raises(OnlineStoreError, match=words):
        OnlineURL.parse(url, Path("/tmp"))


def test_passwords_are_redacted_from_messages():
    assert redact("postgresql://shop:s3cret@db/shop") == "postgresql://shop:***@db/shop"


def test_unreachable_postgres_fails_with_the_fix():
    with pytest.raises(OnlineStoreError, match="check that PostgreSQL runs") as info:
        OnlineStore.open("postgresql://u:s3cret@127.0.0.1:9/none", busy_timeout_s=1)
    assert "s3cret" not in str(info.value)


def test_opening_again_keeps_the_data(online_url):
    with OnlineStore.open(online_url) as store:
        store.record_consent("C1", {"email": True})
    with OnlineStore.open(online_url) as store:
        assert store.has_consent("C1", "email")


def test_stores_opened_at_once_create_the_tables_once(online_url):
    errors = []

    def open_close():
        try:
            OnlineStore.open(online_url).close()
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=open_close) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_sqlite_store_is_wal_with_full_sync(tmp_path):
    with OnlineStore.open(workspace_root=tmp_path) as store:
        with store.db.read() as session:
            assert session.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert session.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert session.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000
    assert (tmp_path / "online.sqlite").exists()


def test_api_key_secret_is_stored_only_as_a_hash(store):
    key, secret = store.create_api_key("storefront", ["ingest", "read"], rate_limit_per_s=50)
    assert secret.startswith(f"slk_{key.key_id}_")
    with store.db.read() as session:
        row = session.execute("SELECT * FROM api_keys").fetchone()
    stored = " ".join(str(v) for v in dict(row).values())
    assert secret.split("_", 2)[2] not in stored
    assert row["secret_sha256"] == hashlib.sha256(secret.split("_", 2)[2].encode()).hexdigest()
    found = store.lookup_api_key(secret)
    assert found.scopes == {"ingest", "read"} and found.allows("read") and not found.allows("admin")
    assert store.lookup_api_key(secret[:-1] + ("A" if secret[-1] != "A" else "B")) is None
    assert store.lookup_api_key("garbage") is None


def test_revoked_key_is_marked_and_listed(store):
    key, secret = store.create_api_key("old", ["admin"])
    revoked = store.revoke_api_key(key.key_id)
    assert revoked.revoked_at is not None
    assert store.lookup_api_key(secret).revoked_at == revoked.revoked_at
    assert [k.key_id for k in store.list_api_keys()] == [key.key_id]
    with pytest.raises(ApiKeyError, match="keys list"):
        store.revoke_api_key("0000000000000000")


@pytest.mark.parametrize("scopes, name, rate, words", [
    ([], "x", 1, "at least one scope"),
    (["write"], "x", 1, "unknown scope 'write'"),
    (["read"], " ", 1, "needs a name"),
    (["read"], "x", -1, "negative"),
])
def test_bad_key_requests_are_refused(store, scopes, name, rate, words):
    with pytest.raises(ApiKeyError, match=words):
        store.create_api_key(name, scopes, rate)
