"""Probability to beat control and expected loss: exact sums agree with integration and Monte Carlo."""

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from storelift.experiments import (AnalysisError, normal_posterior, probability_to_beat,
                                   probability_to_beat_from_counts, probability_to_beat_normal)


def integrated(a, b, c, d):
    """P(Beta(c, d) > Beta(a, b)) and E[max(A - B, 0)] by numerical integration."""
    beats = integrate.quad(lambda x: stats.beta.pdf(x, c, d) * stats.beta.cdf(x, a, b), 0, 1, epsabs=1e-12)[0]
    # E[max(A - B, 0)] = integral of f_A(x) (x F_B(x) - E[B; B < x]), and E[B; B < x] = E[B] F_Beta(c+1, d)(x)
    loss = integrate.quad(lambda x: stats.beta.pdf(x, a, b) * (
        x * stats.beta.cdf(x, c, d) - c / (c + d) * stats.beta.cdf(x, c + 1, d)), 0, 1, epsabs=1e-12)[0]
    return beats, loss


@pytest.mark.parametrize("counts", [(3, 20, 7, 22), (12, 40, 9, 35), (0, 10, 1, 10)])
def test_exact_sum_matches_numerical_integration(counts):
    x_c, n_c, x_t, n_t = counts
    row = probability_to_beat_from_counts(x_c, n_c, x_t, n_t).iloc[0]
    beats, loss = integrated(1 + x_c, 1 + n_c - x_c, 1 + x_t, 1 + n_t - x_t)
    assert row.method == "exact"
    assert row.probability_to_beat == pytest.approx(beats, abs=1e-8)
    assert row.expected_loss == pytest.approx(loss, abs=1e-6)


def test_exact_and_monte_carlo_agree_on_store_sized_counts():
    exact = probability_to_beat_from_counts(4_800, 100_000, 5_010, 100_000).iloc[0]
    sampled = probability_to_beat_from_counts(4_800, 100_000, 5_010, 100_000, draws=400_000, seed=7).iloc[0]
    assert exact.method == "exact" and sampled.method == "monte carlo"
    assert exact.probability_to_beat == pytest.approx(sampled.probability_to_beat, abs=0.003)
    assert exact.expected_loss == pytest.approx(sampled.expected_loss, rel=0.1, abs=1e-7)
    assert exact.expected_loss_control == pytest.approx(sampled.expected_loss_control, rel=0.02)
    again = probability_to_beat_from_counts(4_800, 100_000, 5_010, 100_000, draws=400_000, seed=7).iloc[0]
    assert again.probability_to_beat == sampled.probability_to_beat  # seeded


def test_identical_arms_are_a_coin_flip():
    row = probability_to_beat_from_counts(50, 1000, 50, 1000).iloc[0]
    assert row.probability_to_beat == pytest.approx(0.5, abs=1e-9)
    assert row.expected_loss == pytest.approx(row.expected_loss_control, abs=1e-12)


def test_a_non_integer_prior_falls_back_to_seeded_monte_carlo():
    row = probability_to_beat_from_counts(30, 500, 45, 500, prior_successes=0.5, prior_failures=0.5).iloc[0]
    assert row.method == "monte carlo"
    reference = integrated(30.5, 470.5, 45.5, 455.5)[0]
    assert row.probability_to_beat == pytest.approx(reference, abs=0.002)


def test_frame_level_readout_counts_each_arm():
    frame = pd.DataFrame({"arm": ["control"] * 200 + ["treatment"] * 200,
                          "converted": [1] * 20 + [0] * 180 + [1] * 30 + [0] * 170})
    row = probability_to_beat(frame, "arm", "converted").iloc[0]
    reference = probability_to_beat_from_counts(20, 200, 30, 200).iloc[0]
    assert row.arm == "treatment" and row.probability_to_beat == reference.probability_to_beat


def test_normal_posterior_matches_sampling():
    row = normal_posterior(0.8, 0.5).iloc[0]
    draws = np.random.default_rng(0).normal(0.8, 0.5, 2_000_000)
    assert row.probability_to_beat == pytest.approx(stats.norm.cdf(1.6), abs=1e-12)
    assert row.expected_loss == pytest.approx(np.maximum(-draws, 0).mean(), abs=1e-3)
    assert row.expected_loss_control == pytest.approx(np.maximum(draws, 0).mean(), abs=1e-3)


def test_revenue_uses_the_normal_approximation():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"arm": np.repeat(["control", "treatment"], 2000),
                          "revenue": np.concatenate([rng.gamma(2, 10, 2000), rng.gamma(2, 10.5, 2000)])})
    row = probability_to_beat_normal(frame, "arm", "revenue").iloc[0]
    assert row.method == "normal" and 0 < row.probability_to_beat < 1


@pytest.mark.parametrize("kwargs, message", [
    ({"prior_successes": 0}, "prior_successes is 0"),
    ({"draws": 0}, "draws is 0"),
    ({"successes_control": 30}, "0 <= successes <= trials"),
])
def test_bad_inputs_name_the_parameter(kwargs, message):
    arguments = {"successes_control": 3, "trials_control": 20, "successes_treatment": 5, "trials_treatment": 20}
    arguments.update(kwargs)
    with pytest.raises(AnalysisError, match=message):
        probability_to_beat_from_counts(**arguments)
