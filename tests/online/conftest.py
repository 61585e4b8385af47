"""The online store on both engines: a SQLite file per test, or a fresh schema in a throwaway PostgreSQL."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def online_url(request, tmp_path):
    """A URL naming an empty online store: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'online.sqlite'}"
    base = request.getfixturevalue("online_postgres_database")
    return f"{base}?schema=t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(online_url):
    from storelift.online import OnlineStore

    with OnlineStore.open(online_url) as opened:
        yield opened
