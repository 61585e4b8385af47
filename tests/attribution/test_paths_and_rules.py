"""Paths are cut at the lookback window and at the previous conversion; each rule credits touches as defined."""

import numpy as np
import pandas as pd
import pytest

from storelift.attribution import (AttributionError, first_touch, last_touch, linear, position_based, time_decay,
                                   touch_paths)

T = pd.Timestamp("2024-06-01 12:00")
D = pd.Timedelta(days=1)


def _touches(rows):
    return pd.DataFrame([{"touch_id": f"t{i}", "customer_id": c, "channel": ch, "kind": "click", "touched_at": at,
                          "cost": 0.0} for i, (c, ch, at) in enumerate(rows)])


@pytest.fixture
def paths():
    touches = _touches([
        ("C1", "display", T - 10 * D), ("C1", "email", T - 3 * D), ("C1", "search", T - D / 24),
        ("C2", "social", T - 2 * D), ("C2", "display", T + 5 * D),
        ("C3", "display", T - 40 * D),
        ("C4", "display", T - D), ("C4", "social", T),
        ("C5", "email", T - 5 * D), ("C5", "search", T - D),
    ])
    conversions = pd.DataFrame({
        "conversion_id": ["v1", "v2", "v3", "v5a", "v5b"], "customer_id": ["C1", "C2", "C3", "C5", "C5"],
        "converted_at": [T, T, T, T - 4 * D, T], "revenue": [100.0, 50.0, 20.0, 10.0, 30.0]})
    return touch_paths(touches, conversions, lookback_days=30)


def _path(paths, path_id):
    return paths[paths.path_id == path_id].sort_values("position").channel.tolist()


def test_paths_follow_lookback_and_previous_conversion(paths):
    assert _path(paths, "v1") == ["display", "email", "search"]
    assert _path(paths, "v2") == ["social"]
    assert paths[paths.path_id == "v3"].channel.isna().all()  # the only touch is 40 days earlier
    assert _path(paths, "v5a") == ["email"]
    assert _path(paths, "v5b") == ["search"]  # the email came before the previous conversion
    assert _path(paths, "open:C2") == ["display"]  # after C2's conversion, no conversion followed
    assert _path(paths, "open:C4") == ["display", "social"]
    assert not paths[paths.path_id.str.startswith("open:")].is_conversion.any()
    v1 = paths[paths.path_id == "v1"].set_index("channel")
    assert v1.loc["display", "days_before_end"] == pytest.approx(10.0)
    assert (v1.touches == 3).all()


def test_customers_without_touches_get_empty_open_paths():
    touches = _touches([("C1", "email", T - D)])
    conversions = pd.DataFrame({"conversion_id": ["v1"], "customer_id": ["C1"], "converted_at": [T],
                                "revenue": [5.0]})
    out = touch_paths(touches, conversions, customers=pd.DataFrame({"customer_id": ["C1", "C9"]}))
    idle = out[out.path_id == "open:C9"]
    assert len(idle) == 1 and idle.channel.isna().all() and not idle.is_conversion.any()


def _credit(result):
    return result.set_index("channel")


def test_first_and_last_touch(paths):
    first = _credit(first_touch(paths))
    # converting paths with touches: v1 [display, email, search] 100, v2 [social] 50, v5a [email] 10,
    # v5b [search] 30; v3 has no touch and is credited to no channel
    assert first.conversions.to_dict() == {"display": 1.0, "email": 1.0, "search": 1.0, "social": 1.0}
    assert first.loc["display", "revenue"] == 100.0 and first.loc["search", "revenue"] == 30.0
    last = _credit(last_touch(paths))
    assert last.conversions.to_dict() == {"search": 2.0, "email": 1.0, "social": 1.0, "display": 0.0}
    assert last.loc["search", "revenue"] == 130.0
    assert last.share.sum() == pytest.approx(1.0)


def test_linear_and_position_based(paths):
    lin = _credit(linear(paths))
    assert lin.loc["display", "conversions"] == pytest.approx(1 / 3)
    assert lin.loc["email", "conversions"] == pytest.approx(1 / 3 + 1)
    assert lin.loc["search", "revenue"] == pytest.approx(100 / 3 + 30)
    assert lin.conversions.sum() == pytest.approx(4.0)
    pos = _credit(position_based(paths, first=0.4, last=0.4))
    assert pos.loc["display", "conversions"] == pytest.approx(0.4)
    assert pos.loc["email", "conversions"] == pytest.approx(0.2 + 1)
    assert pos.loc["search", "revenue"] == pytest.approx(40 + 30)
    skewed = _credit(position_based(paths, first=0.3, last=0.5))
    assert skewed.loc["display", "conversions"] == pytest.approx(0.3)
    assert skewed.loc["search", "conversions"] == pytest.approx(0.5 + 1)


def test_time_decay_halves_credit_per_half_life(paths):
    out = _credit(time_decay(paths, half_life_days=7))
    raw = np.exp2(-np.array([10, 3, 1 / 24]) / 7)
    w = raw / raw.sum()
    assert out.loc["display", "conversions"] == pytest.approx(w[0])
    assert out.loc["email", "conversions"] == pytest.approx(w[1] + 1)
    assert out.loc["search", "revenue"] == pytest.approx(100 * w[2] + 30)


def test_bad_parameters_name_the_fix(paths):
    with pytest.raises(AttributionError, match="half_life_days"):
        time_decay(paths, half_life_days=0)
    with pytest.raises(AttributionError, match="first=0.7"):
        position_based(paths, first=0.7, last=0.4)
    with pytest.raises(AttributionError, match="lookback_days"):
        touch_paths(pd.DataFrame(), pd.DataFrame(), lookback_days=-1)
    with pytest.raises(AttributionError, match="touch_paths"):
        linear(pd.DataFrame({"channel": ["a"]}))


def test_paths_and_daily_media_frame_from_warehouse_tables(warehouse):
    from storelift.attribution import conversions_from_orders, daily_media_frame

    touches = _touches([("C1", "email", T - D), ("C1", "search", T - D / 2), ("C2", "search", T - 2 * D)])
    touches["cost"] = [0.0, 1.5, 2.0]
    orders = pd.DataFrame({"order_id": ["o1", "o2"], "customer_id": ["C1", "C2"], "ordered_at": [T, T],
                           "currency": "USD", "status": ["completed", "cancelled"]})
    lines = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "line_number": [1, 2, 1], "product_id": "P",
                          "quantity": 1.0, "amount": [10.0, 5.0, 7.0]})
    for name, frame in (("touches", touches), ("orders", orders), ("order_lines", lines)):
        warehouse.insert(name, frame)
    conversions = conversions_from_orders(warehouse.table("orders"), warehouse.table("order_lines"))
    expr = touch_paths(warehouse.table("touches"), conversions)
    paths = expr.execute()
    assert _path(paths, "o1") == ["email", "search"]
    assert paths[paths.path_id == "o1"].revenue.iloc[0] == 15.0
    assert _path(paths, "open:C2") == ["search"]  # the cancelled order is no conversion
    assert _credit(last_touch(paths)).loc["search", "revenue"] == 15.0
    daily = daily_media_frame(warehouse.table("touches"), warehouse.table("orders"), warehouse.table("order_lines"))
    assert daily.date.tolist() == list(pd.date_range("2024-05-30", "2024-06-01"))
    assert daily.revenue.tolist() == [0.0, 0.0, 15.0] and daily.search.tolist() == [2.0, 0.0, 1.5]
    assert daily.email.sum() == 0.0
