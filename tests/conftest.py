"""Shared test fixtures: warehouses on DuckDB, PySpark (local mode) and PostgreSQL, ingest options, a PII key."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_warehouse(tmp_path_factory):
    """A throwaway PostgreSQL server on loopback, started from Debian's binaries and stopped after the run."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL server binaries are absent (.ci/run installs Debian's postgresql)")
    bindir = os.path.dirname(bins[-1])
    # not under pytest's own temp folder, which the postgres user may not enter
    folder = Path(tempfile.mkdtemp(prefix="storelift-pg-"))
    run_as = []
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(folder, "postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(run_as + [f"{bindir}/initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "storelift"],
                   check=True, capture_output=True)
    subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
                             "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        from storelift.warehouse import Warehouse

        wh = Warehouse(f"postgres://storelift@127.0.0.1:{port}/postgres")
        wh.ensure_tables()
        yield wh
        wh.close()
    finally:
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", str(folder / "data"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)



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
