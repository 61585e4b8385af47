"""Fairness audit: a planted bias is flagged and mitigation lowers it; unbiased data is not flagged."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fairlearn", reason="fairness audits come with the governance extra")

from sklearn.linear_model import LogisticRegression  # noqa: E402

from storelift.governance import FairnessError, fairness_audit, mitigate_thresholds  # noqa: E402


def targeting_data(seed: int, label_bias: float, n: int = 8_000):
    """Customers of groups a/b with the same true propensity; history recorded a share `label_bias` of
    group b's positives as negatives, and a postcode-like feature reveals the group to a model."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n, p=[0.6, 0.4])
    X = pd.DataFrame({"engagement": rng.normal(size=n), "tenure": rng.normal(size=n),
                      "postcode_signal": (group == "b") + rng.normal(0, 0.5, n)})
    truth = rng.random(n) < 1 / (1 + np.exp(-(1.2 * X["engagement"] + 0.5 * X["tenure"] - 0.6)))
    observed = truth & ~((group == "b") & (rng.random(n) < label_bias))
    return X, observed.astype(int), truth.astype(int), pd.Series(group)


def fitted_targeting(seed: int, label_bias: float):
    X, observed, truth, group = targeting_data(seed, label_bias)
    half = len(X) // 2
    model = LogisticRegression().fit(X.iloc[:half], observed[:half])
    scores = model.predict_proba(X.iloc[half:])[:, 1]
    selected = (scores >= np.quantile(scores, 0.7)).astype(int)  # target the top 30%
    return model, X, observed, truth, group, half, selected


def test_planted_bias_is_flagged_and_threshold_mitigation_lowers_it():
    model, X, observed, truth, group, half, selected = fitted_targeting(0, label_bias=0.6)
    before = fairness_audit(selected, group.iloc[half:].to_frame("group").reset_index(drop=True),
                            truth[half:])
    b = before.set_index("group").loc["b"]
    assert b["flagged"] and b["disparate_impact"] < 0.8
    optimizer = mitigate_thresholds(model, X.iloc[:half], observed[:half], group.iloc[:half])
    mitigated = optimizer.predict(X.iloc[half:], sensitive_features=group.iloc[half:].to_numpy(), random_state=0)
    after = fairness_audit(mitigated, group.iloc[half:].to_frame("group").reset_index(drop=True), truth[half:])
    assert after["demographic_parity_difference"].iat[0] < before["demographic_parity_difference"].iat[0] / 3
    assert not after["flagged"].any()


def test_unbiased_targeting_is_not_flagged_over_seeds():
    alarms = 0
    for seed in range(20):
        _, _, _, truth, group, half, selected = fitted_targeting(100 + seed, label_bias=0.0)
        audit = fairness_audit(selected, group.iloc[half:].to_frame("group").reset_index(drop=True), truth[half:])
        alarms += bool(audit["flagged"].any())
    assert alarms <= 1  # false-alarm rate at most 5%


def test_bad_inputs_name_the_problem():
    with pytest.raises(FairnessError, match="one row of protected attributes"):
        fairness_audit([1, 0], pd.DataFrame({"g": ["a"]}))
    with pytest.raises(FairnessError, match="0/1"):
        fairness_audit([2, 0], pd.DataFrame({"g": ["a", "b"]}))
