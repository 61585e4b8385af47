"""A store's campaign becomes uplift data: pre-send features, randomized arms, in-window outcome, aligned truth."""

import json

import numpy as np
import pandas as pd
import pytest

from storelift.experiments.uplift import UpliftError
from storelift.experiments.uplift_data import campaign_uplift_data
from storelift.synth import generate_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("uplift-store")
    generate_store(root, customers=3_000, seed=11, events=False)
    read = lambda name: pd.read_parquet(root / name)  # noqa: E731
    campaign = json.loads((root / "ground_truth" / "truth.json").read_text())["campaign"]
    return {"orders": read("orders.parquet"), "lines": read("order_lines.parquet"),
            "products": read("products.parquet"), "truth": read("ground_truth/customers.parquet"),
            "sent_at": pd.Timestamp(campaign["sent_at"]), "window_days": campaign["window_days"]}


@pytest.fixture(scope="module")
def data(store):
    return campaign_uplift_data(store["orders"], store["lines"], store["products"], store["truth"],
                                store["sent_at"], store["window_days"])


def test_rows_are_the_randomized_customers_with_their_arm_and_truth(store, data):
    truth = store["truth"].set_index("customer_id")
    eligible = truth[truth.is_campaign_eligible]
    assert sorted(data.ids) == sorted(eligible.index)
    assert np.array_equal(data.treatment, (truth.loc[data.ids, "treatment_arm"] == "treatment").to_numpy())
    assert np.allclose(data.true_uplift, truth.loc[data.ids, "true_conversion_uplift"])
    assert 0.3 < data.treatment.mean() < 0.7


def test_outcome_is_an_order_within_the_campaign_window(store, data):
    orders, sent = store["orders"], store["sent_at"].tz_localize(None)
    end = sent + pd.Timedelta(days=store["window_days"])
    buyers = set(orders[(orders.ordered_at >= sent) & (orders.ordered_at < end)].customer_id)
    assert np.array_equal(data.outcome, np.isin(data.ids, list(buyers)))
    assert 0 < data.outcome.mean() < 1


def test_features_see_only_orders_before_the_send(store, data):
    orders, sent = store["orders"], store["sent_at"].tz_localize(None)
    before = orders[orders.ordered_at < sent].groupby("customer_id").size()
    features = data.features.set_index(pd.Index(data.ids))
    assert (features.orders == before.reindex(data.ids).to_numpy()).all()
    assert (features.days_since_last_order > 0).all()
    assert (features.days_since_first_order >= features.days_since_last_order).all()
    shares = features.filter(like="share_")
    assert np.allclose(shares.sum(axis=1)[features.spend > 0], 1.0)
    assert not features.isna().any().any()


def test_bad_store_inputs_are_named(store):
    with pytest.raises(UpliftError, match="orders has no column 'ordered_at'"):
        campaign_uplift_data(store["orders"].drop(columns="ordered_at"), store["lines"], store["products"],
                             store["truth"], store["sent_at"], 14)
    with pytest.raises(UpliftError, match="window_days is 0"):
        campaign_uplift_data(store["orders"], store["lines"], store["products"], store["truth"], store["sent_at"], 0)
    with pytest.raises(UpliftError, match="no row with treatment_arm"):
        campaign_uplift_data(store["orders"], store["lines"], store["products"],
                             store["truth"].assign(treatment_arm=None), store["sent_at"], 14)
