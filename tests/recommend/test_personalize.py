"""Personalizer: consent, the cold-start fallback, exclusions, stock, caps and reasons, on a planted store."""

import numpy as np
import pandas as pd
import pytest

from storelift.recommend import EASE, ItemKNN, Popularity, interaction_matrix
from storelift.recommend.models import Recommender, RecommendModelError
from storelift.recommend.personalize import Personalizer
from storelift.recommend.rules import ItemCatalog, RecommendationRules, exposure_share

# Two tastes: shoppers of "garden" items g0..g5 and of "kitchen" items k0..k5. Kitchen items are the
# most bought overall, so the popular list is all kitchen; a garden shopper's own list is garden.
GARDEN = [f"g{i}" for i in range(6)]
KITCHEN = [f"k{i}" for i in range(6)]


def planted_events(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(40):
        rows += [(f"gardener{u}", item) for item in rng.choice(GARDEN, 3, replace=False)]
    for u in range(80):
        rows += [(f"cook{u}", item) for item in rng.choice(KITCHEN, 3, replace=False)]
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def products(stock=None):
    items = GARDEN + KITCHEN
    return pd.DataFrame({
        "product_id": items,
        "title": [f"{i} title" for i in items],
        "category": ["Home > Garden" if i.startswith("g") else "Home > Kitchen" for i in items],
        "brand": ["acme" if i in ("g0", "g1", "g2", "g3") else "other" for i in items],
        "vendor": ["v1" if i.startswith("g") else "v2" for i in items],
        "stock_quantity": [(stock or {}).get(i, 5) for i in items],
    })


@pytest.fixture(scope="module")
def store():
    interactions = interaction_matrix(planted_events(), binary=True)
    return interactions


def personalizer(interactions, model=None, rules=None, stock=None):
    model = model or ItemKNN(neighbors=20, shrink=1.0).fit(interactions.matrix)
    catalog = ItemCatalog.from_products(products(stock), interactions.items)
    return Personalizer(model, interactions, catalog, rules)


def test_known_customer_gets_their_taste_with_reasons(store):
    recs = personalizer(store).recommend("gardener0", k=3)
    assert list(recs.columns) == ["rank", "item_id", "score", "source", "personalized", "reason"]
    assert set(recs.item_id) <= set(GARDEN) and recs.personalized.all()
    assert recs.source.eq("ItemKNN").all()
    held = set(planted_events().query("user_id == 'gardener0'").item_id)
    assert not set(recs.item_id) & held  # history excluded
    assert all(r.startswith("because you showed interest in g") for r in recs.reason)


def test_withdrawn_consent_gives_the_popular_list_and_reads_no_history(store):
    p = personalizer(store)
    recs = p.recommend("gardener0", k=3, consent=False, session_items=["g1"],
                       purchases=pd.DataFrame({"item_id": ["k0"], "purchased_at": [pd.Timestamp("2025-01-01")]}))
    assert set(recs.item_id) <= set(KITCHEN)  # the popular items, not the gardener's taste
    assert not recs.personalized.any() and recs.source.eq("popular").all()
    assert recs.item_id.tolist() == p.recommend(None, k=3).item_id.tolist()  # same as an anonymous visitor
    assert all(r == "popular in Kitchen" for r in recs.reason)


def test_cold_start_unknown_visitor_gets_popular_and_a_session_is_folded_in(store):
    p = personalizer(store)
    cold = p.recommend("never-seen", k=4)
    assert cold.source.eq("popular").all() and set(cold.item_id) <= set(KITCHEN) and len(cold) == 4
    session = p.recommend("never-seen", k=3, session_items=["g0", "g1"])
    assert session.source.eq("session").all() and set(session.item_id) <= set(GARDEN) - {"g0", "g1"}
    assert session.personalized.all()
    unknown_items = p.recommend(None, k=2, session_items=["no-such-item"])
    assert unknown_items.source.eq("popular").all()


def segmented_store():
    """fr* shoppers (segment FR) buy k0 and k1, it* shoppers (IT) k4 and k5; it-new (IT) bought only g0,
    which no one else bought, so no model links anything to it."""
    rows = [(f"fr{u}", item) for u in range(10) for item in ("k0", "k1")]
    rows += [(f"it{u}", item) for u in range(3) for item in ("k4", "k5")] + [("it-new", "g0")]
    interactions = interaction_matrix(pd.DataFrame(rows, columns=["user_id", "item_id"]), binary=True)
    labels = ["FR" if str(u).startswith("fr") else "IT" for u in interactions.users]
    popular = Popularity(segments=labels, shrinkage=1.0).fit(interactions.matrix)
    model = ItemKNN(neighbors=20, shrink=1.0).fit(interactions.matrix)
    return Personalizer(model, interactions, ItemCatalog.from_products(products(), interactions.items),
                        popular=popular)


def test_a_visitor_gets_the_popular_list_of_their_context_and_a_customer_their_segments():
    p = segmented_store()
    overall = p.recommend(None, k=2)
    assert overall.item_id.tolist() == ["k0", "k1"] and overall.reason.eq("popular in Kitchen").all()
    in_context = p.recommend(None, k=2, context="IT")
    assert in_context.item_id.tolist() == ["k4", "k5"] and in_context.source.eq("popular").all()
    assert in_context.reason.eq("popular with IT shoppers").all() and not in_context.personalized.any()
    assert p.recommend("a-visitor", k=2, context="ES").item_id.tolist() == ["k0", "k1"]  # unknown context
    # it-new's history links to nothing, so the list is the popular one: their own segment's with consent,
    # the overall one without (their segment is their data)
    assert p.recommend("it-new", k=2).item_id.tolist() == ["k4", "k5"]
    assert p.recommend("it-new", k=2, consent=False).item_id.tolist() == ["k0", "k1"]
    with pytest.raises(RecommendModelError, match="popular model was fitted on 3 users"):
        Personalizer(p.model, p.interactions, p.catalog,
                     popular=Popularity(segments=["a"] * 3).fit(p.interactions.matrix[:3]))


def test_recently_bought_items_are_excluded_until_the_repurchase_cycle_passes(store):
    rules = RecommendationRules(repurchase_days=30)
    p = personalizer(store, rules=rules)
    first = p.recommend("gardener0", k=1).item_id.iat[0]
    bought = pd.DataFrame({"item_id": [first], "purchased_at": [pd.Timestamp("2025-01-10")]})
    soon = p.recommend("gardener0", k=3, purchases=bought, now="2025-01-20")
    later = p.recommend("gardener0", k=3, purchases=bought, now="2025-03-01")
    assert first not in set(soon.item_id)
    assert later.item_id.iat[0] == first
    never = personalizer(store, rules=RecommendationRules(repurchase_days=None))
    assert first not in set(never.recommend("gardener0", k=3, purchases=bought, now="2030-01-01").item_id)


def test_out_of_stock_items_are_never_shown(store):
    top = personalizer(store).recommend("gardener0", k=2).item_id.tolist()
    p = personalizer(store, stock={top[0]: 0})
    assert top[0] not in set(p.recommend("gardener0", k=5).item_id)
    assert top[0] not in set(p.recommend(None, k=12).item_id)


def test_caps_limit_a_brand_and_back_fill_keeps_the_list_full(store):
    rules = RecommendationRules(max_per_brand=1)
    recs = personalizer(store, rules=rules).recommend("gardener0", k=4)
    catalog = products().set_index("product_id")
    brands = catalog.loc[recs.item_id, "brand"]
    assert brands.value_counts().max() == 1 and len(recs) == 2  # two brands in all: one item each
    full = personalizer(store).recommend("gardener0", k=8)
    assert len(full) == 8 and full.source.iloc[-1] == "popular"  # garden runs out; popular fills


def test_ease_folds_in_and_explains_too(store):
    p = personalizer(store, model=EASE(lambda_=1.0).fit(store.matrix))
    recs = p.recommend(None, k=2, session_items=["k0"])
    assert set(recs.item_id) <= set(KITCHEN) - {"k0"} and recs.reason.str.contains("k0").all()


def test_exposure_share_compares_with_the_catalog(store):
    p = personalizer(store)
    shown = pd.concat([p.recommend(u, k=3) for u in ["gardener0", "cook0", "cook1"]])
    shown["item_row"] = store.items.get_indexer(shown.item_id)
    share = exposure_share(shown, p.catalog, by="vendor").set_index("vendor")
    assert share.exposure_share.sum() == pytest.approx(1.0)
    assert share.loc["v2", "exposure_share"] == pytest.approx(6 / 9)
    assert share.loc["v1", "catalog_share"] == pytest.approx(0.5)


def test_bad_requests_name_the_parameter(store):
    p = personalizer(store)
    with pytest.raises(RecommendModelError, match="k is 0"):
        p.recommend("cook0", k=0)
    with pytest.raises(ValueError, match="session_items is the string"):
        p.recommend(None, session_items="g1")
    with pytest.raises(ValueError, match="not an item id"):
        p.recommend(None, session_items=[["g1"]])
    with pytest.raises(ValueError, match="repurchase_days"):
        RecommendationRules(repurchase_days=-1)
    with pytest.raises(ValueError, match="max_per_brand"):
        RecommendationRules(max_per_brand=0)


class FittedUsersOnly(ItemKNN):
    """A model that scores only the customers it was fitted on, as one without a fold-in does."""

    def score_history(self, history):
        return Recommender._history_scores(self, history)  # raises: cannot fold in


def test_a_model_that_cannot_fold_in_leaves_a_new_visitor_on_the_popular_list(store):
    p = personalizer(store, model=FittedUsersOnly(neighbors=20, shrink=1.0).fit(store.matrix))
    recs = p.recommend(None, k=3, session_items=["g0"])
    assert recs.source.eq("popular").all() and recs.item_id.tolist() == p.recommend(None, k=3).item_id.tolist()
    known = p.recommend("gardener0", k=3, session_items=["g5"])
    assert known.source.eq("FittedUsersOnly").all()  # the fitted history still personalizes


def test_bpr_folds_a_new_visitors_session_in(store):
    from storelift.recommend import BPR

    p = personalizer(store, model=BPR(factors=4, learning_rate=0.05, iterations=50).fit(store.matrix))
    recs = p.recommend(None, k=3, session_items=["g0", "g1"])
    assert recs.source.eq("session").all() and set(recs.item_id) <= set(GARDEN) - {"g0", "g1"}


def _full_sort(values, allowed, positive_only):
    eligible = allowed & np.isfinite(values) & ((values > 0) if positive_only else True)
    columns = np.flatnonzero(eligible)
    return columns[np.lexsort((columns, -values[columns]))]


@pytest.mark.parametrize("seed", range(20))
def test_partial_selection_orders_exactly_as_a_full_sort_with_ties_and_caps(seed):
    from storelift.recommend.personalize import best_first, capped_top

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    values = rng.integers(-3, 6, n).astype(np.float32)  # few distinct values: many ties at every cut
    values[rng.random(n) < 0.05] = -np.inf
    allowed = rng.random(n) < 0.8
    size = int(rng.integers(1, 50))
    for positive_only in (True, False):
        full = _full_sort(values, allowed, positive_only)
        order, complete = best_first(values, allowed, size, positive_only)
        assert complete == (full.size <= size)
        assert order.tolist() == full[:order.size].tolist() and order.size >= min(size, full.size)
        listed, listed_complete = best_first(values, allowed, size, positive_only, candidates=np.arange(n)[::-1])
        assert listed.tolist() == order.tolist() and listed_complete == complete
        some = rng.choice(n, size=max(1, n // 3), replace=False)
        inside = best_first(values, allowed, n, positive_only, candidates=some)[0]
        assert inside.tolist() == [c for c in full.tolist() if c in set(some.tolist())]
    vendors = np.array([f"v{v}" for v in rng.integers(0, 3, n)], dtype=object)
    empty = np.full(n, None, dtype=object)
    catalog = ItemCatalog(pd.Index(range(n)), empty, empty, empty, vendors, np.ones(n, bool))
    rules = RecommendationRules(max_per_vendor=2)
    from storelift.recommend.rules import apply_caps

    k = int(rng.integers(1, 10))
    expected = apply_caps(_full_sort(values, allowed, True), catalog, rules, k)
    assert capped_top(values, allowed, k, catalog, rules, positive_only=True).tolist() == expected.tolist()


def test_records_and_frame_agree(store):
    chosen = personalizer(store)
    frame = chosen.recommend("gardener0", k=4)
    assert len(frame) == 4
    assert frame.to_dict("records") == chosen.recommend_records("gardener0", k=4)


@pytest.mark.parametrize("kind", ["exact", "hnsw"])
def test_an_index_over_factor_models_gives_the_same_lists_as_scoring_every_item(store, kind):
    pytest.importorskip("implicit", reason="ALS comes with the recommend extra")
    pytest.importorskip("faiss", reason="the index comes with the recommend extra")
    from storelift.recommend import ALS, InnerProductIndex

    als = ALS(factors=8, iterations=5, num_threads=1).fit(store.matrix)
    index = InnerProductIndex(kind).fit(als.item_factors_)
    plain = personalizer(store, model=als, stock={"k0": 0})
    indexed = Personalizer(als, store, plain.catalog, index=index)
    for customer in ("gardener0", "cook3", "nobody"):
        assert indexed.recommend_records(customer, k=5) == plain.recommend_records(customer, k=5)
    with pytest.raises(RecommendModelError, match="index needs a factor model"):
        Personalizer(ItemKNN().fit(store.matrix), store, plain.catalog, index=index)


def test_similar_items_follow_the_model_and_the_stock_rule(store):
    chosen = personalizer(store, stock={"g1": 0})
    row = int(store.item_rows(["g0"])[0])
    similar = chosen.similar_records(row, k=3)
    ids = [r["item_id"] for r in similar]
    assert len(ids) == 3 and set(ids) <= set(GARDEN) - {"g0", "g1"}  # garden items, in stock, never itself
    assert [r["rank"] for r in similar] == [1, 2, 3] and similar[0]["reason"] == "similar to g0 title"


@pytest.mark.parametrize("seed", range(20))
def test_reading_a_ranked_list_head_picks_what_a_full_selection_picks(seed):
    from storelift.recommend.personalize import best_first

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    values = rng.integers(-3, 40, n).astype(np.float32)  # many ties
    values[rng.random(n) < 0.05] = np.nan
    allowed = rng.random(n) < rng.uniform(0.02, 1.0)
    ranked = np.lexsort((np.arange(n), -np.nan_to_num(values, nan=-np.inf).astype(np.float64)))
    for size in (1, 5, 96, 5000):
        for positive_only in (False, True):
            full, full_complete = best_first(values, allowed, size, positive_only)
            head, head_complete = best_first(values, allowed, size, positive_only, ranked=ranked)
            shown = min(size, len(full))
            assert head[:shown].tolist() == full[:shown].tolist()
            assert len(head) >= shown
            if len(head) >= len(full):
                assert head[:len(full)].tolist() == full.tolist()
            if head_complete and full_complete:
                assert head.tolist() == full.tolist()
