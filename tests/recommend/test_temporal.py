"""Temporal split and multi-item top-k metrics, against values worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from storelift.recommend import ItemKNN, Popularity
from storelift.recommend.interactions import RecommendDataError
from storelift.recommend.temporal import evaluate_temporal, temporal_split, topk_metrics


def events():
    rows = [
        ("u1", "a", "2025-01-01"), ("u1", "b", "2025-01-02"), ("u1", "c", "2025-02-01"), ("u1", "a", "2025-02-02"),
        ("u2", "b", "2025-01-05"), ("u2", "d", "2025-02-03"), ("u2", "e", "2025-02-04"),
        ("u3", "a", "2025-01-07"), ("u3", "b", "2025-01-08"),
        ("u4", "c", "2025-02-05"),  # only after the cutoff: nothing to fit on, not evaluated
    ]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "occurred_at"]).assign(
        occurred_at=lambda f: pd.to_datetime(f.occurred_at))


def test_the_split_keeps_only_new_items_after_the_cutoff():
    split = temporal_split(events(), "2025-02-01")
    items = list(split.items)
    test = {u: sorted(items[i] for i in split.test[split.users.get_loc(u)].indices) for u in ["u1", "u2", "u3"]}
    assert test == {"u1": ["c"], "u2": ["d", "e"], "u3": []}  # u1's repeat of "a" is not new
    assert split.train[split.users.get_loc("u4")].nnz == 0
    evaluated = set(split.users[split.evaluated_users])
    assert evaluated == {"u1", "u2", "u4"}


def test_topk_metrics_by_hand():
    # user A: relevant {5}, top [5, 1, 2] -> hit at rank 1. user B: relevant {7, 8}, top [1, 8, 7] -> ranks 2, 3
    top = np.array([[5, 1, 2], [1, 8, 7]])
    got = topk_metrics(top, [np.array([5]), np.array([7, 8])], ks=(2, 3))
    d = [1 / math.log2(r + 1) for r in (1, 2, 3)]
    assert got["HR@2"] == 1.0
    assert got["Recall@2"] == pytest.approx((1 + 1 / 2) / 2)
    assert got["NDCG@2"] == pytest.approx((1 + d[1] / (d[0] + d[1])) / 2)
    assert got["NDCG@3"] == pytest.approx((1 + (d[1] + d[2]) / (d[0] + d[1])) / 2)
    assert got["MAP@3"] == pytest.approx((1 + (1 / 2 + 2 / 3) / 2) / 2)
    assert got["MRR"] == pytest.approx((1 + 1 / 2) / 2)


def test_evaluate_temporal_reports_accuracy_coverage_and_popularity_bias():
    split = temporal_split(events(), "2025-02-01")
    pop = evaluate_temporal(Popularity(), split, ks=(1, 3)).iloc[0]
    knn = evaluate_temporal(ItemKNN(neighbors=5, shrink=0.0), split, ks=(1, 3)).iloc[0]
    # train popularity a 2, b 3 of 4 users; tops (history excluded, ties to the lower item):
    # u1 [c, d, e] (relevant c), u2 [a, c, d] (d, e), u4 [b, a, c] (c)
    assert pop["n_users"] == 3
    assert pop["HR@1"] == pytest.approx(1 / 3) and pop["HR@3"] == 1.0
    assert pop["Recall@3"] == pytest.approx((1 + 1 / 2 + 1) / 3)
    assert pop["MRR"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert pop["coverage@3"] == 1.0
    assert pop["ARP@3"] == pytest.approx((0.5 + 0.75 + 0.5) / 9)
    assert knn["n_users"] == 3 and knn["coverage@3"] <= 1.0
    with pytest.raises(RecommendDataError, match="no events before"):
        temporal_split(events(), "2024-01-01")


def test_a_catalog_smaller_than_k_ranks_every_item_instead_of_failing():
    split = temporal_split(events(), "2025-02-01")  # 5 items, asked for the top 10 and 20
    got = evaluate_temporal(Popularity(), split).iloc[0]
    small = evaluate_temporal(Popularity(), split, ks=(5,)).iloc[0]
    for name in ("HR", "Recall", "NDCG", "MAP"):
        assert got[f"{name}@10"] == pytest.approx(small[f"{name}@5"]) == pytest.approx(got[f"{name}@20"])
