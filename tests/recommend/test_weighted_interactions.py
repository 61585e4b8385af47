"""weighted_interactions: event weights, half-life decay, the future left out, clear errors."""

import pandas as pd
import pytest

from storelift.recommend.interactions import RecommendDataError, weighted_interactions

NOW = pd.Timestamp("2025-03-01")


def events(rows):
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event", "occurred_at"]).assign(
        occurred_at=lambda f: pd.to_datetime(f.occurred_at))


def test_weights_add_up_per_user_and_item_and_decay_by_half_life():
    frame = events([
        ("u1", "a", "Product Viewed", "2025-03-01"),
        ("u1", "a", "Product Added", "2025-03-01"),
        ("u1", "b", "Order Completed", "2025-01-30"),  # 30 days old: half weight at a 30-day half-life
        ("u2", "a", "Email Opened", "2025-02-28"),  # not product evidence: ignored
        ("u2", "a", "Product Viewed", "2025-03-02"),  # after now: ignored
        ("u3", None, "Product Viewed", "2025-02-28"),  # no item: ignored
    ])
    out = weighted_interactions(frame, NOW, half_life_days=30)
    assert list(out.columns) == ["user_id", "item_id", "weight", "last_at"]
    got = out.set_index(["user_id", "item_id"]).weight.to_dict()
    assert got == pytest.approx({("u1", "a"): 1.0 + 4.0, ("u1", "b"): 8.0 * 0.5})
    assert weighted_interactions(frame, NOW, half_life_days=None).weight.tolist() == [5.0, 8.0]


def test_custom_weights_and_bad_parameters():
    frame = events([("u1", "a", "Product Viewed", "2025-03-01"), ("u1", "a", "Product Clicked", "2025-03-01")])
    out = weighted_interactions(frame, NOW, weights={"Product Clicked": 3.0}, half_life_days=None)
    assert out.weight.tolist() == [3.0]
    with pytest.raises(RecommendDataError, match="half_life_days"):
        weighted_interactions(frame, NOW, half_life_days=0)
    with pytest.raises(RecommendDataError, match="weights"):
        weighted_interactions(frame, NOW, weights={"Product Viewed": -1})
    with pytest.raises(RecommendDataError, match="occurred_at"):
        weighted_interactions(frame.drop(columns="occurred_at"), NOW)
