"""ALS and BPR: the wrapper matches plain `implicit` exactly and recovers a planted block structure;
similar_items (factor models, ItemKNN, EASE) stays within a planted block."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

pytest.importorskip("implicit", reason="ALS/BPR need the recommend extra: pip install storelift[recommend]")

from implicit.cpu.als import AlternatingLeastSquares  # noqa: E402
from implicit.cpu.bpr import BayesianPersonalizedRanking  # noqa: E402

from storelift.errors import StoreliftError  # noqa: E402
from storelift.recommend import (  # noqa: E402
    ALS, BPR, EASE, SIMILAR_ITEM_COLUMNS, ItemKNN, Popularity, RecommendModelError, evaluate, leave_one_out,
    ranking_metrics, target_ranks,
)

BLOCKS, ITEMS_PER_BLOCK, USERS_PER_BLOCK, ITEMS_PER_USER = 4, 10, 100, 5


def planted_events(seed: int = 0) -> pd.DataFrame:
    """Users of block b buy ITEMS_PER_USER random items of block b only, in a random order."""
    rng = np.random.default_rng(seed)
    rows = []
    for block in range(BLOCKS):
        for offset in range(USERS_PER_BLOCK):
            user = block * USERS_PER_BLOCK + offset
            items = block * ITEMS_PER_BLOCK + rng.choice(ITEMS_PER_BLOCK, size=ITEMS_PER_USER, replace=False)
            rows += [(user, int(item), position) for position, item in enumerate(items)]
    return pd.DataFrame(rows, columns=["user_id", "item_id", "position"])


EVENTS = planted_events()
MATRIX = sp.csr_matrix((np.ones(len(EVENTS), dtype=np.float32), (EVENTS.user_id, EVENTS.item_id)))
USER_BLOCK = np.arange(MATRIX.shape[0]) // USERS_PER_BLOCK
ITEM_BLOCK = np.arange(MATRIX.shape[1]) // ITEMS_PER_BLOCK

ALS_PARAMS = dict(factors=8, regularization=0.1, alpha=5.0, iterations=10, random_state=3)
BPR_PARAMS = dict(factors=8, learning_rate=0.05, regularization=0.01, iterations=50, random_state=3)
PAIRS = [(ALS, AlternatingLeastSquares, ALS_PARAMS), (BPR, BayesianPersonalizedRanking, BPR_PARAMS)]


def plain_implicit(cls, matrix, **params):
    model = cls(**params)
    model.fit(matrix, show_progress=False)
    return model


def implicit_ranks(model, fit_matrix, user_rows, target_rows):
    """0-based rank of each target in implicit's own full recommendation list (history filtered)."""
    ids, _ = model.recommend(user_rows, fit_matrix[user_rows], N=fit_matrix.shape[1],
                             filter_already_liked_items=True)
    found = ids == np.asarray(target_rows)[:, None]
    return np.where(found.any(axis=1), found.argmax(axis=1), np.inf)


# --- the wrapper loses nothing --------------------------------------------------------------------

@pytest.mark.parametrize("num_threads", [1, 2])
def test_als_factors_are_identical_to_plain_implicit(num_threads):
    ours = ALS(**ALS_PARAMS, num_threads=num_threads).fit(MATRIX)
    theirs = plain_implicit(AlternatingLeastSquares, MATRIX, **ALS_PARAMS, num_threads=num_threads)
    assert np.array_equal(ours.user_factors_, theirs.user_factors)
    assert np.array_equal(ours.item_factors_, theirs.item_factors)
    assert np.allclose(ours.scores([0, 150]), theirs.user_factors[[0, 150]] @ theirs.item_factors.T)


def test_bpr_factors_are_identical_to_plain_implicit_on_one_thread():
    ours = BPR(**BPR_PARAMS, num_threads=1).fit(MATRIX)
    theirs = plain_implicit(BayesianPersonalizedRanking, MATRIX, **BPR_PARAMS, num_threads=1)
    assert np.array_equal(ours.item_factors_, theirs.item_factors)
    # implicit appends an item bias column (and a constant 1 for users), so scores keep the bias
    assert ours.item_factors_.shape == (MATRIX.shape[1], BPR_PARAMS["factors"] + 1)
    assert np.all(ours.user_factors_[:, -1] == 1.0)


@pytest.mark.parametrize("ours_cls, implicit_cls, params", PAIRS)
def test_leave_one_out_metrics_are_identical_to_plain_implicit(ours_cls, implicit_cls, params):
    split = leave_one_out(EVENTS)
    stage = split.stage("test")
    ours = ours_cls(**params, num_threads=1)
    ours_metrics = evaluate(ours, split, "test")
    ours_ranks = target_ranks(ours, stage.fit_matrix, stage.user_rows, stage.target_rows)
    theirs = plain_implicit(implicit_cls, stage.fit_matrix, **params, num_threads=1)
    theirs_ranks = implicit_ranks(theirs, stage.fit_matrix, stage.user_rows, stage.target_rows)
    assert np.array_equal(ours_ranks, theirs_ranks)
    metrics = [c for c in ours_metrics.columns if c.startswith(("HIT@", "NDCG@")) or c == "MRR"]
    assert ours_metrics[metrics].iloc[0].tolist() == ranking_metrics(theirs_ranks)[metrics].iloc[0].tolist()
    # a random ranking of the 36 unseen items gives NDCG@10 ~0.13; ranking the user's 6 unseen block items
    # first, in random order, gives ~0.55 (the block is all there is to learn)
    assert ours_metrics["NDCG@10"].iloc[0] > 0.45


def test_fits_are_reproducible_and_refits_start_afresh():
    first, second = ALS(**ALS_PARAMS, num_threads=2).fit(MATRIX), ALS(**ALS_PARAMS, num_threads=2).fit(MATRIX)
    assert np.array_equal(first.item_factors_, second.item_factors_)
    bpr = BPR(**BPR_PARAMS).fit(MATRIX)
    assert np.array_equal(bpr.item_factors_, BPR(**BPR_PARAMS).fit(MATRIX).item_factors_)
    assert not np.array_equal(bpr.item_factors_, BPR(**{**BPR_PARAMS, "random_state": 4}).fit(MATRIX).item_factors_)
    smaller = MATRIX[:, :20].tocsr()
    assert first.fit(smaller).item_factors_.shape == (20, ALS_PARAMS["factors"])
    assert first.scores([0]).shape == (1, 20) and first.scores([0]).dtype == np.float32


def test_bm25_item_knn_links_items_as_implicits_bm25_recommender_does():
    from implicit.nearest_neighbours import BM25Recommender

    rng = np.random.default_rng(0)
    counts = sp.random(60, 30, density=0.2, random_state=1, format="csr", dtype=np.float32)
    counts.data[:] = rng.integers(1, 4, counts.nnz)  # repeat purchases: BM25 saturates them
    theirs = BM25Recommender(K=30, K1=1.5, B=0.6, num_threads=1)
    theirs.fit(counts, show_progress=False)
    expected = theirs.similarity.toarray()
    np.fill_diagonal(expected, 0.0)  # implicit keeps each item as its own neighbour; ItemKNN does not
    ours = ItemKNN(neighbors=29, similarity="bm25", k1=1.5, b=0.6).fit(counts)
    np.testing.assert_allclose(ours.similarity_.T.toarray(), expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(ItemKNN(neighbors=29).fit(counts).similarity_.toarray(), ours.similarity_.toarray())
    with pytest.raises(RecommendModelError, match="similarity is 'jaccard'"):
        ItemKNN(similarity="jaccard").fit(counts)
    with pytest.raises(RecommendModelError, match="k1=0"):
        ItemKNN(similarity="bm25", k1=0).fit(counts)


# --- planted structure ----------------------------------------------------------------------------

@pytest.mark.parametrize("model", [
    ALS(factors=BLOCKS, regularization=0.1, alpha=10.0, num_threads=1),
    BPR(factors=BLOCKS, learning_rate=0.05),
], ids=["ALS", "BPR"])
def test_factor_models_recommend_the_users_own_block(model):
    model.fit(MATRIX)
    recs = model.recommend(np.arange(MATRIX.shape[0]), k=ITEMS_PER_BLOCK - ITEMS_PER_USER, exclude=MATRIX)
    assert len(recs) == MATRIX.shape[0] * (ITEMS_PER_BLOCK - ITEMS_PER_USER)
    assert np.array_equal(ITEM_BLOCK[recs.item_row], USER_BLOCK[recs.user_row])


@pytest.mark.parametrize("model", [
    ALS(factors=BLOCKS, regularization=0.1, alpha=10.0, num_threads=1),
    BPR(factors=BLOCKS, learning_rate=0.05),
    ItemKNN(neighbors=ITEMS_PER_BLOCK - 1, shrink=0.0),
    EASE(lambda_=500.0),  # a small lambda_ lets the fixed basket size make some in-block weights negative
], ids=["ALS", "BPR", "ItemKNN", "EASE"])
def test_similar_items_stay_in_the_planted_block(model):
    model.fit(MATRIX)
    k = ITEMS_PER_BLOCK - 1
    similar = model.similar_items(np.arange(MATRIX.shape[1]), k=k)
    assert list(similar.columns) == list(SIMILAR_ITEM_COLUMNS)
    assert len(similar) == MATRIX.shape[1] * k
    assert not (similar.item_row == similar.similar_item_row).any()
    assert np.array_equal(ITEM_BLOCK[similar.item_row], ITEM_BLOCK[similar.similar_item_row])
    assert similar.groupby("item_row")["rank"].apply(list).map(lambda r: r == list(range(1, k + 1))).all()
    assert (similar.groupby("item_row").score.diff().dropna() <= 0).all()


def test_factor_similarity_is_the_cosine_of_item_factors():
    model = ALS(**ALS_PARAMS).fit(MATRIX)
    similar = model.similar_items([7], k=3)
    unit = model.item_factors_ / np.linalg.norm(model.item_factors_, axis=1, keepdims=True)
    expected = unit @ unit[7]
    expected[7] = -np.inf
    assert similar.similar_item_row.tolist() == np.argsort(-expected, kind="stable")[:3].tolist()
    assert similar.score.to_numpy() == pytest.approx(np.sort(expected)[::-1][:3], rel=1e-5)


def test_itemknn_similar_items_are_only_its_kept_neighbours():
    model = ItemKNN(neighbors=2, shrink=0.0).fit(MATRIX)
    similar = model.similar_items([0, 1], k=5)
    assert similar.groupby("item_row").size().tolist() == [2, 2]
    column = model.similarity_[:, 0].toarray().ravel()
    assert set(similar.loc[similar.item_row == 0, "similar_item_row"]) == set(np.flatnonzero(column))


def test_ease_similar_items_read_a_column_of_b():
    model = EASE(lambda_=10.0).fit(MATRIX)
    similar = model.similar_items([3], k=4)
    column = model.weights_[:, 3].copy()
    column[3] = -np.inf
    assert similar.similar_item_row.tolist() == np.argsort(-column, kind="stable")[:4].tolist()


# --- errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("model, message", [
    (ALS(factors=0), "factors"), (ALS(factors=2.5), "factors"), (ALS(regularization=-1), "regularization"),
    (ALS(alpha=0), "alpha"), (ALS(alpha=float("nan")), "alpha"), (ALS(iterations=0), "iterations"),
    (ALS(num_threads=-1), "num_threads"), (ALS(random_state="seed"), "random_state"),
    (BPR(learning_rate=0), "learning_rate"), (BPR(factors=True), "factors"),
    (BPR(regularization=float("inf")), "regularization"),
])
def test_bad_parameters_name_themselves(model, message):
    with pytest.raises(StoreliftError, match=message):
        model.fit(MATRIX)


def test_misuse_raises_actionable_errors():
    with pytest.raises(RecommendModelError, match="not fitted"):
        ALS().similar_items([0])
    with pytest.raises(RecommendModelError, match="no item similarities"):
        Popularity().fit(MATRIX).similar_items([0])
    model = ALS(**ALS_PARAMS).fit(MATRIX)
    with pytest.raises(RecommendModelError, match="item_rows"):
        model.similar_items([MATRIX.shape[1]])
    with pytest.raises(RecommendModelError, match="k is"):
        model.similar_items([0], k=0)
    with pytest.raises(RecommendModelError, match="user_rows"):
        model.scores([MATRIX.shape[0]])
    with pytest.raises(RecommendModelError, match="scipy.sparse"):
        BPR().fit(MATRIX.toarray())


def test_als_folds_in_a_new_history_by_least_squares():
    model = ALS(factors=BLOCKS, regularization=0.1, alpha=10.0, num_threads=1).fit(MATRIX)
    # a new visitor with two items of block 2: their best unseen items are the rest of block 2
    history = sp.csr_matrix((np.ones(2, np.float32), ([0, 0], [20, 21])), shape=(1, MATRIX.shape[1]))
    scores = model.score_history(history)[0]
    scores[[20, 21]] = -np.inf
    assert set(ITEM_BLOCK[np.argsort(-scores)[:ITEMS_PER_BLOCK - 2]]) == {2}
    # refolding fitted users' own rows ranks items as their fitted factors do (ALS is at a fixed point)
    refolded = model.score_history(MATRIX[:40])
    fitted = model.scores(np.arange(40))
    for a, b in zip(refolded, fitted):
        assert np.corrcoef(a, b)[0, 1] > 0.99


def test_bpr_folds_in_a_new_history_by_its_own_updates_and_weights_lean_it_to_recent_items():
    model = BPR(factors=BLOCKS, learning_rate=0.05).fit(MATRIX)
    history = sp.csr_matrix((np.ones(2, np.float32), ([0, 0], [20, 21])), shape=(1, MATRIX.shape[1]))
    scores = model.score_history(history)[0]
    scores[[20, 21]] = -np.inf
    assert set(ITEM_BLOCK[np.argsort(-scores)[:ITEMS_PER_BLOCK - 2]]) == {2}
    refolded = model.score_history(MATRIX[:40])
    assert all(np.corrcoef(a, b)[0, 1] > 0.95 for a, b in zip(refolded, model.scores(np.arange(40))))
    np.testing.assert_array_equal(model.fold_in(MATRIX[:5]), model.fold_in(MATRIX[:5]))  # seeded

    # two old items of block 0 (weight 0.05) and two recent ones of block 2 (weight 1)
    mixed = sp.csr_matrix((np.array([0.05, 0.05, 1, 1], np.float32), ([0, 0, 0, 0], [0, 1, 20, 21])),
                          shape=(1, MATRIX.shape[1]))
    def top_blocks(matrix):
        scores = model.fold_in(matrix) @ model.item_factors_.T
        scores[0, [0, 1, 20, 21]] = -np.inf
        return ITEM_BLOCK[np.argsort(-scores[0])[:ITEMS_PER_BLOCK - 2]]
    assert set(top_blocks(mixed)) == {2}
    binary = mixed.copy()
    binary.data[:] = 1
    assert set(top_blocks(binary)) == {0, 2}  # unweighted, both blocks count alike

    weighted = BPR(factors=BLOCKS, learning_rate=0.05, fold_in_users=True).fit(MATRIX)
    np.testing.assert_array_equal(weighted.item_factors_, model.item_factors_)  # the same fit
    np.testing.assert_array_equal(weighted.user_factors_, model.fold_in(MATRIX))
    with pytest.raises(RecommendModelError, match="fold_in_users"):
        BPR(fold_in_users="yes").fit(MATRIX)
