"""The readout gives one tidy row per segment, metric and arm, consistent with the single tests."""

import numpy as np
import pandas as pd
import pytest

from storelift.experiments import (AnalysisError, Metric, adjust_p_values, ratio_metric_test, readout,
                                   two_proportion_test, welch_test)
from storelift.experiments.readout import READOUT_COLUMNS


def store_experiment(n=6000, seed=0):
    """Customers whose pre-period spend predicts both whether and how much they buy during the test."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "treatment", "bigger"], n)
    device = rng.choice(["mobile", "desktop"], n, p=[0.7, 0.3])
    propensity = rng.gamma(1.0, 1.0, n)
    pre = 40.0 * propensity * rng.lognormal(0.0, 0.3, n)
    rate = np.minimum(0.15 * propensity, 0.9) * np.where(arm == "control", 1.0, 1.2)
    converted = rng.random(n) < rate
    orders = np.where(converted, 1 + rng.poisson(0.5 * propensity), 0)
    revenue = orders * 40.0 * propensity * rng.lognormal(0.0, 0.3, n)
    return pd.DataFrame({"arm": arm, "device": device, "pre_revenue": pre, "converted": converted.astype(int),
                         "orders": orders, "revenue": revenue})


METRICS = [Metric.proportion("converted", name="conversion"), Metric.mean("revenue", name="revenue_per_user"),
           Metric.mean("revenue", covariate="pre_revenue", name="revenue_per_user_cuped"),
           Metric.ratio("revenue", "orders", name="aov")]


def test_one_row_per_segment_metric_and_arm_with_documented_columns():
    frame = store_experiment()
    table = readout(frame, "arm", METRICS, segments=["device"])
    assert list(table.columns) == READOUT_COLUMNS
    assert len(table) == 3 * len(METRICS) * 2  # all, mobile, desktop x metrics x two treatment arms
    assert set(zip(table.segment_column, table.segment)) == {("all", "all"), ("device", "desktop"),
                                                             ("device", "mobile")}
    assert table.method.tolist()[:8] == ["two-proportion z"] * 2 + ["welch t"] * 2 + ["welch t, CUPED"] * 2 + [
        "delta-method z"] * 2


def test_rows_equal_the_single_tests():
    frame = store_experiment(seed=1)
    table = readout(frame, "arm", METRICS).set_index(["metric", "arm"])
    conversion = two_proportion_test(frame, "arm", "converted").set_index("arm")
    revenue = welch_test(frame, "arm", "revenue").set_index("arm")
    aov = ratio_metric_test(frame, "arm", "revenue", "orders").set_index("arm")
    for arm in ("treatment", "bigger"):
        assert table.loc[("conversion", arm), "p_value"] == pytest.approx(conversion.loc[arm, "p_value"])
        assert table.loc[("revenue_per_user", arm), "ci_low"] == pytest.approx(revenue.loc[arm, "ci_low"])
        assert table.loc[("aov", arm), "difference"] == pytest.approx(aov.loc[arm, "difference"])
        cuped, plain = table.loc[("revenue_per_user_cuped", arm)], table.loc[("revenue_per_user", arm)]
        assert cuped.std_error < plain.std_error
        assert cuped.variance_reduction > 0.1


def test_p_values_are_corrected_across_metrics_and_arms_of_a_segment():
    frame = store_experiment(seed=2)
    for correction in ("holm", "bh"):
        table = readout(frame, "arm", METRICS, correction=correction)
        expected = adjust_p_values(table.p_value.to_numpy(), correction)
        np.testing.assert_allclose(table.p_value_adjusted, expected.p_value_adjusted)
        assert (table.p_value_adjusted >= table.p_value - 1e-15).all()


def test_column_names_pick_the_metric_kind_and_small_segments_are_left_out():
    frame = store_experiment(seed=3)
    frame["tiny"] = np.where(np.arange(len(frame)) < 3, "vip", "regular")
    table = readout(frame, "arm", ["converted", "revenue"], treatments=["treatment"], segments="tiny",
                    min_segment_units=30)
    assert table.kind.tolist()[:2] == ["proportion", "mean"]
    assert set(table.segment) == {"all", "regular"}
    assert (table.probability_to_beat.between(0, 1)).all() and (table.expected_loss >= 0).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"metrics": ["spend"]}, "no column 'spend'"),
    ({"metrics": [Metric.proportion("converted"), Metric.mean("converted")]}, "metric names repeat"),
    ({"metrics": ["converted"], "correction": "bonferroni"}, "correction is 'bonferroni'"),
    ({"metrics": ["converted"], "segments": ["country"]}, "no column 'country'"),
    ({"metrics": ["converted"], "control": "baseline"}, "control arm 'baseline'"),
    ({"metrics": [42]}, "pass column names or Metric objects"),
])
def test_bad_inputs_name_the_parameter_and_the_fix(kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        readout(store_experiment(n=300), "arm", **kwargs)


def test_bad_metric_definitions_are_refused():
    with pytest.raises(AnalysisError, match="a ratio needs a denominator"):
        Metric("aov", "ratio", "revenue")
    with pytest.raises(AnalysisError, match="applies to mean metrics only"):
        Metric("c", "proportion", "converted", covariate="pre")
    with pytest.raises(AnalysisError, match="kind is 'median'"):
        Metric("m", "median", "revenue")
