"""S-, T- and X-learners recover a planted heterogeneous effect, with any scikit-learn base learner."""

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.linear_model import LogisticRegression

from storelift.experiments.uplift import SLearner, TLearner, UpliftError, XLearner
from storelift.experiments.uplift_metrics import qini_coefficient


def _simulated(n: int, seed: int, binary: bool = True):
    """Five uniform features; the effect grows with x0 and is zero below 0.3; x1 drives the baseline only."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.random((n, 5)), columns=[f"x{i}" for i in range(5)])
    tau = np.clip(X.x0.to_numpy() - 0.3, 0, None) * 0.3
    t = (rng.random(n) < 0.5).astype(int)
    base = 0.05 + 0.2 * X.x1.to_numpy()
    if binary:
        y = (rng.random(n) < base + t * tau).astype(int)
    else:
        y = 10 * (base + t * tau) + rng.normal(0, 1, n)
        tau = 10 * tau
    return X, t, y, tau


@pytest.fixture(scope="module")
def experiment():
    X, t, y, tau = _simulated(24_000, seed=3)
    return X[:16_000], t[:16_000], y[:16_000], X[16_000:], t[16_000:], y[16_000:], tau[16_000:]


@pytest.mark.parametrize("model", [TLearner(), XLearner(), SLearner()], ids=["T", "X", "S"])
def test_learners_recover_the_planted_effect(experiment, model):
    X, t, y, X_test, t_test, y_test, tau = experiment
    pred = model.fit(X, t, y).predict(X_test)
    assert np.corrcoef(pred, tau)[0, 1] > 0.6
    assert pred.mean() == pytest.approx(tau.mean(), abs=0.02)
    # ranks customers about as well as the truth does on the same noisy outcomes (0.68 to 0.86 here)
    assert qini_coefficient(y_test, pred, t_test) > 0.5 * qini_coefficient(y_test, tau, t_test)


def test_fits_are_seeded_and_repeatable():
    X, t, y, _ = _simulated(3_000, seed=6)
    first = XLearner(random_state=7).fit(X, t, y).predict(X)
    assert np.array_equal(first, XLearner(random_state=7).fit(X, t, y).predict(X))
    assert not np.array_equal(first, XLearner(random_state=8).fit(X, t, y).predict(X))


def test_scikit_learn_base_learners_plug_in():
    X, t, y, tau = _simulated(6_000, seed=4, binary=False)
    gbr = GradientBoostingRegressor(n_estimators=80, max_depth=2, random_state=0)
    for model in (TLearner(estimator=gbr), XLearner(outcome_estimator=gbr, effect_estimator=gbr)):
        pred = model.fit(X.to_numpy(), t, y).predict(X.to_numpy())
        assert np.corrcoef(pred, tau)[0, 1] > 0.6
    logistic = TLearner(estimator=LogisticRegression()).fit(X, t, (y > np.median(y)).astype(int))
    outcomes = logistic.predict_outcomes(X)
    assert list(outcomes.columns) == ["control", "treated"] and outcomes.to_numpy().max() < 1


def test_x_learner_propensity_can_be_fixed_or_modelled():
    X, t, y, _ = _simulated(3_000, seed=6)
    fixed = XLearner(propensity=0.5).fit(X, t, y).predict(X)
    modelled = XLearner(propensity=LogisticRegression()).fit(X, t, y).predict(X)
    assert np.corrcoef(fixed, modelled)[0, 1] > 0.99


@pytest.mark.parametrize("call, message", [
    (lambda X, t, y: TLearner().fit(X, t * 2, y), "treatment\\[\\d+\\] is 2.0"),
    (lambda X, t, y: TLearner().fit(X, np.zeros(len(y)), y), "only control"),
    (lambda X, t, y: TLearner().fit(X, t, y[:-1]), "y has 99 values but X has 100 rows"),
    (lambda X, t, y: TLearner().fit(X, t, np.where(np.arange(100) == 5, np.nan, y)), "y\\[5\\] is nan"),
    (lambda X, t, y: TLearner().fit(X.to_numpy()[:, 0], t, y), "X has shape \\(100,\\)"),
    (lambda X, t, y: TLearner().predict(X), "not fitted"),
    (lambda X, t, y: SLearner().fit(X, t, y).predict(X.iloc[:, :3]), "X has 3 columns"),
    (lambda X, t, y: XLearner(propensity=1.5).fit(X, t, y), "propensity is 1.5"),
])
def test_bad_inputs_name_the_parameter(call, message):
    X, t, y, _ = _simulated(100, seed=5)
    with pytest.raises(UpliftError, match=message):
        call(X, t, y)
