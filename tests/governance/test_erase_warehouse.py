"""Warehouse erasure on every engine: the customer's rows go, their sales stay anonymized, others stay."""

import pandas as pd
import pytest

from storelift.governance.erase_warehouse import erase_warehouse
from storelift.governance.traces import scan_warehouse, token_pattern


@pytest.fixture(params=["warehouse", "own_postgres_warehouse"])
def engine(request):
    return request.getfixturevalue(request.param)


def test_erase_warehouse_on_each_engine(engine):
    wh = engine
    gone, kept = "cust-erase-7", "cust-keep-8"
    wh.insert("customers", pd.DataFrame({"customer_id": [gone, kept], "country": ["DE", "FR"]}))
    wh.insert("orders", pd.DataFrame({
        "order_id": [f"{gone}-o1", "o-keep-1"], "customer_id": [gone, kept], "currency": ["EUR", "EUR"],
        "ordered_at": [pd.Timestamp("2025-01-02"), pd.Timestamp("2025-01-03")]}))
    wh.insert("order_lines", pd.DataFrame({"order_id": [f"{gone}-o1", "o-keep-1"], "line_number": [1, 1],
                                           "product_id": ["p1", "p1"], "quantity": [1.0, 2.0], "amount": [5.0, 10.0]}))
    wh.insert("events", pd.DataFrame({"event_id": ["ev-g", "ev-k"], "event": ["Product Viewed"] * 2,
                                      "customer_id": [gone, kept], "properties": [f'{{"userId": "{gone}"}}', "{}"]}))
    pattern = token_pattern([gone])
    assert scan_warehouse(wh, pattern), "the scan sees the customer before"

    done = erase_warehouse(wh, pattern).set_index("table")

    assert scan_warehouse(wh, pattern) == []
    assert done.loc["orders", "action"] == "anonymized" and done.loc["events", "action"] == "deleted"
    orders = wh.table("orders").execute().set_index("order_id")
    rekeyed = [o for o in orders.index if o.startswith("erased-")]
    assert len(rekeyed) == 1 and pd.isna(orders.loc[rekeyed[0], "customer_id"])
    lines = wh.table("order_lines").execute()
    assert set(lines["order_id"]) >= {rekeyed[0], "o-keep-1"}, "lines still join their (re-keyed) order"
    assert lines["amount"].sum() == pytest.approx(15.0)
    assert wh.table("events").filter(lambda t: t.customer_id == kept).count().execute() == 1
    assert wh.table("customers").filter(lambda t: t.customer_id == kept).count().execute() == 1
