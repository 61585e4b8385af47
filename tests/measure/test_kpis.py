"""KPIs over a small DuckDB warehouse, each checked against counts done by hand."""

import pandas as pd
import pytest

from storelift.measure.kpis import (KpiError, average_order_value, cart_abandonment_rate, churn_rate,
                                    click_through_rate, conversion_rate, initiative_indicators,
                                    recommendation_ctr, revenue_per_session, search_to_conversion)

T = pd.Timestamp("2024-05-01 10:00")


@pytest.fixture
def store(warehouse):
    ev = [("s1", "Products Searched", None), ("s1", "Product Added", None), ("s1", "Order Completed", None),
          ("s2", "Product Added", None),
          ("s3", "Page Viewed", None), ("s3", "Recommendation Shown", "d2"),
          ("s4", "Products Searched", None),
          ("s5", "Recommendation Shown", "d1"), ("s5", "Product Clicked", "d1"), ("s5", "Product Added", None),
          ("s5", "Order Completed", None), ("s5", "Product Clicked", "d3"),
          (None, "Email Opened", None)]
    events = pd.DataFrame({"event_id": [f"e{i}" for i in range(len(ev))], "session_id": [e[0] for e in ev],
                           "event": [e[1] for e in ev], "decision_id": [e[2] for e in ev],
                           "occurred_at": [T + pd.Timedelta(minutes=i) for i in range(len(ev))], "customer_id": "C1"})
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"], "customer_id": ["C1", "C2", "C3", "C1", "C2", "C3"],
        "ordered_at": [T, T, T, T, pd.Timestamp("2024-02-01"), pd.Timestamp("2024-03-01")],
        "currency": ["USD", "USD", "USD", "EUR", "USD", "USD"],
        "status": ["completed", "completed", "cancelled", "completed", "completed", "completed"]})
    lines = pd.DataFrame({"order_id": ["o1", "o1", "o2", "o3", "o4", "o5", "o6"], "line_number": [1, 2, 1, 1, 1, 1, 1],
                          "product_id": "P", "quantity": 1.0, "amount": [30.0, 20.0, 50.0, 999.0, 40.0, 5.0, 5.0]})
    touches = pd.DataFrame({
        "touch_id": [f"t{i}" for i in range(20)],
        "channel": ["email"] * 5 + ["display"] * 12 + ["paid_search"] * 3,
        "kind": ["send"] * 4 + ["click"] + ["impression"] * 10 + ["click"] * 2 + ["click"] * 3,
        "touched_at": T, "customer_id": "C1", "cost": 0.0})
    for name, frame in (("events", events), ("orders", orders), ("order_lines", lines), ("touches", touches)):
        warehouse.insert(name, frame)
    return warehouse


def one(expr):
    return expr.execute().iloc[0]


def test_session_kpis(store):
    e = store.table("events")
    assert one(conversion_rate(e)).to_dict() == {"sessions": 5, "converting_sessions": 2, "conversion_rate": 0.4}
    cart = one(cart_abandonment_rate(e))
    assert (cart.cart_sessions, cart.abandoned_sessions) == (3, 1)
    assert cart.cart_abandonment_rate == pytest.approx(1 / 3)
    search = one(search_to_conversion(e))
    assert (search.search_sessions, search.converting_search_sessions, search.search_to_conversion) == (2, 1, 0.5)
    rec = one(recommendation_ctr(e))
    assert (rec.recommendations_shown, rec.recommendations_clicked, rec.recommendation_ctr) == (2, 1, 0.5)
    later = one(conversion_rate(e, start=T + pd.Timedelta(minutes=3)))
    assert later.sessions == 4


def test_order_kpis(store):
    orders, lines, events = store.table("orders"), store.table("order_lines"), store.table("events")
    aov = average_order_value(orders, lines, start=T).execute().set_index("currency")
    assert aov.loc["USD"].to_dict() == {"orders": 2, "revenue": 100.0, "average_order_value": 50.0}
    assert aov.loc["EUR", "average_order_value"] == 40.0
    rps = revenue_per_session(events, orders, lines, start=T).execute().set_index("currency")
    assert rps.loc["USD", "revenue_per_session"] == 20.0 and rps.loc["EUR", "revenue_per_session"] == 8.0


def test_click_through_rate_per_channel(store):
    ctr = click_through_rate(store.table("touches")).execute().set_index("channel")
    assert ctr.loc["email", "click_through_rate"] == 0.25
    assert ctr.loc["display", "click_through_rate"] == 0.2
    assert pd.isna(ctr.loc["paid_search", "click_through_rate"])  # clicks with no recorded exposure


def test_churn_rate(store):
    # active in [2024-01-03, 2024-04-02): C2 (o5) and C3 (o6); only C2 orders again (o2) before 2024-07-01
    out = one(churn_rate(store.table("orders"), as_of="2024-07-01", window_days=90))
    assert (out.active_customers, out.churned_customers, out.churn_rate) == (2, 1, 0.5)
    with pytest.raises(KpiError, match="window_days"):
        churn_rate(store.table("orders"), as_of="2024-07-01", window_days=0)


def test_every_initiative_has_leading_and_lagging_indicators():
    table = initiative_indicators()
    kinds = table.groupby("initiative").kind.agg(set)
    assert (kinds == {"leading", "lagging"}).all()
    assert {"recommendations", "campaigns", "pricing", "search"} <= set(kinds.index)
