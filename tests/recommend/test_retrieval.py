"""InnerProductIndex and FactorRetriever against numpy brute force on seeded clustered vectors."""

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp

from storelift.errors import StoreliftError
from storelift.recommend import FactorRetriever, InnerProductIndex
from storelift.recommend.models import RecommendModelError, top_k

faiss = pytest.importorskip("faiss")

N_ITEMS, DIM, K = 4000, 16, 20


def clustered(n: int, seed: int, spread: float = 0.5) -> np.ndarray:
    """Vectors around 40 shared centres with log-normal lengths, like factors of popular and rare items."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).normal(size=(40, DIM))
    vectors = centres[rng.integers(0, 40, n)] + spread * rng.normal(size=(n, DIM))
    return (vectors * rng.lognormal(0.0, 0.4, size=(n, 1))).astype(np.float32)


ITEMS = clustered(N_ITEMS, seed=1)
QUERIES = clustered(200, seed=2, spread=0.8)


def brute_force(queries, k, exclude=None):
    scores = queries @ ITEMS.T
    for q, items in enumerate(exclude or []):
        scores[q, list(items)] = -np.inf
    return top_k(scores, k)


@pytest.fixture(scope="module")
def hnsw():
    faiss.omp_set_num_threads(1)
    return InnerProductIndex("hnsw", M=32, ef_construction=128, ef_search=64).fit(ITEMS)


@pytest.fixture(scope="module")
def exact():
    return InnerProductIndex("exact").fit(ITEMS)


def recall(found, truth):
    return np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, truth)])


def test_exact_kind_equals_numpy_brute_force(exact):
    rows, scores = exact.search(QUERIES, K)
    assert rows.tolist() == brute_force(QUERIES, K).tolist()
    np.testing.assert_allclose(scores, np.take_along_axis(QUERIES @ ITEMS.T, rows, axis=1), rtol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()


def test_exact_kind_breaks_ties_towards_the_lower_item_row():
    index = InnerProductIndex("exact").fit(np.array([[1, 0], [2, 0], [2, 0], [0, 1]], dtype=np.float32))
    assert index.search([1.0, 0.0], 3)[0].tolist() == [[1, 2, 0]]


def test_hnsw_recall_at_20_against_exact_is_at_least_095(hnsw):
    rows, _ = hnsw.search(QUERIES, K)
    assert recall(rows, brute_force(QUERIES, K)) >= 0.95


def test_hnsw_scores_are_the_exact_inner_products_best_first(hnsw):
    rows, scores = hnsw.search(QUERIES, K)
    np.testing.assert_allclose(scores, np.take_along_axis(QUERIES @ ITEMS.T, rows, axis=1), rtol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_excluded_items_are_never_returned_even_when_they_are_the_best(kind, exact, hnsw):
    index = {"exact": exact, "hnsw": hnsw}[kind]
    best = brute_force(QUERIES, K)
    excluded = [set(row) for row in best]  # each query's true top 20
    rows, scores = index.search(QUERIES, K, exclude=excluded)
    assert (rows >= 0).all() and np.isfinite(scores).all()
    assert all(not set(found) & banned for found, banned in zip(rows, excluded))
    next_best = brute_force(QUERIES, K, exclude=excluded)
    if kind == "exact":
        assert rows.tolist() == next_best.tolist()
    else:
        assert recall(rows, next_best) >= 0.95


def test_exclusion_as_csr_or_lists_gives_the_same_answer(hnsw):
    lists = [[3, 17, 99], [], [5]]
    matrix = sp.csr_matrix((np.ones(4), ([0, 0, 0, 2], [3, 17, 99, 5])), shape=(3, N_ITEMS))
    by_list = hnsw.search(QUERIES[:3], K, exclude=lists)
    by_matrix = hnsw.search(QUERIES[:3], K, exclude=matrix)
    assert by_list[0].tolist() == by_matrix[0].tolist()


def test_fewer_items_than_k_pads_with_minus_one_and_minus_inf():
    index = InnerProductIndex("hnsw", M=4).fit(ITEMS[:5])
    rows, scores = index.search(QUERIES[:1], 4, exclude=[{0, 1}])
    assert sorted(rows[0, :3].tolist()) == [2, 3, 4] and rows[0, 3] == -1 and scores[0, 3] == -np.inf


def test_save_and_load_round_trip_gives_the_same_answers(tmp_path, exact, hnsw):
    for index in (exact, hnsw):
        loaded = InnerProductIndex.load(index.save(tmp_path / f"{index.kind}.faiss"))
        assert loaded.kind == index.kind
        if index.kind == "hnsw":
            assert (loaded.M, loaded.ef_construction, loaded.ef_search) == (32, 128, 64)
        for a, b in zip(index.search(QUERIES, K, exclude=[{1, 2}] * len(QUERIES)),
                        loaded.search(QUERIES, K, exclude=[{1, 2}] * len(QUERIES))):
            assert np.array_equal(a, b)


def test_load_refuses_a_missing_path_or_another_kind_of_faiss_index(tmp_path):
    with pytest.raises(RecommendModelError, match="path"):
        InnerProductIndex.load(tmp_path / "absent.faiss")
    l2 = faiss.IndexFlatL2(DIM)
    l2.add(ITEMS[:10])
    faiss.write_index(l2, str(tmp_path / "l2.faiss"))
    with pytest.raises(RecommendModelError, match="IndexFlatL2"):
        InnerProductIndex.load(tmp_path / "l2.faiss")


@pytest.mark.parametrize("call, parameter", [
    (lambda i: i.search(QUERIES, 0), "k is 0"),
    (lambda i: i.search(QUERIES, 2.5), "k is 2.5"),
    (lambda i: i.search(QUERIES[:, :8], K), "query_vectors has 8 dimensions"),
    (lambda i: i.search(np.full((1, DIM), np.nan), K), "query_vectors row 0"),
    (lambda i: i.search(QUERIES[:2], K, exclude=[[N_ITEMS]] * 2), "exclude holds item row"),
    (lambda i: i.search(QUERIES[:2], K, exclude=[[1]]), "exclude is list"),
    (lambda i: i.search(QUERIES[:2], K, exclude=sp.csr_matrix((3, N_ITEMS))), "exclude has shape"),
    (lambda i: InnerProductIndex("ivf").fit(ITEMS), "kind is 'ivf'"),
    (lambda i: InnerProductIndex("hnsw", M=1).fit(ITEMS), "M is 1"),
    (lambda i: InnerProductIndex("hnsw", ef_search=0).fit(ITEMS), "ef_search is 0"),
    (lambda i: InnerProductIndex("exact").fit(np.vstack([ITEMS[:3], [[np.inf] * DIM]])), "item_vectors row 3"),
    (lambda i: InnerProductIndex("exact").fit(ITEMS[0]), "item_vectors has shape"),
    (lambda i: InnerProductIndex().search(QUERIES, K), "not fitted"),
])
def test_bad_parameters_raise_naming_the_parameter(exact, call, parameter):
    with pytest.raises(RecommendModelError, match=parameter) as raised:
        call(exact)
    assert isinstance(raised.value, StoreliftError)


USERS = clustered(50, seed=3, spread=0.8)
MODEL = SimpleNamespace(user_factors_=USERS, item_factors_=ITEMS)
HISTORY = sp.random(50, N_ITEMS, density=0.005, format="csr", random_state=4, dtype=np.float32)


def test_factor_retriever_recommends_the_top_inner_products_minus_history():
    retriever = FactorRetriever(kind="exact").fit(MODEL)
    recs = retriever.recommend([0, 7], k=5, exclude=HISTORY)
    assert list(recs.columns) == ["user_row", "rank", "item_row", "score"]
    history = [set(HISTORY[u].indices) for u in (0, 7)]
    expected = brute_force(USERS[[0, 7]], 5, exclude=history)
    assert recs.item_row.tolist() == expected.ravel().tolist()
    assert recs.user_row.tolist() == [0] * 5 + [7] * 5 and recs["rank"].tolist() == [1, 2, 3, 4, 5] * 2


def test_factor_retriever_reuses_a_saved_index_and_serves_a_raw_visitor_vector(tmp_path, hnsw):
    loaded = InnerProductIndex.load(hnsw.save(tmp_path / "items.faiss"))
    retriever = FactorRetriever().fit(MODEL, index=loaded)
    assert retriever.index_ is loaded
    by_user = retriever.recommend(3, k=K, exclude=[[1, 2]])
    by_vector = retriever.recommend_vectors(USERS[3], k=K, exclude=[[1, 2]])
    assert by_vector.item_row.tolist() == by_user.item_row.tolist() and (by_vector.user_row == 0).all()
    assert recall([by_user.item_row], brute_force(USERS[[3]], K, exclude=[{1, 2}])) >= 0.9


def test_factor_retriever_explains_what_is_wrong_with_its_inputs(exact):
    with pytest.raises(RecommendModelError, match="has no user_factors_"):
        FactorRetriever().fit(SimpleNamespace(item_factors_=ITEMS))
    with pytest.raises(RecommendModelError, match="model.user_factors_ has 8 dimensions"):
        FactorRetriever().fit(SimpleNamespace(user_factors_=USERS[:, :8], item_factors_=ITEMS))
    with pytest.raises(RecommendModelError, match="index holds 10 x 16"):
        FactorRetriever().fit(MODEL, index=InnerProductIndex("exact").fit(ITEMS[:10]))
    retriever = FactorRetriever().fit(MODEL, index=exact)
    with pytest.raises(RecommendModelError, match="user_rows must"):
        retriever.recommend([50], k=5)
    with pytest.raises(RecommendModelError, match="exclude has shape"):
        retriever.recommend([0], k=5, exclude=HISTORY[:10])
