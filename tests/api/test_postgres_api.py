"""The same service on a PostgreSQL online store: events, idempotency, consent, erasure, health."""

from __future__ import annotations

import time
import uuid

import pytest

from api.messages import message


@pytest.fixture
def pg_api(make_api, online_postgres_database):
    return make_api(online_url=f"{online_postgres_database}?schema=api_{uuid.uuid4().hex[:10]}")


def test_events_are_stored_once_on_postgres(pg_api):
    batch = [message() for _ in range(20)]
    assert pg_api.post_events({"batch": batch}).json() == {"received": 20, "stored": 20, "duplicates": 0}
    assert pg_api.post_events({"batch": batch[:5] + [message()]}).json() == {
        "received": 6, "stored": 1, "duplicates": 5}
    assert pg_api.store.count("events") == 21


def test_consent_and_erasure_on_postgres(pg_api):
    consent = pg_api.headers("admin")
    pg_api.client.put("/v1/customers/C1/consent", json={"purposes": {"personalization": True}}, headers=consent)
    pg_api.client.put("/v1/customers/C1/consent", json={"purposes": {"personalization": False}}, headers=consent)
    state = pg_api.client.get("/v1/customers/C1/consent", headers=consent).json()
    assert state["personalization_allowed"] is False and len(state["history"]) == 2
    request = pg_api.client.delete("/v1/customers/C1", headers=consent)
    assert request.status_code == 202
    status = pg_api.client.get(f"/v1/erasure/{request.json()['request_id']}", headers=consent).json()
    assert status["status"] == "queued"


def test_health_reports_postgres(pg_api):
    assert pg_api.client.get("/health").json()["store"] == "postgres"


def test_decisions_on_postgres(make_api, online_postgres_database):
    api = make_api(online_url=f"{online_postgres_database}?schema=api_{uuid.uuid4().hex[:10]}", holdout_share=0.0,
                   variant_cap_per_day=1)
    api.client.put("/v1/customers/gardener2/consent", json={"purposes": {"personalization": True}},
                   headers=api.headers("admin"))
    answer = api.client.get("/v1/recommendations/gardener2", params={"k": 3}, headers=api.headers("read")).json()
    assert answer["personalized"] is True
    body = {"customer_id": "gardener2", "placement": "hero", "variants": ["a", "b"]}
    first = api.client.post("/v1/decide", json=body, headers=api.headers("read")).json()
    second = api.client.post("/v1/decide", json=body, headers=api.headers("read")).json()
    assert first["variant"] in ("a", "b") and second["variant"] is None  # the cap of one per day
    expected = {answer["decision_id"], first["decision_id"], second["decision_id"]}
    for _ in range(500):  # rows are committed by the group commit that follows each answer
        with api.store.db.read() as session:
            ids = {r["decision_id"] for r in session.execute("SELECT decision_id FROM decisions").fetchall()}
        if ids == expected:
            break
        time.sleep(0.01)
    assert ids == expected
