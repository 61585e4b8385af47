"""Uplift (conditional treatment effect) models fitted on a randomized experiment.

Each model follows scikit-learn: `fit(X, treatment, y)` then `predict(X)` returns the estimated
uplift E[y | x, treated] - E[y | x, control] per row. Base learners are pluggable (any scikit-learn
classifier or regressor, cloned before fitting); the default is a small, seeded LightGBM model, a
classifier when y holds only 0 and 1 and a regressor otherwise.

- SLearner: one model on [X, treatment]; uplift = f(x, 1) - f(x, 0).
- TLearner: one outcome model per arm; uplift = mu_1(x) - mu_0(x).
- XLearner: Kunzel, Sekhon, Bickel & Yu (2019), "Metalearners for estimating heterogeneous treatment
  effects using machine learning", PNAS 116(10): imputed effects D1 = y - mu_0(x) on the treated and
  D0 = mu_1(x) - y on the controls are each regressed on x, and combined as g(x) tau_0 + (1 - g(x)) tau_1
  with g the propensity (the known treatment share of a randomized experiment, by default).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier

from ..errors import StoreliftError


class UpliftError(StoreliftError, ValueError):
    """Uplift models or metrics were given inputs they cannot use."""


def check_vector(values, parameter: str) -> np.ndarray:
    """A 1-d float array of finite numbers, or an error naming the parameter and the first bad row."""
    array = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else values)
    if array.ndim != 1:
        raise UpliftError(f"{parameter} has shape {array.shape}; pass one value per customer (a 1-d array)")
    if len(array) == 0:
        raise UpliftError(f"{parameter} is empty; pass at least one customer")
    try:
        array = array.astype(np.float64)
    except (TypeError, ValueError):
        raise UpliftError(f"{parameter} holds non-numeric values (e.g. {array[0]!r}); pass numbers") from None
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argmax(bad))
        raise UpliftError(f"{parameter}[{row}] is {float(array[row])!r}; fill or drop missing values first")
    return array


def check_treatment(treatment, n: int, parameter: str = "treatment") -> np.ndarray:
    """Treatment as 0.0/1.0 with both arms present and one flag per customer."""
    t = check_vector(treatment, parameter)
    if len(t) != n:
        raise UpliftError(f"{parameter} has {len(t)} values but y has {n}; pass one flag per customer")
    bad = (t != 0) & (t != 1)
    if bad.any():
        row = int(np.argmax(bad))
        raise UpliftError(f"{parameter}[{row}] is {float(t[row])!r}; pass 1 (treated) or 0 (control), e.g. "
                          "(arm == 'treatment').astype(int)")
    if t.min() == t.max():
        arm = "treated" if t[0] == 1 else "control"
        raise UpliftError(f"{parameter} holds only {arm} customers; uplift needs both arms of the experiment")
    return t


def _features(X, parameter: str = "X") -> np.ndarray | pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        if X.shape[1] == 0:
            raise UpliftError(f"{parameter} has no columns; pass at least one feature")
        return X
    array = np.asarray(X)
    if array.ndim != 2 or array.shape[1] == 0:
        raise UpliftError(f"{parameter} has shape {array.shape}; pass a 2-d table (customers x features)")
    return array


def _rows(X, mask: np.ndarray):
    return X.loc[mask] if isinstance(X, pd.DataFrame) else X[mask]


def _is_binary(y: np.ndarray) -> bool:
    return bool(np.isin(y, (0.0, 1.0)).all())


def default_estimator(binary: bool, random_state: int = 0, n_jobs: int = 1) -> Any:
    """A small, seeded LightGBM model: a classifier for 0/1 outcomes, a regressor otherwise.

    One thread by default: identical results on any machine, and no slowdown when cores are shared.
    """
    from lightgbm import LGBMClassifier, LGBMRegressor

    params = dict(n_estimators=200, learning_rate=0.03, num_leaves=15, min_child_samples=100,
                  subsample=0.8, subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0,
                  random_state=random_state, n_jobs=n_jobs, verbose=-1)
    return LGBMClassifier(**params) if binary else LGBMRegressor(**params)


def _predict_outcome(model, X) -> np.ndarray:
    if is_classifier(model):
        return np.asarray(model.predict_proba(X))[:, 1]
    return np.asarray(model.predict(X), dtype=np.float64)


class _UpliftModel:
    """Shared input checks; subclasses implement _fit and _predict."""

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def _base(self, estimator, binary: bool):
        return clone(estimator) if estimator is not None else default_estimator(binary, self.random_state)

    def fit(self, X, treatment, y) -> "_UpliftModel":
        """X: customers x features; treatment: 1 treated / 0 control; y: outcome (0/1 or amount)."""
        X = _features(X)
        y = check_vector(y, "y")
        if len(y) != X.shape[0]:
            raise UpliftError(f"y has {len(y)} values but X has {X.shape[0]} rows; pass one outcome per row")
        t = check_treatment(treatment, len(y))
        for arm, name in ((1, "treated"), (0, "control")):
            if (t == arm).sum() < 2:
                raise UpliftError(f"treatment has {int((t == arm).sum())} {name} customer(s); need at least 2")
        self.binary_outcome_ = _is_binary(y)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = list(X.columns) if isinstance(X, pd.DataFrame) else None
        self.treatment_share_ = float(t.mean())
        self._fit(X, t, y)
        return self

    def _check_fitted(self, X):
        if not hasattr(self, "treatment_share_"):
            raise UpliftError(f"{type(self).__name__} is not fitted; call fit(X, treatment, y) first")
        X = _features(X)
        if X.shape[1] != self.n_features_in_:
            raise UpliftError(f"X has {X.shape[1]} columns but the model was fitted on {self.n_features_in_}; "
                              "pass the same features in the same order")
        return X

    def predict(self, X) -> np.ndarray:
        """Estimated uplift per row: E[y | x, treated] - E[y | x, control]."""
        return self._predict(self._check_fitted(X))

    def _fit(self, X, t, y) -> None:
        raise NotImplementedError

    def _predict(self, X) -> np.ndarray:
        raise NotImplementedError


class SLearner(_UpliftModel):
    """One outcome model with the treatment flag as an extra feature; uplift = f(x, 1) - f(x, 0)."""

    def __init__(self, estimator=None, random_state: int = 0):
        super().__init__(random_state)
        self.estimator = estimator

    @staticmethod
    def _with_flag(X, flag):
        if isinstance(X, pd.DataFrame):
            return X.assign(treatment_flag=flag)
        return np.column_stack([X, np.broadcast_to(flag, (X.shape[0],))])

    def _fit(self, X, t, y) -> None:
        self.model_ = self._base(self.estimator, self.binary_outcome_).fit(self._with_flag(X, t), y)

    def _predict(self, X) -> np.ndarray:
        return (_predict_outcome(self.model_, self._with_flag(X, 1.0))
                - _predict_outcome(self.model_, self._with_flag(X, 0.0)))


class TLearner(_UpliftModel):
    """One outcome model per arm (two-model approach); uplift = mu_treated(x) - mu_control(x)."""

    def __init__(self, estimator=None, control_estimator=None, random_state: int = 0):
        super().__init__(random_state)
        self.estimator = estimator
        self.control_estimator = control_estimator

    def _fit(self, X, t, y) -> None:
        control = self.control_estimator if self.control_estimator is not None else self.estimator
        self.treated_model_ = self._base(self.estimator, self.binary_outcome_).fit(_rows(X, t == 1), y[t == 1])
        self.control_model_ = self._base(control, self.binary_outcome_).fit(_rows(X, t == 0), y[t == 0])

    def predict_outcomes(self, X) -> pd.DataFrame:
        """Expected outcome per row under each arm: columns control, treated."""
        X = self._check_fitted(X)
        return pd.DataFrame({"control": _predict_outcome(self.control_model_, X),
                             "treated": _predict_outcome(self.treated_model_, X)})

    def _predict(self, X) -> np.ndarray:
        return _predict_outcome(self.treated_model_, X) - _predict_outcome(self.control_model_, X)


class XLearner(_UpliftModel):
    """X-learner (Kunzel et al. 2019): T-learner outcome models, then regressions of imputed effects.

    outcome_estimator: base learner for mu_0, mu_1 (default LightGBM, classifier for 0/1 outcomes);
    effect_estimator: regressor for tau_0, tau_1 (default LightGBM regressor);
    propensity: the treated share g used to combine tau_0 and tau_1; None takes the share observed in
    fit (right for a randomized experiment), a number fixes it, a classifier estimates g(x) from X.
    """

    def __init__(self, outcome_estimator=None, effect_estimator=None, propensity=None, random_state: int = 0):
        super().__init__(random_state)
        self.outcome_estimator = outcome_estimator
        self.effect_estimator = effect_estimator
        self.propensity = propensity

    def _fit(self, X, t, y) -> None:
        p = self.propensity
        if p is not None and not hasattr(p, "fit") and not (isinstance(p, (int, float)) and 0 < p < 1):
            raise UpliftError(f"propensity is {p!r}; pass None, a share in (0, 1), or a scikit-learn classifier")
        treated, control = t == 1, t == 0
        X1, X0 = _rows(X, treated), _rows(X, control)
        self.treated_model_ = self._base(self.outcome_estimator, self.binary_outcome_).fit(X1, y[treated])
        self.control_model_ = self._base(self.outcome_estimator, self.binary_outcome_).fit(X0, y[control])
        d1 = y[treated] - _predict_outcome(self.control_model_, X1)
        d0 = _predict_outcome(self.treated_model_, X0) - y[control]
        self.treated_effect_model_ = self._base(self.effect_estimator, False).fit(X1, d1)
        self.control_effect_model_ = self._base(self.effect_estimator, False).fit(X0, d0)
        if hasattr(p, "fit"):
            self.propensity_model_ = clone(p).fit(X, t.astype(int))

    def _propensity(self, X) -> np.ndarray | float:
        if hasattr(self, "propensity_model_"):
            return np.clip(self.propensity_model_.predict_proba(X)[:, 1], 0.01, 0.99)
        return self.treatment_share_ if self.propensity is None else float(self.propensity)

    def _predict(self, X) -> np.ndarray:
        g = self._propensity(X)
        tau0 = _predict_outcome(self.control_effect_model_, X)
        tau1 = _predict_outcome(self.treated_effect_model_, X)
        return g * tau0 + (1 - g) * tau1
