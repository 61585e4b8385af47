"""mSPRT p-values stay valid under peeking where a repeated fixed-horizon test does not."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from storelift.experiments import AnalysisError, always_valid_p_values, confidence_sequence, cumulative_looks, msprt

RUNS, LOOKS, PER_LOOK = 1000, 20, 100


def aa_paths(effect=0.0, seed=0):
    """Cumulative difference of means and its variance at each look, for RUNS simulated experiments."""
    rng = np.random.default_rng(seed)
    control = rng.normal(0.0, 1.0, (RUNS, LOOKS, PER_LOOK))
    treatment = rng.normal(effect, 1.0, (RUNS, LOOKS, PER_LOOK))
    n = PER_LOOK * np.arange(1, LOOKS + 1)

    def mean_var(x):
        total, squares = np.cumsum(x.sum(2), 1), np.cumsum((x ** 2).sum(2), 1)
        mean = total / n
        return mean, (squares - n * mean ** 2) / (n - 1)

    (m_c, v_c), (m_t, v_t) = mean_var(control), mean_var(treatment)
    return m_t - m_c, v_c / n + v_t / n


def test_peeking_at_every_look_keeps_the_msprt_false_positive_rate_at_alpha():
    difference, variance = aa_paths()
    always_valid = (always_valid_p_values(difference, variance, tau=0.1)[:, -1] < 0.05).mean()
    naive = (2 * stats.norm.sf(np.abs(difference / np.sqrt(variance))) < 0.05).any(axis=1).mean()
    # binomial standard error of a 5% rate over 1,000 runs is 0.7 points
    assert always_valid <= 0.05 + 0.015
    assert naive > 0.12  # twenty looks at a 5% test reject far more often


def test_the_confidence_sequence_covers_the_true_effect_at_every_look():
    difference, variance = aa_paths(effect=0.1, seed=1)
    bounds = confidence_sequence(difference, variance, tau=0.1, alpha=0.05)
    covered = ((bounds.low <= 0.1) & (0.1 <= bounds.high)).all(axis=1).mean()
    assert covered >= 0.95 - 0.015
    assert (np.diff(bounds.high, axis=1) <= 0).all() and (np.diff(bounds.low, axis=1) >= 0).all()


def test_a_real_effect_is_detected():
    difference, variance = aa_paths(effect=0.25, seed=2)
    assert (always_valid_p_values(difference, variance, tau=0.1)[:, -1] < 0.05).mean() > 0.9


def test_msprt_matches_the_closed_form_at_one_look():
    looks = pd.DataFrame({"n_control": [500], "mean_control": [1.0], "var_control": [4.0], "n_treatment": [520],
                          "mean_treatment": [1.4], "var_treatment": [5.0]})
    row = msprt(looks, tau=0.3).iloc[0]
    v = 4.0 / 500 + 5.0 / 520
    lr = np.sqrt(v / (v + 0.09)) * np.exp(0.09 * 0.4 ** 2 / (2 * v * (v + 0.09)))
    assert row.likelihood_ratio == pytest.approx(lr, rel=1e-12)
    assert row.p_value == pytest.approx(min(1.0, 1 / lr), rel=1e-12)
    # the interval is where the likelihood ratio against each null stays below 1 / alpha
    for edge in (row.ci_low, row.ci_high):
        at_edge = np.sqrt(v / (v + 0.09)) * np.exp(0.09 * (0.4 - edge) ** 2 / (2 * v * (v + 0.09)))
        assert at_edge == pytest.approx(20.0, rel=1e-9)


def test_cumulative_looks_from_units_match_direct_summaries():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"arm": rng.choice(["control", "treatment"], 600), "day": rng.integers(1, 8, 600),
                          "revenue": rng.gamma(2.0, 30.0, 600)})
    looks = cumulative_looks(frame, "arm", "revenue", "day")
    assert list(looks.look) == list(range(1, 8))
    day3 = frame[frame.day <= 3]
    treated = day3[day3.arm == "treatment"].revenue
    row = looks.set_index("look").loc[3]
    assert row.n_treatment == len(treated)
    assert row.mean_treatment == pytest.approx(treated.mean())
    assert row.var_treatment == pytest.approx(treated.var(ddof=1))
    result = msprt(looks, tau=5.0)
    assert (np.diff(result.p_value) <= 0).all()


def test_bad_inputs_name_the_parameter():
    looks = pd.DataFrame({"n_control": [10], "mean_control": [1.0], "var_control": [1.0], "n_treatment": [10],
                          "mean_treatment": [1.0]})
    with pytest.raises(AnalysisError, match="looks has no column 'var_treatment'"):
        msprt(looks, tau=0.1)
    with pytest.raises(AnalysisError, match="tau is 0"):
        always_valid_p_values([0.1], [0.01], tau=0)
    frame = pd.DataFrame({"arm": ["control", "a", "b"] * 4, "day": range(12), "y": range(12)})
    with pytest.raises(AnalysisError, match="several treatment arms.*pass treatment="):
        cumulative_looks(frame, "arm", "y", "day")
