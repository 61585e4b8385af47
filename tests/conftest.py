"""Shared test fixtures: warehouses (DuckDB, PySpark, PostgreSQL), a PostgreSQL online store, ingest options, a key."""

from __future__ import annotations

import shutil

import pytest

from support import KEY, running_postgres


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


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server on loopback for the whole run (skips when the binaries are absent)."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_warehouse(postgres_server):
    """The canonical tables in the throwaway PostgreSQL server's default database."""
    from storelift.warehouse import Warehouse

    wh = Warehouse(postgres_server.url())
    wh.ensure_tables()
    yield wh
    wh.close()


@pytest.fixture
def own_postgres_warehouse(postgres_server, request):
    """The canonical tables in a PostgreSQL database of the test's own, for tests whose rows the shared
    warehouse (compared across engines elsewhere) must not see."""
    import re

    import psycopg

    from storelift.warehouse import Warehouse

    name = "storelift_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    with psycopg.connect(postgres_server.url(scheme="postgresql"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    wh = Warehouse(postgres_server.url(name))
    wh.ensure_tables()
    yield wh
    wh.close()


@pytest.fixture(scope="session")
def online_postgres_database(postgres_server):
    """A database for the online store (storelift serve) in the session's PostgreSQL server; returns its URL."""
    import psycopg

    with psycopg.connect(postgres_server.url(scheme="postgresql"), autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS storelift_online_tests")
        conn.execute("CREATE DATABASE storelift_online_tests")
    return postgres_server.url("storelift_online_tests", scheme="postgresql")


@pytest.fixture(scope="session")
def spark_warehouse(tmp_path_factory):
    """One local Spark session for the whole run: it takes ~10-20 s to start on 2 cores."""
    pytest.importorskip("pyspark", reason="the spark extra is not installed")
    if shutil.which("java") is None:
        pytest.skip("PySpark needs Java 17 on the PATH (.ci/run installs openjdk-17-jre-headless)")
    from storelift.warehouse import Warehouse

    folder = tmp_path_factory.mktemp("spark-warehouse")
    wh = Warehouse(f"pyspark://local[2]?warehouse={folder}")
    wh.ensure_tables()
    return wh
