"""Orders join back to the decisions that led to them: by decision id, else inside the window."""

import pandas as pd

from storelift.measure import decision_outcomes

T = pd.Timestamp("2024-05-01 12:00")


def test_orders_are_attributed_by_id_first_then_to_the_latest_decision_in_the_window(warehouse):
    decisions = pd.DataFrame({
        "decision_id": ["d1", "d2", "d3", "d4"], "decided_at": [T, T + pd.Timedelta(days=1), T, T],
        "customer_id": ["C1", "C1", "C2", "C3"], "initiative": "recommendations", "placement": "home",
        "arm": ["treatment", "treatment", "holdout", "treatment"], "has_consent": True, "model_version": "v",
        "shown": "{}", "explanation": "x"})
    orders = pd.DataFrame({
        "order_id": ["o1", "o2", "o3", "o4", "o5", "o6"],
        "customer_id": ["C1", "C1", "C2", "C2", "C3", None],
        "ordered_at": [T + pd.Timedelta(hours=1), T + pd.Timedelta(days=2), T + pd.Timedelta(days=3),
                       T + pd.Timedelta(days=8), T - pd.Timedelta(hours=1), T + pd.Timedelta(hours=2)],
        "currency": "USD", "decision_id": ["d2", None, None, None, None, "d4"]})
    lines = pd.DataFrame({"order_id": ["o1", "o1", "o2", "o3", "o4", "o5", "o6"],
                          "line_number": [1, 2, 1, 1, 1, 1, 1], "product_id": "P",
                          "quantity": 1.0, "amount": [10.0, 5.0, 20.0, 7.5, 99.0, 1.0, 3.0]})
    for name, frame in (("decisions", decisions), ("orders", orders), ("order_lines", lines)):
        warehouse.insert(name, frame)
    out = decision_outcomes(warehouse.table("decisions"), warehouse.table("orders"),
                            warehouse.table("order_lines")).execute().set_index("decision_id")
    # o1 carries d2 (even though d1 was also in the window); o2 falls to C1's latest decision d2;
    # o3 is 3 days after d3; o4 is past the 7-day window; o5 came before any decision; o6 is a guest
    # order that carries d4.
    assert out.loc["d1", ["orders", "revenue"]].tolist() == [0, 0.0]
    assert out.loc["d2", ["orders", "revenue", "orders_by_id", "orders_in_window"]].tolist() == [2, 35.0, 1, 1]
    assert out.loc["d3", ["orders", "revenue", "orders_in_window"]].tolist() == [1, 7.5, 1]
    assert out.loc["d4", ["orders", "revenue", "orders_by_id"]].tolist() == [1, 3.0, 1]
    short = decision_outcomes(warehouse.table("decisions"), warehouse.table("orders"),
                              warehouse.table("order_lines"), window_days=2).execute().set_index("decision_id")
    assert short.loc["d3", "orders"] == 0 and short.loc["d2", "orders"] == 2
