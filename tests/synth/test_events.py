"""events.jsonl: Segment-spec track messages consistent with the orders they describe."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from storelift.schema import SEGMENT_EVENTS
from storelift.synth import generate_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    generate_store(root, customers=1_500, seed=5, events=True)
    messages = [json.loads(line) for line in (root / "events.jsonl").open()]
    orders = pd.read_parquet(root / "orders.parquet")
    lines = pd.read_parquet(root / "order_lines.parquet")
    customers = pd.read_parquet(root / "customers.parquet")
    return messages, orders, lines, customers


def test_every_line_is_a_segment_track_message(store):
    messages = store[0]
    assert len(messages) > 0
    for m in messages:
        assert set(m) == {"messageId", "type", "event", "userId", "anonymousId", "timestamp", "properties",
                          "context"}
        assert m["type"] == "track" and m["event"] in SEGMENT_EVENTS
        assert m["timestamp"].endswith("Z") and len(m["timestamp"]) == 20
        assert m["anonymousId"]
    assert len({m["messageId"] for m in messages}) == len(messages)
    names = {m["event"] for m in messages}
    assert {"Product Viewed", "Product Added", "Cart Viewed", "Checkout Started", "Order Completed",
            "Products Searched", "Product Clicked", "Email Delivered", "Email Opened"} <= names


def test_every_order_has_one_order_completed_that_matches_it(store):
    messages, orders, lines, _ = store
    completed = {m["properties"]["order_id"]: m for m in messages if m["event"] == "Order Completed"}
    assert len(completed) == sum(m["event"] == "Order Completed" for m in messages)
    assert set(completed) == set(orders.order_id)
    revenue = lines.groupby("order_id").amount.sum() - orders.set_index("order_id").discount_amount
    by_order = lines.groupby("order_id")
    for row in orders.sample(200, random_state=0).itertuples():
        m = completed[row.order_id]
        assert m["userId"] == row.customer_id
        assert m["context"]["sessionId"] == row.session_id
        assert pd.Timestamp(m["timestamp"].rstrip("Z")) == row.ordered_at
        assert m["properties"]["revenue"] == pytest.approx(revenue[row.order_id], abs=0.011)
        sold = by_order.get_group(row.order_id)
        assert [p["product_id"] for p in m["properties"]["products"]] == list(sold.product_id)
        assert [p["quantity"] for p in m["properties"]["products"]] == list(sold.quantity)


def test_order_sessions_run_from_browsing_to_checkout(store):
    messages, orders, _, _ = store
    session = orders.session_id.iloc[0]
    funnel = [m for m in messages if m["context"].get("sessionId") == session]
    names = [m["event"] for m in funnel]
    assert names[-2:] == ["Checkout Started", "Order Completed"]
    assert names.index("Product Viewed") < names.index("Product Added")
    times = [m["timestamp"] for m in funnel]
    assert times == sorted(times)


def test_anonymous_sessions_come_before_sign_up(store):
    messages, _, _, customers = store
    created = customers.set_index("customer_id").created_at
    device = {}
    for m in messages:
        if m["userId"] is not None:
            device.setdefault(m["anonymousId"], m["userId"])
    anonymous = [m for m in messages if m["userId"] is None]
    assert 0 < len(anonymous) < 0.1 * len(messages)
    for m in anonymous[:200]:
        assert pd.Timestamp(m["timestamp"].rstrip("Z")) < created[device[m["anonymousId"]]]


def test_searches_carry_a_query_and_products_carry_spec_fields(store):
    messages = store[0]
    searched = [m for m in messages if m["event"] == "Products Searched"]
    assert all(isinstance(m["properties"]["query"], str) and m["properties"]["query"] for m in searched)
    viewed = [m for m in messages if m["event"] == "Product Viewed"][:500]
    for m in viewed:
        assert {"product_id", "sku", "name", "category", "price", "currency"} <= set(m["properties"])
    assert np.mean([" > " in m["properties"]["category"] for m in viewed]) == 1.0
