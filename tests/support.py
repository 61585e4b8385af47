"""Constants and helpers shared by the tests (import as `from support import ...`)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("STORELIFT_SHARED_DATA", REPO.parent / "shared" / "data"))
KEY = b"test-key-0123456789abcdef0123456789abcdef"


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or a skip that says why."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real dataset {path} is absent (../shared/data holds the public datasets)")
    return path


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway PostgreSQL server on loopback (user `storelift`, no password)."""

    host: str
    port: int
    user: str = "storelift"

    def url(self, database: str = "postgres", scheme: str = "postgres") -> str:
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{database}"


@contextlib.contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Start a PostgreSQL server from Debian's binaries in a temporary folder; stop and remove it after.

    Skips the calling test when the server binaries are absent.
    """
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
    port = free_port()
    try:
        subprocess.run(run_as + [f"{bindir}/initdb", "-D", str(folder / "data"), "-A", "trust", "-U", "storelift"],
                       check=True, capture_output=True)
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
                                 "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True)
        yield PostgresServer("127.0.0.1", port)
    finally:
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", str(folder / "data"), "-m", "fast", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def ordered_visits_artifact() -> dict:
    """A SASRec artifact (model, interactions, catalog) where order decides: shoppers who look at x
    then y go on to 'after-xy', those who look at y then x go on to 'after-yx'. The same two items in
    two orders, so only a model that reads the order tells the visits apart. Needs torch."""
    import pandas as pd

    from storelift.recommend import ItemCatalog, SASRec, event_sequences, interaction_matrix

    rows = []
    for u in range(60):
        visit = ("x", "y", "after-xy") if u % 2 else ("y", "x", "after-yx")
        rows += [(f"c{u}", item, position) for position, item in enumerate(visit)]
    events = pd.DataFrame(rows, columns=["user_id", "item_id", "position"])
    interactions = interaction_matrix(events, binary=True)
    model = SASRec(max_len=8, hidden=16, blocks=1, dropout=0.0, epochs=40, batch_size=32, learning_rate=1e-2,
                   num_threads=1).fit(event_sequences(events, interactions.users, interactions.items),
                                      interactions.n_items)
    catalog = ItemCatalog.from_products(pd.DataFrame({"product_id": list(interactions.items)}), interactions.items)
    return {"model": model, "interactions": interactions, "catalog": catalog}
