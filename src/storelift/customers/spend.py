"""Machine-learned customer value: LightGBM predicts what each customer spends over the next horizon.

Trained like the churn model (features before a cutoff one horizon before as_of, the spend in the
horizon after it as the target) with a Tweedie objective, which fits the mean of a spend that is
zero for most customers and heavy-tailed for the rest.
"""

from __future__ import annotations

import ibis
import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, clone

from .churn import check_training_rows, lgbm_params, threads_for, training_horizon_for
from .features import (
    DEFAULT_WINDOWS_DAYS, CustomerModelError, check_orders, check_windows, customer_features, feature_names,
    future_labels, to_timestamp, training_frame,
)


class SpendModel(BaseEstimator):
    """Expected spend (the orders' value) of each customer in [as_of, as_of + horizon_days)."""

    def __init__(self, horizon_days: int = 90, windows_days=DEFAULT_WINDOWS_DAYS, lgbm_params: dict | None = None,
                 random_state: int = 0, n_cutoffs: int = 1, cutoff_step_days: float | None = None,
                 n_estimators: int = 200, tweedie_variance_power: float = 1.5, min_customers: int = 200):
        self.horizon_days = horizon_days
        self.windows_days = windows_days
        self.lgbm_params = lgbm_params
        self.random_state = random_state
        self.n_cutoffs = n_cutoffs
        self.cutoff_step_days = cutoff_step_days
        self.n_estimators = n_estimators
        self.tweedie_variance_power = tweedie_variance_power
        self.min_customers = min_customers

    def fit(self, orders: ibis.Table, as_of) -> "SpendModel":
        """Train on features before as_of - horizon_days and the spend in the horizon after that cutoff."""
        if not self.horizon_days or self.horizon_days <= 0:
            raise CustomerModelError(f"horizon_days={self.horizon_days!r} must be a positive number of days, e.g. 90")
        check_orders(orders)
        as_of = to_timestamp(as_of, "as_of")
        self.windows_ = check_windows(self.windows_days)
        self.features_ = feature_names(self.windows_)
        rows = training_frame(orders, as_of, self.horizon_days, self.windows_, self.n_cutoffs, self.cutoff_step_days)
        check_training_rows(rows, orders, as_of, self.horizon_days, self.min_customers)
        target = rows.future_value.to_numpy(dtype="float64").clip(min=0.0)
        if not (target > 0).any():
            raise CustomerModelError(
                "no customer spent anything in the training horizon; choose a longer horizon_days or a later as_of")
        params = lgbm_params("tweedie", self.random_state, self.lgbm_params, len(rows),
                             tweedie_variance_power=self.tweedie_variance_power)
        data = lgb.Dataset(rows[self.features_].astype("float64"), target)
        self.booster_ = lgb.train(params, data, num_boost_round=self.n_estimators)
        # Tweedie fits with a log link do not keep the mean (power != 1): rescale so they do in sample
        fitted = self.booster_.predict(rows[self.features_].astype("float64"), num_threads=threads_for(len(rows)))
        self.mean_scale_ = float(target.mean() / fitted.mean())
        self.as_of_ = as_of
        self.cutoffs_ = sorted(rows.cutoff.unique(), reverse=True)
        self.training_rows_ = len(rows)
        self.training_mean_value_ = float(target.mean())
        return self

    def predict(self, orders: ibis.Table, as_of) -> pd.DataFrame:
        """customer_id and predicted_value (expected spend in [as_of, as_of + horizon_days)), from orders before as_of."""
        self._check_fitted()
        check_orders(orders)
        feats = customer_features(orders, to_timestamp(as_of, "as_of"), self.windows_).execute()
        return self.predict_features(feats.sort_values("customer_id", ignore_index=True))

    def predict_features(self, features: pd.DataFrame) -> pd.DataFrame:
        """predict() on an already computed customer_features frame."""
        self._check_fitted()
        missing = [c for c in ["customer_id", *self.features_] if c not in features.columns]
        if missing:
            raise CustomerModelError(f"features lacks column(s) {', '.join(missing)}; compute them with "
                                     f"customer_features(orders, cutoff, windows_days={self.windows_})")
        x = features[self.features_].astype("float64")
        value = self.booster_.predict(x, num_threads=threads_for(len(x))) * self.mean_scale_ if len(x) else np.empty(0)
        return pd.DataFrame({"customer_id": features.customer_id.to_numpy(), "predicted_value": value})

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise CustomerModelError("this SpendModel is not fitted yet; call fit(orders, as_of) first")


SPEND_EVALUATION_COLUMNS = ("scorer", "customers", "spearman", "mean_predicted", "mean_actual",
                            "holdout_days", "training_horizon_days", "note")


def evaluate_spend(orders: ibis.Table, calibration_end, holdout_end, model: SpendModel | None = None,
                   actual_value: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spearman correlation of predicted and actual spend in [calibration_end, holdout_end), model vs run rate.

    The model learns only from orders before calibration_end (training horizon as in evaluate_churn);
    the baseline is each customer's past spend per day times the holdout length. actual_value
    (customer_id, actual_value) overrides the holdout spend taken from orders, e.g. to net out
    cancellations kept outside the orders table. Returns one row per scorer with SPEND_EVALUATION_COLUMNS.
    """
    check_orders(orders)
    start, end = to_timestamp(calibration_end, "calibration_end"), to_timestamp(holdout_end, "holdout_end")
    if end <= start:
        raise CustomerModelError(f"holdout_end={end.date()} must be after calibration_end={start.date()}")
    holdout_days = (end - start) / pd.Timedelta(days=1)
    horizon, note = training_horizon_for(orders, start, holdout_days)
    fitted = clone(model if model is not None else SpendModel()).set_params(horizon_days=horizon)
    fitted.fit(orders, start)
    feats = customer_features(orders, start, fitted.windows_).execute().sort_values("customer_id", ignore_index=True)
    if actual_value is None:
        actual = future_labels(orders, start, holdout_days).execute().rename(columns={"future_value": "actual_value"})
    else:
        actual = actual_value
    rows = feats.merge(actual[["customer_id", "actual_value"]], on="customer_id", how="left")
    rows["actual_value"] = rows.actual_value.fillna(0.0)
    # horizon scaling keeps the model's mean comparable; it does not change the ranking
    predicted = fitted.predict_features(rows).predicted_value.to_numpy() * holdout_days / horizon
    run_rate = rows.value_total / rows.tenure_days.clip(lower=1.0) * holdout_days
    out = []
    for scorer, value in (("spend_model", predicted), ("past_run_rate", run_rate.to_numpy())):
        out.append({"scorer": scorer, "customers": len(rows),
                    "spearman": float(spearmanr(value, rows.actual_value).statistic),
                    "mean_predicted": float(np.mean(value)), "mean_actual": float(rows.actual_value.mean()),
                    "holdout_days": holdout_days, "training_horizon_days": horizon, "note": note})
    return pd.DataFrame(out, columns=list(SPEND_EVALUATION_COLUMNS))
