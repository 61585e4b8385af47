"""CUPED removes the share of variance the pre-period covariate explains and keeps the lift unbiased."""

import numpy as np
import pandas as pd
import pytest

from storelift.experiments import AnalysisError, cuped_adjust, cuped_summary, cuped_theta, welch_test

N = 200_000
# sampling error of a squared correlation at n = 200,000 is below 0.004 for these rho; 0.01 is about 3 of them
TOLERANCE = 0.01


def correlated_units(rho: float, effect: float = 0.05, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    pre = rng.normal(10.0, 2.0, N)
    noise = rng.normal(0.0, 2.0, N)
    arm = np.where(rng.random(N) < 0.5, "control", "treatment")
    post = 10.0 + rho * (pre - 10.0) + np.sqrt(1 - rho ** 2) * noise + effect * (arm == "treatment")
    return pd.DataFrame({"arm": arm, "pre_revenue": pre, "revenue": post})


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_variance_reduction_is_rho_squared(rho):
    summary = cuped_summary(correlated_units(rho), "revenue", "pre_revenue", "arm").iloc[0]
    assert summary.variance_reduction == pytest.approx(rho ** 2, abs=TOLERANCE)
    assert summary.variance_reduction == pytest.approx(summary.correlation ** 2, abs=1e-12)
    assert summary.theta == pytest.approx(rho, abs=0.01)
    assert summary.variance_after == pytest.approx(summary.variance_before * (1 - summary.variance_reduction))


def test_adjusted_lift_is_unbiased_and_tighter():
    frame = correlated_units(0.8, effect=0.05, seed=1)
    adjusted = cuped_adjust(frame, "revenue", "pre_revenue", "arm")
    plain = welch_test(frame, "arm", "revenue").iloc[0]
    tight = welch_test(adjusted, "arm", "revenue_cuped").iloc[0]
    assert tight.std_error == pytest.approx(plain.std_error * np.sqrt(1 - 0.64), rel=0.02)
    assert abs(tight.difference - 0.05) < 4 * tight.std_error
    assert adjusted.revenue_cuped.mean() == pytest.approx(frame.revenue.mean())


def test_theta_is_pooled_within_arms_so_a_large_effect_does_not_bias_it():
    frame = correlated_units(0.5, effect=5.0, seed=2)
    # make the pre-period covariate slightly imbalanced so the overall covariance would pick up the effect
    frame.loc[frame.arm == "treatment", "pre_revenue"] += 0.5
    assert cuped_theta(frame, "revenue", "pre_revenue", "arm") == pytest.approx(0.5, abs=0.01)
    assert cuped_theta(frame, "revenue", "pre_revenue") > 0.6


def test_a_covariate_that_does_not_vary_is_refused_with_the_fix():
    frame = correlated_units(0.5).head(100).assign(pre_revenue=3.0)
    with pytest.raises(AnalysisError, match="does not vary within arms.*pick a pre-period covariate"):
        cuped_adjust(frame, "revenue", "pre_revenue", "arm")
    with pytest.raises(AnalysisError, match="no column 'pre'"):
        cuped_summary(frame, "revenue", "pre", "arm")
