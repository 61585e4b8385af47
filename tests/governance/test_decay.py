"""Performance decay: a model that lost its signal is flagged, one that did not stays quiet over seeds."""

import numpy as np
import pytest

from storelift.governance.decay import DecayError, performance_decay


def period(rng, n=3_000, signal=1.5, shift=0.0):
    """Scores from a logistic model; labels drawn from the truth, which the scores follow by `signal`."""
    x = rng.normal(size=n)
    truth = 1 / (1 + np.exp(-(signal * x - 1.0)))
    labels = rng.random(n) < truth
    scores = 1 / (1 + np.exp(-(1.5 * x - 1.0 + shift)))
    return scores, labels


def test_a_model_whose_signal_faded_is_flagged():
    rng = np.random.default_rng(1)
    report = performance_decay(*period(rng), *period(rng, signal=0.5)).set_index("metric")
    assert report.loc["roc_auc", "alert"] and report.loc["roc_auc", "change"] < -0.05
    assert "retrain" in report.loc["roc_auc", "explanation"]


def test_a_miscalibrated_model_is_flagged_on_brier_only():
    rng = np.random.default_rng(2)
    report = performance_decay(*period(rng), *period(rng, shift=1.5)).set_index("metric")
    assert report.loc["brier", "alert"] and not report.loc["roc_auc", "alert"]


def test_a_stable_model_raises_no_alert_over_seeds():
    alarms = 0
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        alarms += bool(performance_decay(*period(rng, n=2_000), *period(rng, n=2_000), draws=150)["alert"].any())
    assert alarms == 0, alarms


def test_bad_inputs_name_the_problem():
    with pytest.raises(DecayError, match="one class"):
        performance_decay([0.2, 0.4], [0, 1], [0.1, 0.3], [0, 0])
    with pytest.raises(DecayError, match="probabilities"):
        performance_decay([0.2, 1.4], [0, 1], [0.1, 0.3], [0, 1])
