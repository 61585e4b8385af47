"""Decisions out: consent, the persistent holdout, decision rows, frequency caps, hot model reload."""

from __future__ import annotations

import json
import time

import pytest

from api.conftest import GARDEN, KITCHEN, save_served_models
from storelift.experiments import Experiment


def _recs(api, customer, **params):
    response = api.client.get(f"/v1/recommendations/{customer}", params={"k": 3, **params},
                              headers=api.headers("read"))
    assert response.status_code == 200, response.text
    return response.json()


def _grant(api, customer, granted=True):
    response = api.client.put(f"/v1/customers/{customer}/consent", json={"purposes": {"personalization": granted}},
                              headers=api.headers("consent"))
    assert response.status_code == 200, response.text


def _decision(api, decision_id, timeout_s=5.0):
    """The decision's row, once the group commit that follows the answer has written it."""
    deadline = time.monotonic() + timeout_s
    while True:
        with api.store.db.read() as session:
            row = session.execute("SELECT * FROM decisions WHERE decision_id = ?", (decision_id,)).fetchone()
        if row is not None or time.monotonic() > deadline:
            assert row is not None, f"decision {decision_id} was never written"
            return dict(row)
        time.sleep(0.01)


def test_withdrawing_consent_changes_the_very_next_answer_to_the_popular_list(make_api):
    api = make_api(holdout_share=0.0)
    never_asked = _recs(api, "gardener0")
    assert never_asked["personalized"] is False and {i["item_id"] for i in never_asked["items"]} <= set(KITCHEN)
    _grant(api, "gardener0")
    personal = _recs(api, "gardener0")
    assert personal["personalized"] is True and personal["arm"] == "treatment"
    assert {i["item_id"] for i in personal["items"]} <= set(GARDEN)
    assert all(i["reason"].startswith("because you showed interest in g") for i in personal["items"])
    _grant(api, "gardener0", granted=False)
    after = _recs(api, "gardener0")
    assert after["personalized"] is False and {i["item_id"] for i in after["items"]} <= set(KITCHEN)
    assert "consent" in after["explanation"]
    row = _decision(api, after["decision_id"])
    assert (row["customer_id"], row["initiative"], row["has_consent"], row["arm"]) == (
        "gardener0", "recommendations", 0, "treatment")
    assert json.loads(row["shown"])["items"] == [i["item_id"] for i in after["items"]]
    assert row["model_version"] == after["model_version"] == "recommend-itemknn-20240501-1"


def test_a_new_visitor_gets_the_popular_list_of_the_context_the_request_names(make_api):
    api = make_api(holdout_share=0.0)
    anywhere = _recs(api, "visitor-1")
    assert {i["item_id"] for i in anywhere["items"]} <= set(KITCHEN)
    in_germany = _recs(api, "visitor-1", context="DE")
    assert {i["item_id"] for i in in_germany["items"]} <= set(GARDEN) and in_germany["personalized"] is False
    assert all(i["reason"] == "popular with DE shoppers" for i in in_germany["items"])
    assert json.loads(_decision(api, in_germany["decision_id"])["shown"])["context"] == "DE"
    assert _recs(api, "visitor-1", context="checkout page")["items"] == anywhere["items"]  # names no segment
    assert _recs(api, "visitor-1", context="de")["items"] == in_germany["items"]  # a storefront's locale


def test_erasure_request_stops_personalization_at_once(make_api):
    api = make_api(holdout_share=0.0)
    _grant(api, "gardener1")
    assert _recs(api, "gardener1")["personalized"] is True
    assert api.client.delete("/v1/customers/gardener1", headers=api.headers("admin")).status_code == 202
    assert _recs(api, "gardener1")["personalized"] is False


def test_the_holdout_gets_the_popular_list_whatever_the_consent(make_api):
    api = make_api(holdout_share=0.5)
    experiment = Experiment("recommendations", arms=(("treatment", 1.0),), holdout_share=0.5)
    held = next(f"gardener{u}" for u in range(40) if experiment.assign(f"gardener{u}") == "holdout")
    treated = next(f"gardener{u}" for u in range(40) if experiment.assign(f"gardener{u}") == "treatment")
    for customer in (held, treated):
        _grant(api, customer)
    assert _recs(api, held)["arm"] == "holdout" and _recs(api, held)["personalized"] is False
    assert _recs(api, treated)["arm"] == "treatment" and _recs(api, treated)["personalized"] is True


def test_a_new_visitor_is_folded_in_from_session_items(make_api):
    api = make_api(holdout_share=0.0)
    _grant(api, "visitor-1")
    cold = _recs(api, "visitor-1")
    assert cold["personalized"] is False
    warm = _recs(api, "visitor-1", session_items=["g0", "g1"])
    assert warm["personalized"] is True and {i["item_id"] for i in warm["items"]} <= set(GARDEN) - {"g0", "g1"}
    assert all(i["source"] == "session" for i in warm["items"])


def test_variants_are_assigned_deterministically_and_capped(make_api):
    api = make_api(holdout_share=0.0, variant_cap_per_day=2)
    _grant(api, "cook1")
    body = {"customer_id": "cook1", "placement": "home-hero", "variants": ["default", "spring", "free-ship"]}
    first = api.client.post("/v1/decide", json=body, headers=api.headers("read")).json()
    expected = Experiment("home-hero", arms=(("default", 1.0), ("spring", 1.0), ("free-ship", 1.0))).assign("cook1")
    assert first["variant"] == expected and first["arm"] == expected
    second = api.client.post("/v1/decide", json=body, headers=api.headers("read")).json()
    assert second["variant"] == expected
    third = api.client.post("/v1/decide", json=body, headers=api.headers("read")).json()
    assert third["variant"] is None and "frequency cap" in third["explanation"]
    stranger = api.client.post("/v1/decide", json={**body, "customer_id": "no-consent"},
                               headers=api.headers("read")).json()
    assert stranger["variant"] == "default" and "consent" in stranger["explanation"]
    listing = api.client.post("/v1/decide", json={"customer_id": "cook1", "placement": "cart", "k": 2},
                              headers=api.headers("read")).json()
    assert len(listing["items"]) == 2 and listing["variant"] is None


def test_similar_items_and_customer_scores(api):
    similar = api.client.get("/v1/items/g0/similar", params={"k": 3}, headers=api.headers("read"))
    assert similar.status_code == 200
    assert {i["item_id"] for i in similar.json()["items"]} <= set(GARDEN) - {"g0"}
    unknown = api.client.get("/v1/items/nope/similar", headers=api.headers("read"))
    assert unknown.status_code == 404 and "nope" in unknown.json()["error"]["message"]
    profile = api.client.get("/v1/customers/cook0", headers=api.headers("read"))
    assert profile.status_code == 200
    assert profile.json()["scores"] == {"rfm_segment": "At risk", "clv_12m": 42.0, "churn_probability": 0.7,
                                        "churn_reasons": "days since last order 200"}
    assert api.client.get("/v1/customers/ghost", headers=api.headers("read")).status_code == 404


def test_a_new_model_version_is_served_without_a_restart_or_a_failed_request(make_api, api_workspace):
    api = make_api(model_check_s=0.0)
    assert _recs(api, "cook2")["model_version"] == "recommend-itemknn-20240501-1"
    save_served_models(api_workspace / "models", version="recommend-itemknn-20240501-2")
    try:
        versions = set()
        for _ in range(200):  # every answer during the reload is a 200 from the old or the new model
            versions.add(_recs(api, "cook2")["model_version"])
            if "recommend-itemknn-20240501-2" in versions:
                break
        assert "recommend-itemknn-20240501-2" in versions
        assert versions <= {"recommend-itemknn-20240501-1", "recommend-itemknn-20240501-2"}
    finally:
        import shutil

        shutil.rmtree(api_workspace / "models" / "recommend-itemknn-20240501-2")


@pytest.mark.parametrize("path, params, scope, status, field", [
    ("/v1/recommendations/C1", {"k": 0}, "read", 422, "k"),
    ("/v1/recommendations/C1", {"placement": "home page"}, "read", 422, "placement"),
    ("/v1/recommendations/C1", {}, "ingest", 403, None),
    ("/v1/experiments/x/assignment", {"unit_id": "C1", "arms": ["a:heavy"]}, "read", 422, "arms"),
    ("/v1/experiments/x/assignment", {"unit_id": "C1", "arms": ["a:0"]}, "read", 422, "arms"),
])
def test_bad_requests_get_4xx_naming_the_problem(api, path, params, scope, status, field):
    response = api.client.get(path, params=params, headers=api.headers(scope))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if field:
        assert field in json.dumps(error)


def test_assignment_is_deterministic(api):
    params = {"unit_id": "C77", "arms": ["control", "treatment:3"]}
    answers = {api.client.get("/v1/experiments/banner/assignment", params=params,
                              headers=api.headers("read")).json()["arm"] for _ in range(3)}
    assert answers == {Experiment("banner", arms=(("control", 1.0), ("treatment", 3.0)),
                                  holdout_share=0.05).assign("C77")}


def test_without_a_saved_model_recommendations_answer_503_with_the_fix(tmp_path):
    from fastapi.testclient import TestClient

    from storelift import Workspace
    from storelift.api import ServeSettings, create_app

    Workspace.init(tmp_path / "empty").close()
    app = create_app(tmp_path / "empty", ServeSettings())
    with TestClient(app) as client:
        key = app.state.services.store.create_api_key("t", ["read"])[1]
        response = client.get("/v1/recommendations/C1", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 503 and "storelift recommend fit" in response.json()["error"]["message"]


def test_a_repeated_single_value_parameter_is_refused(api):
    response = api.client.get("/v1/recommendations/C1?k=3&k=5", headers=api.headers("read"))
    assert response.status_code == 422 and "'k' is given 2 times" in response.json()["error"]["message"]
    listed = api.client.get("/v1/recommendations/C1?session_items=g0&session_items=g1", headers=api.headers("read"))
    assert listed.status_code == 200


def test_the_fast_path_answers_exactly_as_the_route(make_api):
    from storelift.api.fast_path import parse_request

    api = make_api(holdout_share=0.0)
    _grant(api, "gardener4")
    params = {"k": 4, "placement": "pdp", "session_items": ["g1"], "context": "mobile"}
    fresh = api.store.create_api_key("fresh", ["read"], rate_limit_per_s=0)[1]
    headers = {"Authorization": f"Bearer {fresh}"}
    from fastapi.testclient import TestClient

    route_only = TestClient(api.client.app.app)  # the FastAPI app behind the lean path
    by_route = route_only.get("/v1/recommendations/gardener4", params=params, headers=headers)
    by_fast_path = api.client.get("/v1/recommendations/gardener4", params=params, headers=headers)
    assert by_route.status_code == by_fast_path.status_code == 200
    first, second = by_route.json(), by_fast_path.json()
    assert first.pop("decision_id") != second.pop("decision_id")
    assert first == second
    assert _decision(api, by_fast_path.json()["decision_id"])["placement"] == "pdp"
    scope = {"method": "GET", "path": "/v1/recommendations/C1", "query_string": b""}
    assert parse_request(scope)["k"] == 10
    for bad in (b"k=0", b"k=101", b"k=x", b"k=1&k=2", b"placement=a%20b", b"other=1"):
        assert parse_request({**scope, "query_string": bad}) is None, bad  # left to the route's errors
