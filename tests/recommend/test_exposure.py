"""Vendor-exposure balance: exposure moves toward catalogue shares at a bounded cost in relevance."""

import numpy as np
import pandas as pd
import pytest

from storelift.recommend import EASE
from storelift.recommend.evaluate import evaluate, leave_one_out
from storelift.recommend.exposure import Reweighted, VendorBalance, total_variation
from storelift.recommend.interactions import RecommendDataError
from storelift.recommend.models import mask_excluded
from storelift.recommend.personalize import Personalizer
from storelift.synth import generate_store


@pytest.fixture(scope="module")
def purchases(tmp_path_factory):
    out = tmp_path_factory.mktemp("store")
    generate_store(out, customers=1_500, seed=5)
    orders, lines = pd.read_parquet(out / "orders.parquet"), pd.read_parquet(out / "order_lines.parquet")
    products = pd.read_parquet(out / "products.parquet")
    bought = lines.merge(orders[["order_id", "customer_id", "ordered_at"]], on="order_id").dropna(subset=["customer_id"])
    bought = bought.sort_values(["customer_id", "ordered_at", "line_number"])
    bought = bought.drop_duplicates(["customer_id", "product_id"], keep="last")
    bought["position"] = bought.groupby("customer_id").cumcount()
    split = leave_one_out(bought.rename(columns={"customer_id": "user_id", "product_id": "item_id"}))
    vendors = products.set_index("product_id").reindex(split.items)["vendor"].to_numpy()
    return split, vendors


def fitted_balance(split, vendors, max_boost=2.0):
    stage = split.stage("test")
    model = EASE().fit(stage.fit_matrix)
    scores = np.array(model.scores(stage.user_rows), dtype=np.float32)
    mask_excluded(scores, stage.fit_matrix, stage.user_rows)  # lists never repeat what was bought
    return VendorBalance(k=10, max_boost=max_boost).fit(scores, vendors)


def test_balance_brings_exposure_to_catalogue_shares_at_a_small_relevance_cost(purchases):
    split, vendors = purchases
    balance = fitted_balance(split, vendors)
    assert balance.distance_before_ > 0.05, "the synthetic store's lists over-expose some vendors"
    assert balance.distance_after_ < 0.5 * balance.distance_before_
    report = balance.report_
    assert total_variation(report["exposure_after"], report["catalog_share"]) == pytest.approx(balance.distance_after_)
    # over-exposed vendors end up weighted below under-exposed ones (weights act relative to each other)
    over = report["exposure_before"] > report["catalog_share"]
    assert report.loc[over, "weight"].max() < report.loc[~over, "weight"].min()
    plain = evaluate(EASE(), split, "test")["NDCG@10"].iloc[0]
    balanced = evaluate(Reweighted(EASE(), balance.item_weights(vendors)), split, "test")["NDCG@10"].iloc[0]
    assert balanced >= 0.9 * plain, (plain, balanced)


def test_fit_on_sample_balances_the_lists_served_to_a_sample_of_customers(purchases):
    from storelift.recommend.exposure import fit_on_sample
    from storelift.recommend.interactions import Interactions

    split, vendors = purchases
    stage = split.stage("test")
    interactions = Interactions(stage.fit_matrix, pd.Index(split.users), pd.Index(split.items))
    model = EASE().fit(interactions.matrix)
    balance = fit_on_sample(model, interactions, vendors, max_boost=2.0, sample=800)
    assert balance.distance_after_ < 0.5 * balance.distance_before_
    assert balance.weights_.max() <= 2.0 + 1e-12 and balance.weights_.min() >= 0.5 - 1e-12
    again = fit_on_sample(model, interactions, vendors, max_boost=2.0, sample=800)
    assert np.array_equal(again.weights_, balance.weights_)  # the sample is seeded


def test_max_boost_bounds_the_weights(purchases):
    split, vendors = purchases
    unchanged = fitted_balance(split, vendors, max_boost=1.0)
    assert np.all(unchanged.weights_ == 1.0)
    assert unchanged.distance_after_ == pytest.approx(unchanged.distance_before_)
    tight = fitted_balance(split, vendors, max_boost=1.05)
    assert tight.weights_.max() <= 1.05 + 1e-12 and tight.weights_.min() >= 1 / 1.05 - 1e-12


def test_the_personalizer_serves_balanced_lists(purchases):
    split, vendors = purchases
    stage = split.stage("test")
    model = EASE().fit(stage.fit_matrix)
    from storelift.recommend.interactions import Interactions
    from storelift.recommend.rules import ItemCatalog

    interactions = Interactions(stage.fit_matrix.tocsr(), split.users, split.items)
    catalog = ItemCatalog.from_products(pd.DataFrame({"product_id": split.items, "vendor": vendors}), split.items)
    favoured = pd.Series(vendors).value_counts().index[-1]  # the smallest vendor
    weights = np.where(vendors == favoured, 3.0, 1.0)
    plain = Personalizer(model, interactions, catalog)
    boosted = Personalizer.from_artifact({"model": model, "interactions": interactions, "catalog": catalog,
                                          "item_weights": weights})
    customers = split.users[:200]
    share = [np.mean([vendors[split.items.get_loc(i)] == favoured
                      for c in customers for i in p.recommend(c, 10)["item_id"]]) for p in (plain, boosted)]
    assert share[1] > share[0]
    with pytest.raises(Exception, match="item_weights"):
        Personalizer(model, interactions, catalog, item_weights=weights[:5])


def test_bad_parameters_name_themselves():
    with pytest.raises(RecommendDataError, match="max_boost"):
        VendorBalance(max_boost=0.5)
    with pytest.raises(RecommendDataError, match="vendors"):
        VendorBalance().fit(np.ones((2, 3)), ["a", "b"])
