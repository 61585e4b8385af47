"""SpendModel: no look-ahead, ranks future spend better than a run rate, keeps the mean, clear errors."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from storelift.customers.features import CustomerModelError, future_labels
from storelift.customers.spend import SpendModel, evaluate_spend

AS_OF = pd.Timestamp("2024-07-01")
HORIZON = 90


@pytest.fixture(scope="module")
def store_orders(tmp_path_factory) -> pd.DataFrame:
    """customer_orders of a 3,000-customer synthetic store, as a DataFrame."""
    from storelift.customers import customer_orders
    from storelift.synth import generate_store

    folder = tmp_path_factory.mktemp("spend-store")
    generate_store(folder, customers=3000, seed=11, events=False)
    tables = [ibis.memtable(pd.read_parquet(folder / f"{t}.parquet")) for t in ("orders", "order_lines", "refunds")]
    return customer_orders(*tables).execute().drop(columns=["currency"])


@pytest.fixture(scope="module")
def model(store_orders) -> SpendModel:
    return SpendModel(horizon_days=HORIZON).fit(ibis.memtable(store_orders), AS_OF)


def test_predictions_ignore_orders_on_or_after_as_of(model, store_orders):
    before = model.predict(ibis.memtable(store_orders), AS_OF)
    later = store_orders.sample(400, random_state=2).assign(
        ordered_at=AS_OF + pd.Timedelta(hours=1), order_id=lambda f: "late-" + f.order_id, value=1e6)
    with_later = ibis.memtable(pd.concat([store_orders, later], ignore_index=True))
    pd.testing.assert_frame_equal(model.predict(with_later, AS_OF), before)
    refitted = SpendModel(horizon_days=HORIZON).fit(with_later, AS_OF)
    pd.testing.assert_frame_equal(refitted.predict(with_later, AS_OF), before)
    next_day = model.predict(with_later, AS_OF + pd.Timedelta(days=1)).set_index("customer_id").predicted_value
    touched = sorted(set(later.customer_id) & set(before.customer_id))
    changed = next_day.loc[touched] != before.set_index("customer_id").predicted_value.loc[touched]
    assert changed.mean() > 0.9  # a day later those orders count


def test_predicted_spend_is_non_negative_and_keeps_the_training_mean(model, store_orders):
    from storelift.customers.features import training_frame

    rows = training_frame(ibis.memtable(store_orders), AS_OF, HORIZON)
    fitted = model.predict_features(rows).predicted_value
    assert (fitted >= 0).all()
    assert fitted.mean() == pytest.approx(rows.future_value.clip(lower=0).mean(), rel=1e-6)


def test_spend_ranking_beats_the_past_run_rate(store_orders):
    result = evaluate_spend(ibis.memtable(store_orders), AS_OF, AS_OF + pd.Timedelta(days=HORIZON)).set_index("scorer")
    assert result.loc["spend_model", "spearman"] > 0.4
    assert result.loc["spend_model", "spearman"] > result.loc["past_run_rate", "spearman"]


def test_predicted_spend_tracks_actual_spend_by_decile(model, store_orders):
    orders = ibis.memtable(store_orders)
    pred = model.predict(orders, AS_OF).merge(future_labels(orders, AS_OF, HORIZON).execute(), on="customer_id")
    decile = pd.qcut(pred.predicted_value.rank(method="first"), 10, labels=False)
    actual = pred.groupby(decile).future_value.mean()
    assert actual.iloc[-1] > 5 * max(actual.iloc[0], 1.0)  # top decile spends far more than the bottom
    assert np.corrcoef(np.arange(10), actual)[0, 1] > 0.8


def test_bad_input_names_the_parameter_and_the_fix(store_orders):
    with pytest.raises(CustomerModelError, match=r"lacks column\(s\) gross.*customer_orders"):
        SpendModel().fit(ibis.memtable(store_orders.drop(columns=["gross"])), AS_OF)
    with pytest.raises(CustomerModelError, match="horizon_days"):
        SpendModel(horizon_days=0).fit(ibis.memtable(store_orders), AS_OF)
    with pytest.raises(CustomerModelError, match="not fitted"):
        SpendModel().predict(ibis.memtable(store_orders), AS_OF)
    with pytest.raises(CustomerModelError, match="as_of"):
        SpendModel().fit(ibis.memtable(store_orders), "2020-01-01")
