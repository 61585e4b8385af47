"""POST /v1/events and /v1/identify: what is stored, how it is acknowledged, what is never stored."""

from __future__ import annotations

import json

from api.messages import message


def _rows(store, sql, params=()):
    with store.db.read() as session:
        return [dict(r) for r in session.execute(sql, params).fetchall()]


def test_one_message_is_stored_and_acknowledged(api):
    msg = message(anonymousId="a-1", context={"sessionId": "s-9"})
    response = api.post_events(msg)
    assert response.status_code == 200
    assert response.json() == {"received": 1, "stored": 1, "duplicates": 0}
    [row] = _rows(api.store, "SELECT * FROM events")
    assert row["event_id"] == msg["messageId"]
    assert (row["event"], row["customer_id"], row["anonymous_id"], row["session_id"]) == \
        ("Product Viewed", "C1", "a-1", "s-9")
    assert (row["product_id"], row["value"], row["currency"], row["source"]) == ("P1", 9.5, "EUR", "api")
    assert row["occurred_at"].startswith("2024-05-01T12:00:00") and row["received_at"]


def test_same_message_id_twice_is_stored_once(api):
    msg = message()
    assert api.post_events(msg).json() == {"received": 1, "stored": 1, "duplicates": 0}
    assert api.post_events(msg).json() == {"received": 1, "stored": 0, "duplicates": 1}
    assert api.store.count("events") == 1


def test_batch_counts_new_and_duplicate_messages(api):
    first = [message() for _ in range(3)]
    api.post_events({"batch": first})
    repeat_inside = message()
    response = api.post_events({"batch": first[:2] + [message(), repeat_inside, repeat_inside]})
    assert response.json() == {"received": 5, "stored": 2, "duplicates": 3}
    assert api.store.count("events") == 5


def test_page_call_is_stored_as_page_viewed(api):
    msg = message(type="page", properties={"path": "/sale"})
    del msg["event"]
    assert api.post_events(msg).status_code == 200
    assert _rows(api.store, "SELECT event FROM events") == [{"event": "Page Viewed"}]


def test_emails_and_phones_in_properties_are_pseudonymized(api):
    msg = message(event="Products Searched",
                  properties={"query": "gift for ada@example.com", "note": "call +44 20 7946 0958"})
    assert api.post_events(msg).status_code == 200
    [row] = _rows(api.store, "SELECT query, properties FROM events")
    assert "ada@example.com" not in row["query"] and "psn_" in row["query"]
    assert "7946" not in row["properties"] and "psn_" in row["properties"]


def test_context_other_than_session_is_not_stored(api):
    msg = message(context={"ip": "203.0.113.9", "userAgent": "Mozilla/5.0", "sessionId": "s-1"})
    api.post_events(msg)
    stored = json.dumps(_rows(api.store, "SELECT * FROM events"))
    assert "203.0.113.9" not in stored and "Mozilla" not in stored


def test_recommendation_impression_keeps_decision_and_position(api):
    msg = message(event="Recommendation Shown", properties={"decision_id": "d-1", "position": 3, "product_id": "P7"})
    assert api.post_events(msg).status_code == 200
    [row] = _rows(api.store, "SELECT decision_id, properties FROM events")
    assert row["decision_id"] == "d-1" and json.loads(row["properties"])["position"] == 3


def test_custom_event_of_the_workspace_is_accepted(api_workspace, make_api):
    config = api_workspace / "storelift.toml"
    original = config.read_text()
    config.write_text(original.replace("custom_events = []", 'custom_events = ["Gift Card Redeemed"]'))
    try:
        custom = make_api()
    finally:
        config.write_text(original)
    assert custom.post_events(message(event="Gift Card Redeemed")).status_code == 200


def test_identify_links_ids_and_stores_no_raw_pii(api):
    body = {"userId": "C1", "anonymousId": "a-1", "timestamp": "2024-05-01T12:00:00Z",
            "traits": {"email": "Ada@Example.com", "phone": "+44 20 7946 0958", "firstName": "Ada",
                       "name": "Ada Lovelace", "address": {"street": "1 Main St", "city": "Leeds"}}}
    response = api.client.post("/v1/identify", json=body, headers=api.headers("ingest"))
    assert response.status_code == 200
    result = response.json()
    assert result["linked"] is True
    assert result["dropped_traits"] == ["name"]
    assert result["kept_traits"] == ["city", "email", "first_name", "phone", "street_address"]
    [row] = _rows(api.store, "SELECT * FROM identities")
    assert (row["anonymous_id"], row["customer_id"]) == ("a-1", "C1")
    stored = json.loads(row["traits"])
    for raw in ("Ada", "ada@example.com", "+44 20 7946 0958", "1 Main St", "Ada Lovelace"):
        for value in map(str, stored.values()):
            assert value.lower() != raw.lower()
            if len(raw) > 4:  # a hex pseudonym may hold a short run such as "ada" by chance
                assert raw.lower() not in value.lower()
    assert json.loads(row["traits"])["city"] == "Leeds"
    again = api.client.post("/v1/identify", json=body, headers=api.headers("ingest"))
    assert again.json()["linked"] is False
    assert api.store.count("identities") == 1
