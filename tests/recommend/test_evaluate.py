"""Interactions and the leave-one-out protocol: splits, full-ranking ranks and metrics known by hand."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from storelift.errors import StoreliftError
from storelift.recommend import (
    Popularity, RecommendDataError, evaluate, interaction_matrix, leave_one_out, parse_sequences,
    ranking_metrics, target_ranks,
)
from support import shared_file


class FixedScores:
    """A stand-in model whose scores are given, to test ranking without any learning."""

    def __init__(self, scores):
        self.table = np.asarray(scores, dtype=np.float32)

    def fit(self, matrix):
        return self

    def scores(self, user_rows):
        return self.table[np.asarray(user_rows)]


def sequence_events():
    # user a: 5 events, b: 3 events, c: 2 events (too few to evaluate); item "x" appears only as a's test item
    return parse_sequences(["a 1 2 3 4 x", "b 2 3 1", "", "c 1 2"])


# --- interactions ---------------------------------------------------------------------------------

def test_parse_sequences_keeps_time_order_per_user():
    events = parse_sequences(["u1 10 20 30", "u2 20"])
    assert list(events.columns) == ["user_id", "item_id", "position"]
    assert events.values.tolist() == [["u1", "10", 0], ["u1", "20", 1], ["u1", "30", 2], ["u2", "20", 0]]


def test_parse_sequences_rejects_a_user_without_items():
    with pytest.raises(RecommendDataError, match="line 2"):
        parse_sequences(["u1 1 2", "u2"])


def test_interaction_matrix_sums_repeats_and_binary_caps_them():
    frame = pd.DataFrame({"user_id": ["a", "a", "b"], "item_id": ["p", "p", "q"], "w": [2.0, 3.0, 1.0]})
    weighted = interaction_matrix(frame, weight_col="w")
    assert weighted.matrix.toarray().tolist() == [[5.0, 0.0], [0.0, 1.0]]
    assert list(weighted.users) == ["a", "b"] and list(weighted.items) == ["p", "q"]
    assert interaction_matrix(frame, binary=True).matrix.toarray().tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_interaction_matrix_uses_a_given_catalog_and_maps_ids():
    frame = pd.DataFrame({"user_id": ["a"], "item_id": ["q"]})
    data = interaction_matrix(frame, items=pd.Index(["p", "q", "r"]))
    assert data.matrix.shape == (1, 3) and data.matrix.toarray().tolist() == [[0.0, 1.0, 0.0]]
    assert data.item_rows(["r", "p"]).tolist() == [2, 0]
    with pytest.raises(RecommendDataError, match=r"item ids \['zz'\]"):
        data.item_rows(["zz"])


def test_interaction_matrix_names_a_missing_column():
    with pytest.raises(StoreliftError, match="item_col="):
        interaction_matrix(pd.DataFrame({"user_id": ["a"], "sku": ["p"]}))


# --- leave-one-out split ---------------------------------------------------------------------------

def test_leave_one_out_holds_out_last_and_second_to_last():
    split = leave_one_out(sequence_events())
    items = list(split.items)
    rows = {u: split.users.get_loc(u) for u in "abc"}
    assert items == ["1", "2", "3", "4", "x"]  # the test-only item "x" is still in the catalog
    assert split.test_items[rows["a"]] == items.index("x")
    assert split.validation_items[rows["a"]] == items.index("4")
    assert split.test_items[rows["b"]] == items.index("1")
    assert split.validation_items[rows["b"]] == items.index("3")
    dense = split.train.toarray()
    assert dense[rows["a"]].tolist() == [1, 1, 1, 0, 0]
    assert dense[rows["b"]].tolist() == [0, 1, 0, 0, 0]
    # c has 2 events: all in train, not evaluated
    assert dense[rows["c"]].tolist() == [1, 1, 0, 0, 0]
    assert split.test_items[rows["c"]] == -1 and split.validation_items[rows["c"]] == -1


def test_position_decay_weights_each_stage_by_steps_back_from_what_it_fits_on():
    # a repeats item 1: "a 1 2 1 3 4 x" -> train 1 2 1 3; its latest 1 is one step back from 3
    split = leave_one_out(parse_sequences(["a 1 2 1 3 4 x", "b 2 3 1", "c 1 2"]))
    items = list(split.items)
    a, c = split.users.get_loc("a"), split.users.get_loc("c")
    validation = split.stage("validation", position_decay=0.5).fit_matrix.toarray()
    assert validation[a].tolist() == [0.5, 0.25, 1.0, 0, 0]  # items 1, 2, 3, 4, x
    assert validation[c].tolist() == [0.5, 1.0, 0, 0, 0]  # not evaluated: its whole history, latest last
    test = split.stage("test", position_decay=0.5).fit_matrix.toarray()
    assert test[a].tolist() == [0.25, 0.125, 0.5, 1.0, 0]  # the validation item 4 is now the latest
    assert test[c].tolist() == validation[c].tolist()
    assert (split.stage("test").fit_matrix.toarray() > 0).tolist() == (test > 0).tolist()
    assert items == ["1", "2", "3", "4", "x"]
    with pytest.raises(RecommendDataError, match="position_decay"):
        split.stage("validation", position_decay=1.5)


def test_leave_one_out_orders_by_the_order_column_not_the_row_order():
    events = pd.DataFrame({"user_id": ["u"] * 3, "item_id": ["late", "early", "mid"], "position": [2, 0, 1]})
    split = leave_one_out(events)
    assert split.items[split.test_items[0]] == "late"
    assert split.items[split.validation_items[0]] == "mid"


def test_test_stage_fits_on_train_plus_validation_item():
    split = leave_one_out(sequence_events())
    validation, test = split.stage("validation"), split.stage("test")
    a = split.users.get_loc("a")
    assert test.fit_matrix.toarray()[a].tolist() == [1, 1, 1, 1, 0]
    assert (test.fit_matrix - validation.fit_matrix).sum() == 2  # one validation item per evaluated user
    assert sorted(split.users[test.user_rows]) == ["a", "b"]
    with pytest.raises(RecommendDataError, match="stage"):
        split.stage("train")


def test_leave_one_out_names_missing_columns():
    with pytest.raises(RecommendDataError, match="order_col="):
        leave_one_out(pd.DataFrame({"user_id": ["u"], "item_id": ["i"]}))


# --- ranks and metrics ------------------------------------------------------------------------------

def test_target_rank_counts_better_items_skips_history_and_breaks_ties_to_lower_rows():
    scores = [[0.9, 0.5, 0.7, 0.5, 0.1],   # target 3: 0.9 and 0.7 ahead, tie with row 1 (lower) ahead -> 3;
              [0.9, 0.5, 0.7, 0.5, 0.1],   # same, but row 0 is history (excluded) -> 2
              [0.9, 0.5, 0.7, 0.5, 0.1],   # target 1 ties with row 3 (higher row) -> behind 0.9, 0.7 only -> 2
              [0.9, 0.5, 0.7, 0.5, 0.1]]   # target 0 is in the history -> never ranked
    exclude = sp.csr_matrix(np.array([[0, 0, 0, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [1, 0, 0, 0, 0]],
                                     dtype=np.float32))
    ranks = target_ranks(FixedScores(scores), exclude, np.arange(4), np.array([3, 3, 1, 0]), batch_size=3)
    assert ranks.tolist() == [3, 2, 2, math.inf]


def test_ranking_metrics_match_hand_values():
    ranks = np.array([0, 1, 4, 9, 25, np.inf])
    row = ranking_metrics(ranks).iloc[0]
    assert row["n_users"] == 6
    assert row["HIT@5"] == pytest.approx(3 / 6)
    assert row["NDCG@5"] == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(6)) / 6)
    assert row["HIT@10"] == pytest.approx(4 / 6)
    assert row["NDCG@10"] == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(6) + 1 / math.log2(11)) / 6)
    assert row["HIT@20"] == pytest.approx(4 / 6)
    assert row["MRR"] == pytest.approx((1 + 1 / 2 + 1 / 5 + 1 / 10 + 1 / 26) / 6)


def test_ranking_metrics_need_users():
    with pytest.raises(RecommendDataError, match="3 events"):
        ranking_metrics(np.array([]))


def test_evaluate_popularity_end_to_end():
    lines = ["u1 1 2 3 9 4", "u2 1 2 3 9 4", "u3 1 2 5 4", "u4 1 5 6 4"]
    split = leave_one_out(parse_sequences(lines))
    result = evaluate(Popularity(), split, "test", ks=(1, 5))
    assert list(result.columns) == ["model", "stage", "n_users", "fit_s", "score_s",
                                    "HIT@1", "NDCG@1", "HIT@5", "NDCG@5", "MRR"]
    row = result.iloc[0]
    # test item 4 for all; fit counts: 1:4, 2:3, 3:2, 5:2, 9:2, 6:1, 4:0 -> after each user's history is
    # removed, u1/u2 see [5, 6, 4] -> rank 2; u3 sees [3, 9, 6, 4] -> rank 3; u4 sees [2, 3, 9, 4] -> rank 3
    assert row["model"] == "Popularity" and row["stage"] == "test" and row["n_users"] == 4
    assert row["HIT@1"] == 0 and row["HIT@5"] == 1
    assert row["NDCG@5"] == pytest.approx((2 / math.log2(4) + 2 / math.log2(5)) / 4)
    assert row["MRR"] == pytest.approx((1 / 3 + 1 / 3 + 1 / 4 + 1 / 4) / 4)


def test_beauty_split_matches_published_counts():
    path = shared_file("amazon_beauty", "Beauty.txt")
    with path.open() as lines:
        split = leave_one_out(parse_sequences(lines))
    assert split.train.shape == (22363, 12101)
    assert (split.test_items >= 0).sum() == 22363
    # 198502 interactions minus two held out per user; a repeated item inside a user's train counts once
    assert 198502 - 2 * 22363 - 1000 <= split.train.nnz <= 198502 - 2 * 22363
