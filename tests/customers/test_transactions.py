"""customer_orders: identified customers' orders with net value, and refunds only up to a date when asked."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from storelift.customers import customer_orders


def tables():
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4"],
        "customer_id": ["a", "a", None, "b"],
        "ordered_at": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-02", "2024-03-01"]),
        "currency": "EUR",
        "status": [None, "completed", None, "cancelled"],
    })
    lines = pd.DataFrame({"order_id": ["o1", "o1", "o2", "o3", "o4"], "amount": [10.0, 5.0, 40.0, 7.0, 9.0]})
    refunds = pd.DataFrame({
        "order_id": ["o1", "o2", None],
        "refunded_at": pd.to_datetime(["2024-01-10", "2024-03-15", "2024-01-05"]),
        "amount": [5.0, 50.0, 3.0],
    })
    return ibis.memtable(orders), ibis.memtable(lines), ibis.memtable(refunds)


def test_guests_and_cancelled_orders_are_left_out_and_value_is_net_of_linked_refunds():
    out = customer_orders(*tables()).execute().set_index("order_id").sort_index()
    assert list(out.index) == ["o1", "o2"]
    assert out.loc["o1", "gross"] == pytest.approx(15.0) and out.loc["o1", "value"] == pytest.approx(10.0)
    assert out.loc["o2", "refunded"] == pytest.approx(50.0) and out.loc["o2", "value"] == 0.0  # never negative


def test_refunds_before_a_date_ignore_later_refunds():
    out = customer_orders(*tables(), refunds_before="2024-03-01").execute().set_index("order_id")
    assert out.loc["o1", "refunded"] == pytest.approx(5.0)
    assert out.loc["o2", "refunded"] == 0.0 and out.loc["o2", "value"] == pytest.approx(40.0)
