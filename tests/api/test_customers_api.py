"""Consent takes effect at once; erasure is queued and stops personalization immediately."""

from __future__ import annotations


def _consent(api, customer="C1"):
    response = api.client.get(f"/v1/customers/{customer}/consent", headers=api.headers("read"))
    assert response.status_code == 200, response.text
    return response.json()


def _put(api, purposes, customer="C1", source="cookie_banner"):
    return api.client.put(f"/v1/customers/{customer}/consent", json={"purposes": purposes, "source": source},
                          headers=api.headers("consent"))


def test_customer_never_asked_has_granted_nothing(api):
    state = _consent(api, "never-seen")
    assert state["personalization_allowed"] is False and state["history"] == []
    assert all(p == {"granted": False, "recorded_at": None, "source": None} for p in state["purposes"].values())
    assert set(state["purposes"]) == {"analytics", "personalization", "email", "sms", "pricing_profiling"}


def test_withdrawal_is_seen_by_the_next_read(api):
    granted = _put(api, {"personalization": True, "email": True})
    assert granted.status_code == 200 and granted.json()["personalization_allowed"] is True
    withdrawn = _put(api, {"personalization": False})
    assert withdrawn.json()["personalization_allowed"] is False
    state = _consent(api)
    assert state["personalization_allowed"] is False
    assert state["purposes"]["personalization"]["granted"] is False
    assert state["purposes"]["email"]["granted"] is True
    assert state["purposes"]["email"]["source"] == "cookie_banner"
    assert [(h["purpose"], h["granted"]) for h in state["history"]] == [
        ("personalization", False), ("personalization", True), ("email", True)]
    assert api.store.has_consent("C1", "personalization") is False


def test_consent_of_one_customer_leaves_others_alone(api):
    _put(api, {"personalization": True}, customer="C1")
    assert _consent(api, "C2")["personalization_allowed"] is False


def test_erasure_is_queued_and_stops_personalization_at_once(api):
    _put(api, {"personalization": True})
    response = api.client.delete("/v1/customers/C1", headers=api.headers("admin"))
    assert response.status_code == 202
    request = response.json()
    assert request["status"] == "queued" and request["request_id"].startswith("er_") and request["done_at"] is None
    state = _consent(api)
    assert state["erasure_requested"] is True and state["personalization_allowed"] is False
    assert not any(p["granted"] for p in state["purposes"].values())
    _put(api, {"personalization": True})  # a grant while erasure is pending does not personalize either
    assert _consent(api)["personalization_allowed"] is False
    status = api.client.get(f"/v1/erasure/{request['request_id']}", headers=api.headers("read"))
    assert status.status_code == 200 and status.json() == request


def test_asking_erasure_twice_returns_the_queued_request(api):
    first = api.client.delete("/v1/customers/C9", headers=api.headers("admin")).json()
    second = api.client.delete("/v1/customers/C9", headers=api.headers("admin")).json()
    assert first["request_id"] == second["request_id"]
    assert api.store.count("erasure_requests") == 1


def test_finished_erasure_reports_done(api):
    request = api.client.delete("/v1/customers/C3", headers=api.headers("admin")).json()
    assert api.store.mark_erasure_done(request["request_id"]) is True
    status = api.client.get(f"/v1/erasure/{request['request_id']}", headers=api.headers("read")).json()
    assert status["status"] == "done" and status["done_at"] is not None
    assert _consent(api, "C3")["erasure_requested"] is False


def test_admin_key_may_do_everything(api):
    assert api.client.put("/v1/customers/C1/consent", json={"purposes": {"sms": False}},
                          headers=api.headers("admin")).status_code == 200
    assert api.client.get("/v1/customers/C1/consent", headers=api.headers("admin")).status_code == 200
