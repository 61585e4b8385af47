"""An in-process app on a real workspace and a real SQLite online store, with a key per scope."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest

if importlib.util.find_spec("fastapi") is None:  # the serve extra is not installed: nothing here can run
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="module")
def api_workspace(tmp_path_factory) -> Path:
    """A workspace (storelift.toml, PII key, DuckDB warehouse) shared by a test module."""
    from storelift import Workspace

    root = tmp_path_factory.mktemp("api-workspace")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STORELIFT_KEY_DIR", str(root / "keys"))
        mp.delenv("STORELIFT_PII_KEY", raising=False)
        Workspace.init(root / "ws").close()
    return root / "ws"


@dataclass
class Api:
    """A TestClient on a running app, its store, and one key per scope."""

    client: object
    store: object
    keys: dict

    def headers(self, scope: str = "admin") -> dict:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def post_events(self, body, scope: str = "ingest"):
        return self.client.post("/v1/events", json=body, headers=self.headers(scope))


@pytest.fixture
def make_api(api_workspace, tmp_path):
    """Build an app with given settings on a fresh online store; closed after the test."""
    from fastapi.testclient import TestClient

    from storelift.api import ServeSettings, create_app

    opened = []

    def build(**settings) -> Api:
        settings.setdefault("online_url", f"sqlite://{tmp_path / f'online-{len(opened)}.sqlite'}")
        app = create_app(api_workspace, ServeSettings(**settings))
        store = app.state.services.store
        keys = {scope: store.create_api_key(f"test-{scope}", [scope], rate_limit_per_s=0)[1]
                for scope in ("ingest", "read", "consent", "metrics", "admin")}
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        opened.append(client)
        return Api(client, store, keys)

    yield build
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def api(make_api) -> Api:
    return make_api()
