"""Shared test fixtures: workspaces, the real-data folder, and a PII key."""

from __future__ import annotations

import pytest

from support import KEY


@pytest.fixture
def warehouse(tmp_path):
    from storelift.warehouse import Warehouse

    wh = Warehouse(f"duckdb://{tmp_path / 'warehouse.duckdb'}")
    wh.ensure_tables()
    yield wh
    wh.close()


@pytest.fixture
def options():
    from storelift.data.ingest import IngestOptions

    return IngestOptions(chunk_rows=1000, pii_key=KEY)


@pytest.fixture(autouse=True)
def _key_dir(tmp_path, monkeypatch):
    """Workspaces made in tests keep their key files in the test's folder, not the home directory."""
    monkeypatch.setenv("STORELIFT_KEY_DIR", str(tmp_path / "keys"))
