"""Drift: planted shifts are flagged, stable data raises no alert (rates over seeds)."""

import numpy as np
import pandas as pd
import pytest

from storelift.governance import DriftError, drift_report, population_stability_index, retrain_needed


def customers(rng, n=5_000, spend_shift=0.0, recency_scale=1.0):
    return pd.DataFrame({
        "spend": rng.lognormal(3.0 + spend_shift, 0.8, n),
        "recency_days": rng.exponential(60 * recency_scale, n),
        "orders": rng.poisson(3, n).astype(float),
        "churn_score": rng.beta(2, 5, n),
    })


def test_identical_samples_have_zero_psi_and_a_known_shift_a_large_one():
    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    assert population_stability_index(x, x) == pytest.approx(0.0, abs=1e-12)
    assert population_stability_index(x, x + 1.0) > 0.5


def test_stable_data_raises_no_alert_over_seeds():
    alarms = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        alarms += retrain_needed(drift_report(customers(rng), customers(rng)))
    assert alarms / 40 <= 0.05  # family-wise: Bonferroni over the four features, PSI well below 0.2


def test_planted_drift_is_flagged_on_the_drifting_features_only():
    detected = 0
    for seed in range(20):
        rng = np.random.default_rng(100 + seed)
        report = drift_report(customers(rng), customers(rng, spend_shift=0.25, recency_scale=1.3)).set_index("feature")
        flagged = set(report.index[report["alert"]])
        detected += flagged == {"spend", "recency_days"}
    assert detected == 20


def test_bad_inputs_name_the_problem():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    with pytest.raises(DriftError, match="not in both frames"):
        drift_report(frame, frame, features=["b"])
    with pytest.raises(DriftError, match="finite values"):
        drift_report(frame, pd.DataFrame({"a": [np.nan, 1.0]}))
