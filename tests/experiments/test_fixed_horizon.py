"""Fixed-horizon tests agree with statsmodels and SciPy where they compute the same quantity."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from storelift.experiments import (AnalysisError, ratio_metric_test, two_proportion_test,
                                   two_proportion_test_from_counts, welch_test, welch_test_from_stats)

sm_proportion = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels is the reference here")


def units(seed=0, n=4000):
    rng = np.random.default_rng(seed)
    arm = rng.choice(["control", "treatment", "bigger"], size=n, p=[0.4, 0.3, 0.3])
    rate = np.select([arm == "control", arm == "treatment"], [0.05, 0.06], 0.07)
    converted = rng.random(n) < rate
    orders = np.where(converted, rng.poisson(0.6, n) + 1, 0)
    revenue = np.where(orders > 0, rng.lognormal(3.5, 0.8, n) * orders, 0.0)
    return pd.DataFrame({"arm": arm, "converted": converted.astype(int), "orders": orders, "revenue": revenue})


@pytest.mark.parametrize("counts", [(480, 10_000, 530, 10_050), (3, 40, 9, 38), (120, 1000, 120, 1000)])
def test_two_proportion_z_matches_statsmodels(counts):
    x_c, n_c, x_t, n_t = counts
    ours = two_proportion_test_from_counts(x_c, n_c, x_t, n_t, alpha=0.1).iloc[0]
    z, p = sm_proportion.proportions_ztest([x_t, x_c], [n_t, n_c])
    assert ours.statistic == pytest.approx(z, abs=1e-6)
    assert ours.p_value == pytest.approx(p, abs=1e-6)
    low, high = sm_proportion.confint_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=0.1)
    assert ours.ci_low == pytest.approx(low, abs=1e-6)
    assert ours.ci_high == pytest.approx(high, abs=1e-6)
    assert ours.relative_lift == pytest.approx((x_t / n_t - x_c / n_c) / (x_c / n_c))


def test_frame_level_conversion_compares_every_arm_with_control():
    frame = units()
    result = two_proportion_test(frame, "arm", "converted")
    assert list(result.arm) == [a for a in pd.unique(frame.arm) if a != "control"]
    for row in result.itertuples():
        c, t = frame[frame.arm == "control"].converted, frame[frame.arm == row.arm].converted
        z, p = sm_proportion.proportions_ztest([t.sum(), c.sum()], [len(t), len(c)])
        assert row.statistic == pytest.approx(z, abs=1e-6) and row.p_value == pytest.approx(p, abs=1e-6)
        assert (row.n_control, row.n_treatment) == (len(c), len(t))


def test_welch_matches_scipy_ttest_ind():
    frame = units(1)
    result = welch_test(frame, "arm", "revenue", treatments=["treatment"], alpha=0.05).iloc[0]
    c, t = frame[frame.arm == "control"].revenue, frame[frame.arm == "treatment"].revenue
    reference = stats.ttest_ind(t, c, equal_var=False)
    assert result.statistic == pytest.approx(reference.statistic, abs=1e-6)
    assert result.p_value == pytest.approx(reference.pvalue, abs=1e-6)
    assert result.df == pytest.approx(reference.df, abs=1e-6)
    interval = reference.confidence_interval(0.95)
    assert result.ci_low == pytest.approx(interval.low, abs=1e-6)
    assert result.ci_high == pytest.approx(interval.high, abs=1e-6)
    assert result.difference == pytest.approx(t.mean() - c.mean())


def test_welch_from_stats_broadcasts_over_arrays():
    rng = np.random.default_rng(2)
    a, b = rng.normal(0, 1, (5, 50)), rng.normal(0.2, 2, (5, 70))
    result = welch_test_from_stats(a.mean(1), a.var(1, ddof=1), 50, b.mean(1), b.var(1, ddof=1), 70)
    reference = stats.ttest_ind(b, a, axis=1, equal_var=False)
    np.testing.assert_allclose(result.p_value, reference.pvalue, atol=1e-9)


def test_ratio_metric_delta_variance_matches_the_spread_over_replications():
    """The delta-method standard error of AOV equals the spread of the estimate over repeated experiments."""
    rng = np.random.default_rng(3)
    estimates, errors = [], []
    for _ in range(200):
        n = 3000
        orders = rng.poisson(0.4, n) * (rng.random(n) < 0.5)
        spend = rng.gamma(2.0, 20.0, n)  # per-customer spend level: orders of one customer are correlated
        revenue = orders * spend + rng.normal(0.0, 5.0, n) * np.sqrt(orders)  # a sum of `orders` N(spend, 5^2)
        frame = pd.DataFrame({"arm": np.repeat(["control", "treatment"], n // 2), "revenue": revenue, "orders": orders})
        row = ratio_metric_test(frame, "arm", "revenue", "orders").iloc[0]
        estimates.append(row.difference)
        errors.append(row.std_error)
    assert np.mean(errors) == pytest.approx(np.std(estimates, ddof=1), rel=0.15)  # 3 standard errors of an SD over 200 runs


def test_ratio_metric_is_sum_over_sum_per_arm():
    frame = units(4)
    result = ratio_metric_test(frame, "arm", "revenue", "orders", treatments=["bigger"]).iloc[0]
    c, t = frame[frame.arm == "control"], frame[frame.arm == "bigger"]
    assert result.control_value == pytest.approx(c.revenue.sum() / c.orders.sum())
    assert result.treatment_value == pytest.approx(t.revenue.sum() / t.orders.sum())
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(result.difference / result.std_error)))


@pytest.mark.parametrize("call, message", [
    (lambda f: two_proportion_test(f, "arm", "revenue"), "holds 0 or 1"),
    (lambda f: two_proportion_test(f, "group", "converted"), "no column 'group'"),
    (lambda f: welch_test(f, "arm", "revenue", control="base"), "control arm 'base' is not in column 'arm'"),
    (lambda f: welch_test(f, "arm", "revenue", treatments=["nope"]), "treatment arm 'nope'"),
    (lambda f: welch_test(f, "arm", "revenue", alpha=5), "alpha is 5"),
    (lambda f: welch_test(f.assign(revenue=np.nan), "arm", "revenue"), "not a finite number"),
    (lambda f: ratio_metric_test(f.assign(orders=0), "arm", "revenue", "orders"), "denominator sums to 0"),
    (lambda f: two_proportion_test_from_counts(5, 0, 3, 10), "trials_control"),
    (lambda f: two_proportion_test_from_counts(12, 10, 3, 10), "successes_control"),
])
def test_bad_inputs_name_the_parameter_and_the_fix(call, message):
    with pytest.raises(AnalysisError, match=message):
        call(units())
