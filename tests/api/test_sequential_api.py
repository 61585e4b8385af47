"""A sequential model (SASRec) served: the storefront's session items are read in their order."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch", reason="SASRec needs the recommend extra (torch)")

from api.conftest import served_workspace  # noqa: E402
from support import ordered_visits_artifact  # noqa: E402


@pytest.fixture(scope="module")
def api_workspace(tmp_path_factory) -> Path:
    """A workspace whose only recommendation model is a SASRec fitted on ordered visits."""
    from storelift.artifacts import save_models

    def save(models_dir: Path) -> None:
        save_models(models_dir, "recommend-sasrec-20240501-1", ordered_visits_artifact())

    return served_workspace(tmp_path_factory.mktemp("sequential-api"), save)


def _top(api, customer, session_items):
    response = api.client.get(f"/v1/recommendations/{customer}",
                              params={"k": 1, "placement": "pdp", "session_items": session_items},
                              headers=api.headers("read"))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_order_of_a_visits_items_decides_what_comes_next(make_api):
    api = make_api(holdout_share=0.0)
    response = api.client.put("/v1/customers/visitor-1/consent", json={"purposes": {"personalization": True}},
                              headers=api.headers("consent"))
    assert response.status_code == 200, response.text
    xy, yx = _top(api, "visitor-1", ["x", "y"]), _top(api, "visitor-1", ["y", "x"])
    assert [i["item_id"] for i in xy["items"]] == ["after-xy"] and xy["items"][0]["source"] == "session"
    assert [i["item_id"] for i in yx["items"]] == ["after-yx"]
    known = _top(api, "c1", ["x"])  # no consent on record: the popular list, the visit unread
    assert known["personalized"] is False and known["items"][0]["source"] == "popular"
