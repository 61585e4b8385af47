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
    return served_workspace(tmp_path_factory.mktemp("api-workspace"), save_served_models)


def served_workspace(root: Path, save_models_into) -> Path:
    """A new workspace under `root` whose models folder `save_models_into(models_dir)` fills."""
    from storelift import Workspace

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STORELIFT_KEY_DIR", str(root / "keys"))
        mp.delenv("STORELIFT_PII_KEY", raising=False)
        ws = Workspace.init(root / "ws")
        save_models_into(ws.models_dir)
        ws.close()
    return root / "ws"


# Two tastes: "gardener" customers bought garden items, "cook" customers kitchen items; kitchen items
# are the most bought overall, so the popular (non-personalized) list is all kitchen.
GARDEN = [f"g{i}" for i in range(6)]
KITCHEN = [f"k{i}" for i in range(6)]


def save_served_models(models_dir: Path, version: str = "recommend-itemknn-20240501-1") -> None:
    """A fitted ItemKNN with its interactions, catalog and per-country popular lists, and a
    customer-scores snapshot, as the CLI saves them."""
    import numpy as np
    import pandas as pd

    from storelift.artifacts import CUSTOMER_SCORES_SNAPSHOT, save_models
    from storelift.recommend import ItemCatalog, ItemKNN, Popularity, interaction_matrix

    rng = np.random.default_rng(0)
    rows = [(f"gardener{u}", item) for u in range(40) for item in rng.choice(GARDEN, 3, replace=False)]
    rows += [(f"cook{u}", item) for u in range(80) for item in rng.choice(KITCHEN, 3, replace=False)]
    interactions = interaction_matrix(pd.DataFrame(rows, columns=["user_id", "item_id"]), binary=True)
    products = pd.DataFrame({"product_id": GARDEN + KITCHEN, "title": [f"{i} title" for i in GARDEN + KITCHEN],
                             "category": ["Home > Garden"] * 6 + ["Home > Kitchen"] * 6})
    catalog = ItemCatalog.from_products(products, interactions.items)
    model = ItemKNN(neighbors=20, shrink=1.0).fit(interactions.matrix)
    # gardeners shop from Germany, cooks from France: a visitor whose context is DE gets garden items
    popular = Popularity(segments=["DE" if u.startswith("gardener") else "FR" for u in interactions.users]
                         ).fit(interactions.matrix)
    save_models(models_dir, version, {"model": model, "interactions": interactions, "catalog": catalog,
                                      "popular": popular})
    folder = save_models(models_dir, "customers-20240501-1", {})
    pd.DataFrame({"customer_id": ["gardener0", "cook0"], "rfm_segment": ["Champions", "At risk"],
                  "clv_12m": [310.5, 42.0], "churn_probability": [0.1, 0.7],
                  "churn_reasons": ["", "days since last order 200"]}).to_parquet(folder / CUSTOMER_SCORES_SNAPSHOT)


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
