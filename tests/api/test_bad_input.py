"""Every way a request can be wrong gets a 4xx JSON error that names the problem and the fix."""

from __future__ import annotations

import pytest

from api.messages import message


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code, error
    assert len(error["message"]) > 20
    return error


def _post_raw(api, content: bytes, content_type: str = "application/json"):
    return api.client.post("/v1/events", content=content,
                           headers={**api.headers("ingest"), "Content-Type": content_type})


def test_malformed_json_is_400(api):
    error = _error(_post_raw(api, b'{"event": '), 400, "malformed_json")
    assert "not valid JSON" in error["message"]


def test_body_not_sent_as_json_is_415(api):
    error = _error(_post_raw(api, b"event=Product+Viewed", "application/x-www-form-urlencoded"), 415,
                   "unsupported_media_type")
    assert "application/json" in error["message"]


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42"])
def test_body_that_is_not_an_object_is_422(api, body):
    error = _error(_post_raw(api, body), 422, "invalid_request")
    assert "JSON object" in error["message"]


def test_empty_body_is_422(api):
    assert "no body" in _error(_post_raw(api, b""), 422, "invalid_request")["message"]


@pytest.mark.parametrize("fields, field, words", [
    ({"messageId": None}, "messageId", "must be"),
    ({"messageId": 17}, "messageId", "must be"),
    ({"timestamp": "yesterday"}, "timestamp", "ISO 8601"),
    ({"timestamp": "2024-05-01T12:00:00"}, "timestamp", "time zone"),
    ({"timestamp": 1714564800}, "timestamp", "ISO 8601"),
    ({"timestamp": "1970-01-01T00:00:00Z"}, "timestamp", "before"),
    ({"timestamp": "2999-01-01T00:00:00Z"}, "timestamp", "future"),
    ({"event": "Prodcut Viewed"}, "event", "custom_events"),
    ({"event": None}, "event", "needs event"),
    ({"userId": None}, "userId", "userId or anonymousId"),
    ({"properties": {"price": "9.50"}}, "properties.price", "number"),
    ({"properties": {"total": 10**400}}, "properties.total", "beyond any amount"),
    ({"properties": {"currency": "EURO"}}, "properties.currency", "ISO 4217"),
    ({"properties": {"product_id": {"id": 1}}}, "properties.product_id", "string"),
    ({"properties": "none"}, "properties", "must be"),
    ({"type": "screen"}, "type", "track"),
])
def test_wrong_field_is_422_naming_the_field(api, fields, field, words):
    error = _error(api.post_events(message(**fields)), 422, "invalid_request")
    assert error["field"] == field, error
    assert words in error["message"], error["message"]
    assert api.store.count("events") == 0


def test_missing_message_id_says_why_it_is_needed(api):
    msg = message()
    del msg["messageId"]
    error = _error(api.post_events(msg), 422, "invalid_request")
    assert error["field"] == "messageId" and "stored once" in error["message"]
    assert error["errors"][0]["code"] == "missing_field"


def test_impression_without_position_is_422(api):
    msg = message(event="Recommendation Shown", properties={"decision_id": "d-1"})
    error = _error(api.post_events(msg), 422, "invalid_request")
    assert error["field"] == "properties.position"


def test_batch_with_bad_messages_lists_each_and_stores_nothing(api):
    bad_time = message(timestamp="01/05/2024")
    no_id = message()
    del no_id["messageId"]
    batch = [message(), bad_time, message(), no_id, message(event="Nope")]
    error = _error(api.post_events({"batch": batch}), 422, "invalid_request")
    assert "3 of 5 messages are invalid; nothing was stored" in error["message"]
    assert [(e["index"], e["field"]) for e in error["errors"]] == [(1, "timestamp"), (3, "messageId"), (4, "event")]
    assert api.store.count("events") == 0


def test_batch_over_the_limit_is_422_asking_to_split(make_api):
    small = make_api(max_batch_messages=3)
    error = _error(small.post_events({"batch": [message() for _ in range(4)]}), 422, "invalid_request")
    assert error["field"] == "batch" and "split" in error["message"]


def test_empty_batch_is_422(api):
    assert _error(api.post_events({"batch": []}), 422, "invalid_request")["field"] == "batch"


def test_oversize_body_is_413_before_it_is_read(make_api):
    small = make_api(max_body_bytes=2_000)
    error = _error(small.post_events({"batch": [message() for _ in range(30)]}), 413, "body_too_large")
    assert "2,000 bytes" in error["message"]
    assert small.store.count("events") == 0


def test_oversize_body_without_length_is_413_while_streaming(make_api):
    small = make_api(max_body_bytes=2_000)
    chunks = (b" " * 500 for _ in range(10))  # a generator: sent chunked, with no Content-Length
    response = small.client.post("/v1/events", content=chunks,
                                 headers={**small.headers("ingest"), "Content-Type": "application/json"})
    assert "2,000 bytes" in _error(response, 413, "body_too_large")["message"]


def test_missing_key_is_401_with_how_to_send_one(api):
    response = api.client.post("/v1/events", json=message())
    error = _error(response, 401, "missing_api_key")
    assert "Authorization: Bearer" in error["message"] and response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("key", ["nonsense", "slk_0123456789abcdef_" + "x" * 43])
def test_unknown_key_is_401(api, key):
    response = api.client.post("/v1/events", json=message(), headers={"Authorization": f"Bearer {key}"})
    _error(response, 401, "invalid_api_key")


def test_key_in_x_api_key_header_is_accepted(api):
    response = api.client.post("/v1/events", json=message(), headers={"X-API-Key": api.keys["ingest"]})
    assert response.status_code == 200


def test_revoked_key_is_401(make_api):
    fresh = make_api(key_cache_ttl_s=0)
    assert fresh.post_events(message()).status_code == 200
    fresh.store.revoke_api_key(fresh.keys["ingest"].split("_")[1])
    _error(fresh.post_events(message()), 401, "revoked_api_key")


@pytest.mark.parametrize("method, path, scope, body", [
    ("post", "/v1/events", "read", None),
    ("post", "/v1/identify", "read", {"userId": "C1", "anonymousId": "a"}),
    ("get", "/v1/customers/C1/consent", "ingest", None),
    ("put", "/v1/customers/C1/consent", "ingest", {"purposes": {"email": True}}),
    ("delete", "/v1/customers/C1", "consent", None),
    ("get", "/metrics", "read", None),
])
def test_key_without_the_scope_is_403_naming_it(api, method, path, scope, body):
    if path == "/v1/events":
        body = message()
    kwargs = {"json": body} if body is not None else {}
    response = api.client.request(method.upper(), path, headers=api.headers(scope), **kwargs)
    error = _error(response, 403, "insufficient_scope")
    assert "--scope" in error["message"]


def test_rate_limited_key_gets_429_with_retry_after(api):
    _, secret = api.store.create_api_key("slow", ["ingest"], rate_limit_per_s=2)
    statuses = [api.client.post("/v1/events", json=message(), headers={"X-API-Key": secret}) for _ in range(4)]
    assert [r.status_code for r in statuses[:2]] == [200, 200]
    limited = statuses[-1]
    error = _error(limited, 429, "rate_limited")
    assert int(limited.headers["Retry-After"]) >= 1 and "2 requests per second" in error["message"]


def test_unknown_route_is_404_json(api):
    _error(api.client.get("/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405_json(api):
    response = api.client.get("/v1/events", headers=api.headers("read"))
    _error(response, 405, "method_not_allowed")


def test_unknown_erasure_request_is_404(api):
    error = _error(api.client.get("/v1/erasure/er_missing", headers=api.headers("read")), 404,
                   "erasure_request_not_found")
    assert error["field"] == "request_id"


@pytest.mark.parametrize("body, field", [
    ({"purposes": {"marketing_calls": True}}, "purposes.marketing_calls"),
    ({"purposes": {"email": "yes"}}, "purposes.email"),
    ({"purposes": {}}, "purposes"),
    ({"source": "banner"}, "purposes"),
])
def test_bad_consent_update_is_422(api, body, field):
    response = api.client.put("/v1/customers/C1/consent", json=body, headers=api.headers("consent"))
    assert _error(response, 422, "invalid_request")["field"] == field
    assert api.store.count("consents") == 0


def test_locked_store_is_503_with_retry_after(make_api):
    import sqlite3

    busy = make_api(busy_timeout_s=0.2)
    holder = sqlite3.connect(busy.store.db.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = busy.post_events(message())
        error = _error(response, 503, "store_unavailable")
        assert response.headers["Retry-After"] == "1" and "retry" in error["message"]
        assert _error(busy.client.get("/health"), 503, "store_unavailable")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.post_events(message()).status_code == 200


def test_a_bug_is_a_generic_500_and_is_logged(api, caplog):
    def broken(customer_id, history_limit=100):
        raise RuntimeError("secret internal detail")

    api.store.consent = broken
    response = api.client.get("/v1/customers/C1/consent", headers=api.headers("read"))
    error = _error(response, 500, "internal_error")
    assert "secret internal detail" not in response.text and "Traceback" not in response.text
    assert response.headers["x-request-id"] in error["message"]
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records if r.levelname == "ERROR")
