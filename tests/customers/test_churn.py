"""ChurnModel: no look-ahead, better than chance and close to recency, calibrated, explained, clear errors."""

from __future__ import annotations

import re

import ibis
import numpy as np
import pandas as pd
import pytest

from storelift.customers.churn import ChurnModel, churn_metrics, evaluate_churn, recency_baseline, top_decile_lift
from storelift.customers.features import CustomerModelError, describe_feature, feature_names, future_labels

AS_OF = pd.Timestamp("2024-07-01")  # the synthetic store runs 2023-01-01 .. 2024-12-31
HORIZON = 90


@pytest.fixture(scope="module")
def store_orders(tmp_path_factory) -> pd.DataFrame:
    """customer_orders of a 3,000-customer synthetic store, as a DataFrame."""
    from storelift.customers import customer_orders
    from storelift.synth import generate_store

    folder = tmp_path_factory.mktemp("churn-store")
    generate_store(folder, customers=3000, seed=11, events=False)
    tables = [ibis.memtable(pd.read_parquet(folder / f"{t}.parquet")) for t in ("orders", "order_lines", "refunds")]
    return customer_orders(*tables).execute().drop(columns=["currency"])


@pytest.fixture(scope="module")
def model(store_orders) -> ChurnModel:
    return ChurnModel(horizon_days=HORIZON).fit(ibis.memtable(store_orders), AS_OF)


@pytest.fixture(scope="module")
def scored(model, store_orders) -> pd.DataFrame:
    """Predictions as of AS_OF joined with what happened in the horizon after it."""
    orders = ibis.memtable(store_orders)
    labels = future_labels(orders, AS_OF, HORIZON).execute()
    return model.predict(orders, AS_OF).merge(labels, on="customer_id")


def _later_orders(frame: pd.DataFrame) -> pd.DataFrame:
    """Copies of 500 orders moved to on/after AS_OF, plus a customer who first buys then."""
    later = frame.sample(500, random_state=1).copy()
    later["ordered_at"] = AS_OF + pd.to_timedelta(np.arange(500) % 40, unit="D")
    later["order_id"] = "late-" + later.order_id
    newcomer = later.iloc[:3].assign(customer_id="brand-new", order_id=lambda f: "new-" + f.order_id)
    return pd.concat([frame, later, newcomer], ignore_index=True)


def test_predictions_as_of_a_date_ignore_later_orders(model, store_orders, scored):
    with_later = ibis.memtable(_later_orders(store_orders))
    again = model.predict(with_later, AS_OF)
    pd.testing.assert_frame_equal(scored[again.columns].reset_index(drop=True), again)
    refitted = ChurnModel(horizon_days=HORIZON).fit(with_later, AS_OF)
    pd.testing.assert_frame_equal(refitted.predict(with_later, AS_OF), again)
    assert "brand-new" not in set(again.customer_id)
    # a later as_of does see them: the test would notice if later orders were simply dropped everywhere
    moved = model.predict(with_later, AS_OF + pd.Timedelta(days=45))
    assert "brand-new" in set(moved.customer_id)


def test_auc_beats_chance_and_stays_close_to_recency(store_orders):
    result = evaluate_churn(ibis.memtable(store_orders), AS_OF, AS_OF + pd.Timedelta(days=HORIZON))
    by = result.set_index("scorer")
    assert list(by.index) == ["churn_model", "recency_baseline"]
    assert by.loc["churn_model", "auc"] > 0.75
    # recency alone is a strong churn signal (buy-till-you-die); the model may not trail it by > 0.02 AUC
    assert by.loc["churn_model", "auc"] >= by.loc["recency_baseline", "auc"] - 0.02
    assert by.loc["churn_model", "brier"] < by.churn_rate.iloc[0] * (1 - by.churn_rate.iloc[0])  # beats a constant
    assert by.loc["churn_model", "top_decile_lift"] > 1.2
    assert (result.training_horizon_days == HORIZON).all() and (result.note == "").all()


def test_probabilities_are_calibrated(model, scored):
    churned = ~scored.has_purchase.astype(bool)
    rate, n, n_cal = churned.mean(), len(scored), model.calibration_rows_
    # sampling error of the observed rate and of the held-out rows the calibration learnt from, 3 sd
    tolerance = 3 * np.sqrt(rate * (1 - rate) * (1 / n + 1 / n_cal))
    assert abs(scored.churn_probability.mean() - rate) < tolerance
    decile = pd.qcut(scored.churn_probability.rank(method="first"), 10, labels=False)
    table = pd.DataFrame({"p": scored.churn_probability, "o": churned}).groupby(decile).mean()
    per_decile = 3 * np.sqrt(0.25 * (10 / n + 10 / n_cal))  # worst case p = 0.5 in a tenth of each sample
    assert (table.p - table.o).abs().max() < per_decile
    assert table.o.iloc[-1] - table.o.iloc[0] > 0.5  # deciles separate churners from buyers


def test_next_purchase_window_is_ordered_and_covers_most_buyers(model, scored):
    low, mid, high = (scored[f"next_purchase_days_{k}"] for k in ("low", "median", "high"))
    assert ((0 <= low) & (low <= mid) & (mid <= high) & (high <= HORIZON)).all()
    buyers = scored[scored.has_purchase.astype(bool)]
    inside = buyers.days_to_next_purchase.between(buyers.next_purchase_days_low, buyers.next_purchase_days_high)
    assert len(buyers) > 300
    assert 0.65 < inside.mean() <= 0.97  # nominal 80% range; the horizon after fit is a new period


def test_reasons_name_real_features_in_order_of_weight(model, scored):
    descriptions = {describe_feature(f) for f in feature_names(model.windows_)}
    pattern = re.compile(r"^(.+): (\S+) \(([+-]\d+\.\d\d)\)$")
    for row in scored.head(200).itertuples():
        weights = []
        for text in (row.reason_1, row.reason_2, row.reason_3):
            match = pattern.match(text)
            assert match, text
            assert match.group(1) in descriptions
            weights.append(abs(float(match.group(3))))
        assert weights == sorted(weights, reverse=True)
    importance = model.feature_importance_
    assert set(importance.feature) == set(feature_names(model.windows_))
    assert importance.mean_abs_contribution.is_monotonic_decreasing
    assert "recency_days" in set(importance.feature.head(3))


def test_explanations_add_up_to_the_raw_score(model, store_orders):
    from storelift.customers.features import customer_features

    feats = customer_features(ibis.memtable(store_orders), AS_OF).execute().head(50)
    x = feats[model.features_].astype("float64")
    contrib = model.booster_.predict(x, pred_contrib=True)
    raw = model.churn_score(feats)
    np.testing.assert_allclose(1 / (1 + np.exp(-contrib.sum(axis=1))), raw, rtol=1e-6)


def test_recency_baseline_and_metrics():
    feats = pd.DataFrame({"customer_id": list("abcd"), "recency_days": [5.0, 50.0, 200.0, 400.0]})
    assert recency_baseline(feats).recency_score.tolist() == [5.0, 50.0, 200.0, 400.0]
    metrics = churn_metrics([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert metrics["auc"] == 1.0 and metrics["brier"] == pytest.approx(0.025)
    assert top_decile_lift(np.array([1] + [0] * 19), np.arange(20, 0, -1)) == pytest.approx(10.0)
    with pytest.raises(CustomerModelError, match="recency_days"):
        recency_baseline(feats.drop(columns=["recency_days"]))


def _weekly_orders(customers: int, weeks: int, start="2024-01-01") -> pd.DataFrame:
    rows = [(f"c{c}", f"o{c}-{w}", pd.Timestamp(start) + pd.Timedelta(days=7 * w + c % 5), 20.0)
            for c in range(customers) for w in range(weeks)]
    frame = pd.DataFrame(rows, columns=["customer_id", "order_id", "ordered_at", "value"])
    return frame.assign(gross=frame.value, refunded=0.0)


def test_bad_input_names_the_parameter_and_the_fix(store_orders):
    orders = ibis.memtable(store_orders)
    with pytest.raises(CustomerModelError, match=r"lacks column\(s\) value.*customer_orders"):
        ChurnModel().fit(ibis.memtable(store_orders.drop(columns=["value"])), AS_OF)
    with pytest.raises(CustomerModelError, match=r"as_of=2022-06-01 leaves no history.*pass an as_of later than"):
        ChurnModel().fit(orders, "2022-06-01")
    few = _weekly_orders(customers=30, weeks=20)
    with pytest.raises(CustomerModelError, match=r"only 30 customers.*min_customers=200"):
        ChurnModel(horizon_days=28).fit(ibis.memtable(few), "2024-05-01")
    loyal = _weekly_orders(customers=250, weeks=20)  # everyone buys every week: nobody churns
    with pytest.raises(CustomerModelError, match=r"0 churned.*horizon_days"):
        ChurnModel(horizon_days=28).fit(ibis.memtable(loyal), "2024-05-01")
    with pytest.raises(CustomerModelError, match="calibration"):
        ChurnModel(calibration="platt").fit(orders, AS_OF)
    with pytest.raises(CustomerModelError, match="not fitted"):
        ChurnModel().predict(orders, AS_OF)
    with pytest.raises(ValueError, match="holdout_end"):
        evaluate_churn(orders, AS_OF, AS_OF)


def test_explain_n_explains_the_likeliest_churners_only(model, store_orders, scored):
    few = model.predict(ibis.memtable(store_orders), AS_OF, explain=5)
    explained = few[few.reason_1.notna()]
    assert len(explained) == 5
    assert explained.churn_probability.min() >= few[few.reason_1.isna()].churn_probability.max()
    merged = explained.merge(scored, on="customer_id", suffixes=("", "_all"))
    assert (merged.reason_1 == merged.reason_1_all).all()
    none = model.predict(ibis.memtable(store_orders), AS_OF, explain=False)
    assert "reason_1" not in none.columns


def test_a_customer_sample_is_drawn_before_the_features_and_equals_sampling_the_training_rows(store_orders):
    from storelift.customers.churn import sample_customers
    from storelift.customers.features import training_frame

    orders = ibis.memtable(store_orders)
    sampled = ChurnModel(horizon_days=HORIZON, max_training_customers=800).fit(orders, AS_OF)
    rows = training_frame(orders, AS_OF, HORIZON)
    keep = sample_customers(rows.customer_id, 800, sampled.random_state + 1)
    assert rows.customer_id.nunique() > 800 and keep.sum() == 800
    assert sampled.training_rows_ + sampled.calibration_rows_ == 800
    by_hand = ChurnModel(horizon_days=HORIZON, max_training_customers=None)
    by_hand.windows_, by_hand.features_ = sampled.windows_, sampled.features_
    by_hand._fit_rows(rows[keep].reset_index(drop=True), AS_OF)
    features = rows[sampled.features_].iloc[:300]
    np.testing.assert_allclose(sampled.churn_probability(features), by_hand.churn_probability(features))
