"""Popularity, ItemKNN and EASE on tiny matrices whose right answers are worked out by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from storelift.errors import StoreliftError
from storelift.recommend import EASE, ItemKNN, Popularity, RecommendModelError, top_k


def csr(rows):
    return sp.csr_matrix(np.asarray(rows, dtype=np.float32))


# users x items; item 0 bought by 3 users, item 1 by 2, item 2 by 1
SMALL = csr([[1, 1, 0],
             [1, 1, 0],
             [1, 0, 1]])


def test_popularity_scores_are_item_counts_for_everyone():
    model = Popularity().fit(SMALL)
    assert model.scores([0, 2]).tolist() == [[3, 2, 1], [3, 2, 1]]


def test_segment_popularity_ranks_within_the_segment_shrunk_toward_the_overall_shares():
    # items 0, 1, 2 bought 3, 1 and 2 times overall (shares 1/2, 1/6, 1/3); segment a bought item 2 twice
    matrix = csr([[0, 0, 1], [0, 0, 1], [1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0]])
    segments = ["a", "a", "b", "b", "b", None]
    exact = Popularity(segments=segments, shrinkage=0).fit(matrix)
    assert exact.scores([0, 2]).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert exact.scores([5]).tolist() == [[3, 1, 2]]  # no segment: the overall counts
    shrunk = Popularity(segments=segments, shrinkage=4).fit(matrix)
    # (segment totals + 4 x overall shares) / (2 + 4)
    assert np.allclose(shrunk.segment_scores("a"), [2 / 6, (4 / 6) / 6, (2 + 4 / 3) / 6])
    assert shrunk.segment_scores("no such segment") is None
    assert shrunk.score_history(csr([[1, 0, 0]])).tolist() == [[3, 1, 2]]  # a visitor: the overall list
    with pytest.raises(RecommendModelError, match="segments has 2 labels for a matrix of 6 users"):
        Popularity(segments=["a", "b"]).fit(matrix)
    with pytest.raises(RecommendModelError, match="shrinkage is -1"):
        Popularity(segments=segments, shrinkage=-1).fit(matrix)


def test_a_segment_is_found_whatever_the_case_and_spaces_of_its_label_unless_that_is_ambiguous():
    matrix = csr([[1, 0], [0, 1], [1, 1], [0, 1]])
    model = Popularity(segments=["DE", "FR", "fr", 7]).fit(matrix)
    assert model.segment_position("DE") == 0 and model.segment_position(" de ") == 0
    assert model.segment_position("fr") == 2 and model.segment_position("Fr") == -1  # FR or fr?
    assert model.segment_position(7) == 3 and model.segment_position("7") == -1
    model.segments = ["AT", "FR", "FR", None]
    refitted = model.fit(matrix)
    assert refitted.segment_position("de") == -1 and refitted.segment_position("fr") == 1


def test_recommend_excludes_history_and_returns_a_ranked_frame():
    model = Popularity().fit(SMALL)
    recs = model.recommend([0, 2], k=2, exclude=SMALL)
    assert list(recs.columns) == ["user_row", "rank", "item_row", "score"]
    # user 0 has items 0 and 1, so only item 2 is left; user 2 has 0 and 2, so only item 1
    assert recs[["user_row", "rank", "item_row"]].values.tolist() == [[0, 1, 2], [2, 1, 1]]
    no_exclusion = model.recommend([1], k=5)
    assert no_exclusion.item_row.tolist() == [0, 1, 2] and no_exclusion["rank"].tolist() == [1, 2, 3]


def test_top_k_breaks_ties_towards_the_lower_item_row():
    scores = np.array([[1.0, 5.0, 5.0, 5.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    assert top_k(scores, 2).tolist() == [[1, 2], [0, 1]]
    assert top_k(scores, 9).shape == (2, 5)


def test_itemknn_is_cosine_with_shrinkage():
    # co-occurrence: (0,1) = 2, (0,2) = 1, (1,2) = 0; column norms sqrt(3), sqrt(2), 1
    model = ItemKNN(neighbors=5, shrink=1.0).fit(SMALL)
    sim01 = 2 / (math.sqrt(3) * math.sqrt(2) + 1)
    sim02 = 1 / (math.sqrt(3) * 1 + 1)
    # user 2 holds items 0 and 2: item 1 scores sim(0,1) + sim(2,1) = sim01 + 0
    assert model.scores([2])[0] == pytest.approx([sim02, sim01, sim02], rel=1e-5)
    # no self-similarity: a user holding only item 0 scores item 0 at 0
    only0 = ItemKNN(neighbors=5, shrink=0.0).fit(csr([[1, 0, 0], [1, 1, 0], [1, 0, 1]]))
    assert only0.scores([0])[0, 0] == 0


def test_itemknn_keeps_only_the_nearest_neighbours_of_each_target():
    # shrink 0: sim(0,1) = 2/sqrt(6) > sim(0,2) = 1/sqrt(3); with one neighbour, target 0 listens only
    # to item 1, so user 2 (items 0 and 2) no longer gets a vote for item 0 from item 2
    sim01, sim02 = 2 / math.sqrt(6), 1 / math.sqrt(3)
    assert ItemKNN(neighbors=5, shrink=0.0).fit(SMALL).scores([2])[0] == pytest.approx([sim02, sim01, sim02], rel=1e-5)
    assert ItemKNN(neighbors=1, shrink=0.0).fit(SMALL).scores([2])[0] == pytest.approx([0.0, sim01, sim02], rel=1e-5)


def test_ease_matches_the_closed_form_worked_by_hand():
    # X^T X = [[3, 2], [2, 2]]; with lambda 1 each column is a ridge regression on the other item:
    # B[0,1] = x0.x1 / (x0.x0 + 1) = 2/4, B[1,0] = x1.x0 / (x1.x1 + 1) = 2/3, diagonal 0 (Steck 2019)
    matrix = csr([[1, 1], [1, 1], [1, 0]])
    for dtype in ("float32", "float64"):
        model = EASE(lambda_=1.0, dtype=dtype).fit(matrix)
        assert model.weights_ == pytest.approx(np.array([[0.0, 0.5], [2 / 3, 0.0]]), rel=1e-5)
    assert EASE(lambda_=1.0).fit(matrix).scores([2])[0] == pytest.approx([0.0, 0.5])


def test_ease_agrees_with_a_direct_inverse_on_random_data():
    rng = np.random.default_rng(7)
    dense = (rng.random((40, 15)) < 0.3).astype(np.float64)
    lam = 3.0
    precision = np.linalg.inv(dense.T @ dense + lam * np.eye(15))
    expected = -precision / np.diag(precision)
    np.fill_diagonal(expected, 0.0)
    model = EASE(lambda_=lam, dtype="float64").fit(sp.csr_matrix(dense))
    assert np.allclose(model.weights_, expected, atol=1e-10)
    assert model.weights_.flags.c_contiguous  # scoring must not copy the dense matrix per batch
    assert np.allclose(model.scores(np.arange(40)), dense @ expected, atol=1e-5)


def test_mirror_upper_fills_the_lower_triangle_across_blocks():
    from storelift.recommend.models import _mirror_upper

    symmetric = np.random.default_rng(3).random((10, 10))
    symmetric = symmetric + symmetric.T
    garbage = np.triu(symmetric) - np.tril(np.ones((10, 10)), -1)
    _mirror_upper(garbage, block=4)
    assert np.array_equal(garbage, symmetric)


def test_ease_refuses_a_catalog_above_max_items_naming_the_parameter():
    with pytest.raises(RecommendModelError, match="max_items=2"):
        EASE(max_items=2).fit(SMALL)


@pytest.mark.parametrize("model, message", [
    (EASE(lambda_=0), "lambda_"), (EASE(dtype="float16"), "dtype"),
    (ItemKNN(neighbors=0), "neighbors"), (ItemKNN(shrink=-1), "shrink"),
])
def test_bad_parameters_name_themselves(model, message):
    with pytest.raises(StoreliftError, match=message):
        model.fit(SMALL)


def test_use_before_fit_and_bad_rows_raise_actionable_errors():
    with pytest.raises(RecommendModelError, match="fit"):
        Popularity().scores([0])
    with pytest.raises(RecommendModelError, match="user_rows"):
        ItemKNN().fit(SMALL).scores([3])
    with pytest.raises(RecommendModelError, match="k is"):
        Popularity().fit(SMALL).recommend([0], k=0)
    with pytest.raises(RecommendModelError, match="scipy.sparse"):
        Popularity().fit(np.ones((2, 2)))


def test_ease_fits_on_which_items_a_user_has_and_scores_with_the_weights():
    weighted = csr([[0.5, 1.0, 0], [1.0, 0.25, 0], [1.0, 0, 1.0]])
    binary = csr((weighted.toarray() > 0).astype(float))
    on_weights = EASE(lambda_=1.0).fit(weighted)
    on_binary = EASE(lambda_=1.0).fit(binary)
    np.testing.assert_allclose(on_weights.weights_, on_binary.weights_, rtol=1e-6)
    np.testing.assert_allclose(on_weights.scores([0]), weighted[0].toarray() @ on_binary.weights_, rtol=1e-5)
    raw = EASE(lambda_=1.0, binarize=False).fit(weighted)
    assert not np.allclose(raw.weights_, on_binary.weights_)


def test_a_model_pickled_before_a_parameter_existed_still_scores_and_refits():
    import pickle

    popularity = Popularity().fit(SMALL)
    knn = ItemKNN(neighbors=2).fit(SMALL)
    for model, added in ((popularity, ("segments", "shrinkage", "segment_labels_", "user_segments_",
                                       "segment_scores_")), (knn, ("similarity", "k1", "b"))):
        for name in added:  # as an artifact saved by an earlier version holds it
            del model.__dict__[name]
    old_popularity, old_knn = pickle.loads(pickle.dumps(popularity)), pickle.loads(pickle.dumps(knn))
    assert old_popularity.scores([0]).tolist() == [[3, 2, 1]] and old_popularity.segment_scores("a") is None
    assert old_knn.similarity == "cosine"
    np.testing.assert_array_equal(old_knn.fit(SMALL).scores([0]), ItemKNN(neighbors=2).fit(SMALL).scores([0]))
