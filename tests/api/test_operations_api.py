"""Health, metrics, request logs and the OpenAPI document."""

from __future__ import annotations

import json
import logging
import os

from api.messages import message


def test_health_needs_no_key_and_writes_the_store(api):
    response = api.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "sqlite", "process": os.getpid()}
    with api.store.db.read() as session:
        assert session.execute("SELECT count(*) AS n FROM health_checks").fetchone()["n"] == 1


def test_metrics_need_the_metrics_scope(api):
    assert api.client.get("/metrics").status_code == 401
    assert api.client.get("/metrics", headers=api.headers("ingest")).status_code == 403
    assert api.client.get("/metrics", headers=api.headers("metrics")).status_code == 200


def test_metrics_can_be_public(make_api):
    assert make_api(public_metrics=True).client.get("/metrics").status_code == 200


def _sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_count_requests_by_route_template_and_events(api):
    before = api.client.get("/metrics", headers=api.headers("metrics")).text
    msg = message()
    api.post_events({"batch": [msg, message()]})
    api.post_events(msg)
    api.client.get("/v1/customers/C-secret-77/consent", headers=api.headers("read"))
    text = api.client.get("/metrics", headers=api.headers("metrics")).text
    assert text.startswith("# HELP")
    route = 'storelift_http_requests_total{method="POST",route="/v1/events",status="200"}'
    assert _sample(text, route) - _sample(before, route) == 2
    assert 'route="/v1/customers/{customer_id}/consent"' in text and "C-secret-77" not in text
    for name, delta in (("storelift_events_received_total", 3), ("storelift_events_stored_total", 2),
                        ("storelift_events_duplicate_total", 1)):
        assert _sample(text, name) - _sample(before, name) == delta, name
    assert _sample(text, "storelift_http_request_duration_seconds_count") > 0
    assert _sample(text, "storelift_event_commits_total") >= 2


def test_one_json_log_line_per_request_without_customer_data(api, caplog):
    from storelift.api.logs import JsonFormatter

    caplog.set_level(logging.INFO, logger="storelift.api.access")
    api.client.get("/v1/customers/ada@example.com/consent", headers=api.headers("read"))
    [record] = [r for r in caplog.records if r.name == "storelift.api.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/v1/customers/{customer_id}/consent" and line["status"] == 200
    assert line["method"] == "GET" and line["latency_ms"] >= 0 and line["time"]
    assert line["key_id"] == api.keys["read"].split("_")[1]
    text = json.dumps(line)
    assert "ada@example.com" not in text and "testclient" not in text and "127.0.0.1" not in text


def test_a_lean_path_answer_is_logged_and_counted_like_any_other(make_api, caplog):
    from storelift.api.logs import JsonFormatter

    api = make_api()
    before = api.client.get("/metrics", headers=api.headers("metrics")).text
    caplog.set_level(logging.INFO, logger="storelift.api.access")
    answer = api.client.get("/v1/recommendations/ada@example.com", params={"k": 2}, headers=api.headers("read"))
    assert answer.status_code == 200
    [record] = [r for r in caplog.records if r.name == "storelift.api.access"]
    line = json.loads(JsonFormatter().format(record))
    assert line["route"] == "/v1/recommendations/{customer_id}" and line["status"] == 200
    assert line["method"] == "GET" and line["latency_ms"] >= 0
    assert line["request_id"] == answer.headers["x-request-id"]
    assert line["key_id"] == api.keys["read"].split("_")[1] and "ada@example.com" not in json.dumps(line)
    text = api.client.get("/metrics", headers=api.headers("metrics")).text
    name = 'storelift_http_requests_total{method="GET",route="/v1/recommendations/{customer_id}",status="200"}'
    assert _sample(text, name) - _sample(before, name) == 1


def test_openapi_documents_errors_examples_and_security(api):
    schema = api.client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "HTTPValidationError" not in components  # every 422 uses the storelift error body
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s.startswith(("4", "5"))}
            assert errors, (method, path)
            for status, response in errors.items():
                assert response["content"]["application/json"]["schema"] == error_ref, (method, path, status)
            if path.startswith("/v1") or path == "/metrics":
                assert {"HTTPBearer": []} in operation["security"] and {"APIKeyHeader": []} in operation["security"]
    events = schema["paths"]["/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert set(events["examples"]) == {"one", "batch"}
    assert components["EventMessage"]["examples"] and components["ConsentUpdate"]["examples"]
    assert "Product Viewed" in components["EventMessage"]["properties"]["event"]["anyOf"][0]["enum"]
    assert all(p.get("description") for p in components["EventMessage"]["properties"].values())
    assert api.client.get("/docs").status_code == 200
