"""Churn and next-purchase propensity with LightGBM on time-windowed features, calibrated and explained.

A customer churns over a horizon when they place no order in [as_of, as_of + horizon). The model
learns that from the same features one horizon earlier, calibrates its probabilities on customers
held out of training, and explains each score with LightGBM's TreeSHAP contributions
(Lundberg et al. 2020, "From local explanations to global understanding with explainable AI for trees").
"""

from __future__ import annotations

import ibis
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from ..warehouse import fetch
from .features import (
    DEFAULT_WINDOWS_DAYS, CustomerModelError, check_orders, check_windows, customer_features, describe_feature,
    feature_names, future_labels, to_timestamp, training_frame,
)

CALIBRATIONS = ("isotonic", "sigmoid", None)
MIN_CLASS_ROWS = 10
PARALLEL_ROWS = 100_000
EXPLAINED_BY_DEFAULT = 100_000  # customers explained per predict call: the likeliest churners first
IMPORTANCE_ROWS = 5_000  # training rows whose TreeSHAP contributions give the global importance
BASE_LGBM_PARAMS = {
    "learning_rate": 0.1,
    "num_leaves": 15,
    "max_depth": 6,
    "min_data_in_leaf": 40,
    "lambda_l2": 1.0,
    "feature_fraction": 0.9,
    "deterministic": True,
    "force_col_wise": True,
    "verbosity": -1,
}


def threads_for(n_rows: int) -> int:
    """One thread for small data (threads only add waiting there), two from PARALLEL_ROWS rows up."""
    return 1 if n_rows < PARALLEL_ROWS else 2


def lgbm_params(objective: str, random_state: int, overrides: dict | None, n_rows: int, **extra) -> dict:
    """LightGBM parameters: modest trees (fast to score and explain at a million customers) plus overrides."""
    return {**BASE_LGBM_PARAMS, "objective": objective, "seed": random_state, "num_threads": threads_for(n_rows),
            **extra, **(overrides or {})}


def sample_customers(customer_ids: pd.Series, n: int, random_state: int) -> np.ndarray:
    """A boolean mask over rows: True for every row of n customers drawn at random (by sorted id, so the
    draw does not depend on row order)."""
    codes, unique = pd.factorize(customer_ids, sort=True)
    chosen = np.zeros(len(unique), dtype=bool)
    chosen[np.random.default_rng(random_state).permutation(len(unique))[:n]] = True
    return chosen[codes]


def held_out_customers(customer_ids: pd.Series, share: float, random_state: int) -> np.ndarray:
    """A boolean mask: True for rows whose customer is held out (every row of a customer falls on one side)."""
    n = int(round(share * customer_ids.nunique()))
    return sample_customers(customer_ids, n, random_state)


def first_order_time(orders: ibis.Table) -> pd.Timestamp | None:
    first = orders.ordered_at.min().execute()
    return None if first is None or pd.isna(first) else pd.Timestamp(first)


def check_training_rows(rows: pd.DataFrame, orders: ibis.Table, as_of: pd.Timestamp, horizon_days: float,
                        min_customers: int) -> None:
    """Raise a CustomerModelError that says what to change when rows cannot train a model."""
    if rows.empty:
        first = first_order_time(orders)
        cutoff = as_of - pd.Timedelta(days=horizon_days)
        if first is None:
            raise CustomerModelError("orders is empty; load orders before fitting a customer model")
        raise CustomerModelError(
            f"as_of={as_of.date()} leaves no history: the training cutoff as_of - horizon_days = {cutoff} is not "
            f"after the first order ({first}); pass an as_of later than {first + pd.Timedelta(days=horizon_days)} "
            "or a shorter horizon_days")
    customers = rows.customer_id.nunique()
    if customers < min_customers:
        raise CustomerModelError(
            f"only {customers} customers have orders before the training cutoff, fewer than "
            f"min_customers={min_customers}; pass more orders, a later as_of, or a smaller min_customers")


def check_classes(label: pd.Series, what: str) -> None:
    counts = label.value_counts()
    if len(counts) < 2 or counts.min() < MIN_CLASS_ROWS:
        raise CustomerModelError(
            f"the {what} has {int(counts.get(True, 0))} churned and {int(counts.get(False, 0))} retained rows; "
            f"each needs at least {MIN_CLASS_ROWS}: choose a horizon_days (or as_of) under which some customers "
            "buy again and some do not, or pass more customers")


class ChurnModel(BaseEstimator):
    """P(no order in the next horizon_days) per customer, a predicted window for the next order, and reasons.

    n_cutoffs > 1 stacks earlier cutoffs (every cutoff_step_days, default horizon_days) for more rows;
    calibration_share of the customers are held out of training to calibrate probabilities.
    max_training_customers: above this many customers, fit on a random sample of them (every row of a
    sampled customer); a few hundred thousand rows pin down trees this size, and it bounds fit time.
    """

    def __init__(self, horizon_days: int = 90, windows_days=DEFAULT_WINDOWS_DAYS, lgbm_params: dict | None = None,
                 calibration: str | None = "isotonic", random_state: int = 0, n_cutoffs: int = 1,
                 cutoff_step_days: float | None = None, calibration_share: float = 0.25, n_estimators: int = 100,
                 quantiles=(0.1, 0.5, 0.9), min_customers: int = 200, max_training_customers: int | None = 300_000):
        self.horizon_days = horizon_days
        self.windows_days = windows_days
        self.lgbm_params = lgbm_params
        self.calibration = calibration
        self.random_state = random_state
        self.n_cutoffs = n_cutoffs
        self.cutoff_step_days = cutoff_step_days
        self.calibration_share = calibration_share
        self.n_estimators = n_estimators
        self.quantiles = quantiles
        self.min_customers = min_customers
        self.max_training_customers = max_training_customers

    # -- fitting -----------------------------------------------------------------------------
    def _check_params(self) -> None:
        if not self.horizon_days or self.horizon_days <= 0:
            raise CustomerModelError(f"horizon_days={self.horizon_days!r} must be a positive number of days, e.g. 90")
        if self.calibration not in CALIBRATIONS:
            raise CustomerModelError(f"calibration={self.calibration!r}; use one of {CALIBRATIONS}")
        if not 0 < self.calibration_share < 1:
            raise CustomerModelError(f"calibration_share={self.calibration_share!r} must be between 0 and 1, e.g. 0.25")
        if len(self.quantiles) != 3 or not 0 < self.quantiles[0] < self.quantiles[1] < self.quantiles[2] < 1:
            raise CustomerModelError(f"quantiles={self.quantiles!r} must be three increasing levels in (0, 1), "
                                     "e.g. (0.1, 0.5, 0.9)")

    def fit(self, orders: ibis.Table, as_of) -> "ChurnModel":
        """Train on features before as_of - horizon_days and the outcome in the horizon after that cutoff."""
        self._check_params()
        check_orders(orders)
        as_of = to_timestamp(as_of, "as_of")
        self.windows_ = check_windows(self.windows_days)
        self.features_ = feature_names(self.windows_)
        rows = training_frame(self._training_orders(orders, as_of), as_of, self.horizon_days, self.windows_,
                              self.n_cutoffs, self.cutoff_step_days)
        check_training_rows(rows, orders, as_of, self.horizon_days, self.min_customers)
        return self._fit_rows(rows, as_of)

    def _training_orders(self, orders: ibis.Table, as_of: pd.Timestamp) -> ibis.Table:
        """The orders of a random sample of max_training_customers customers (all orders when there are
        fewer), drawn before any feature is computed, so a million-customer store pays for the sample only.
        The customers are those with an order before the latest training cutoff: the training rows' customers."""
        if not self.max_training_customers:
            return orders
        cutoff = ibis.literal((as_of - pd.Timedelta(days=float(self.horizon_days))).to_pydatetime(), type="timestamp")
        known = orders.filter(orders.ordered_at < cutoff).select("customer_id").distinct().execute()["customer_id"]
        if len(known) <= self.max_training_customers:
            return orders
        chosen = known[sample_customers(known, self.max_training_customers, self.random_state + 1)]
        return orders.semi_join(ibis.memtable(pd.DataFrame({"customer_id": chosen.to_numpy()})), "customer_id")

    def _fit_rows(self, rows: pd.DataFrame, as_of: pd.Timestamp) -> "ChurnModel":
        churned = ~rows.has_purchase.astype(bool)
        is_held_out = held_out_customers(rows.customer_id, self.calibration_share, self.random_state)
        check_classes(churned[~is_held_out], "training part")
        check_classes(churned[is_held_out], f"calibration part (calibration_share={self.calibration_share})")
        x = rows[self.features_].astype("float64")
        train = lgb.Dataset(x[~is_held_out], churned[~is_held_out].astype(int), free_raw_data=True)
        params = lgbm_params("binary", self.random_state, self.lgbm_params, int((~is_held_out).sum()))
        self.booster_ = lgb.train(params, train, num_boost_round=self.n_estimators)
        raw = self.booster_.predict(x[is_held_out], num_threads=threads_for(len(x)))
        self.calibrator_ = self._fit_calibrator(raw, churned[is_held_out].to_numpy())
        self._fit_next_purchase(rows, is_held_out)
        sample = x[~is_held_out].sample(min(IMPORTANCE_ROWS, int((~is_held_out).sum())), random_state=self.random_state)
        contrib = self.booster_.predict(sample, pred_contrib=True, num_threads=threads_for(len(x)))[:, :-1]
        self.feature_importance_ = pd.DataFrame({
            "feature": self.features_,
            "description": [describe_feature(f) for f in self.features_],
            "mean_abs_contribution": np.abs(contrib).mean(axis=0),
        }).sort_values("mean_abs_contribution", ascending=False, ignore_index=True)
        self.as_of_ = as_of
        self.cutoffs_ = sorted(rows.cutoff.unique(), reverse=True)
        self.training_rows_ = int((~is_held_out).sum())
        self.calibration_rows_ = int(is_held_out.sum())
        self.training_churn_rate_ = float(churned.mean())
        return self

    def _fit_calibrator(self, raw: np.ndarray, churned: np.ndarray):
        if self.calibration == "isotonic":
            return IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, churned)
        if self.calibration == "sigmoid":  # Platt scaling on the log-odds
            return LogisticRegression(C=1e6).fit(_logit(raw).reshape(-1, 1), churned)
        return None

    def _fit_next_purchase(self, rows: pd.DataFrame, is_held_out: np.ndarray) -> None:
        """Quantile regressions of log(1 + days to the next order) on customers who ordered in the horizon,
        widened on held-out buyers so the outer range keeps its coverage (conformalized quantile regression,
        Romano, Patterson & Candes 2019)."""
        is_buyer = rows.has_purchase.astype(bool).to_numpy()
        target = np.log1p(rows.days_to_next_purchase.to_numpy(dtype="float64"))
        x = rows[self.features_].astype("float64")
        train = is_buyer & ~is_held_out
        data = lgb.Dataset(x[train], target[train], free_raw_data=False)
        self.next_purchase_boosters_ = [
            lgb.train(lgbm_params("quantile", self.random_state, self.lgbm_params, int(train.sum()), alpha=q), data,
                      num_boost_round=max(self.n_estimators // 2, 1))
            for q in self.quantiles
        ]
        check = is_buyer & is_held_out
        low, high = (b.predict(x[check], num_threads=1) for b in
                     (self.next_purchase_boosters_[0], self.next_purchase_boosters_[2]))
        scores = np.maximum(low - target[check], target[check] - high)
        miss_rate = self.quantiles[0] + 1 - self.quantiles[2]
        level = min(np.ceil((len(scores) + 1) * (1 - miss_rate)) / len(scores), 1.0)
        self.next_purchase_widening_ = float(np.quantile(scores, level))

    # -- scoring -----------------------------------------------------------------------------
    def churn_score(self, features: pd.DataFrame) -> np.ndarray:
        """The uncalibrated model probability: the model's ranking, without the ties calibration adds."""
        self._check_fitted()
        return self.booster_.predict(features[self.features_].astype("float64"), num_threads=threads_for(len(features)))

    def churn_probability(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated churn probabilities for rows of customer_features output."""
        raw = self.churn_score(features)
        if self.calibration == "isotonic":  # no more certainty than the calibration sample can show
            bound = 1.0 / (self.calibration_rows_ + 2)
            return np.clip(self.calibrator_.predict(raw), bound, 1 - bound)
        if self.calibration == "sigmoid":
            return self.calibrator_.predict_proba(_logit(raw).reshape(-1, 1))[:, 1]
        return raw

    def predict(self, orders: ibis.Table, as_of, explain: bool | int = EXPLAINED_BY_DEFAULT) -> pd.DataFrame:
        """Scores as of a date for every customer with an order before it, from orders before it only.

        Columns: customer_id, churn_probability (no order in [as_of, as_of + horizon_days)),
        next_purchase_days_low / _median / _high (quantiles of days to the next order, given one comes
        within the horizon), and reason_1..reason_3: the largest TreeSHAP contributions as
        "description: value (+log-odds)", positive towards churn. TreeSHAP costs about 0.5 ms a customer,
        so explain=n explains the n likeliest churners (others get None); True explains all, False none.
        """
        self._check_fitted()
        check_orders(orders)
        feats = fetch(customer_features(orders, to_timestamp(as_of, "as_of"), self.windows_))
        feats = feats.sort_values("customer_id", ignore_index=True)
        return self.predict_features(feats, explain=explain)

    def predict_features(self, features: pd.DataFrame, explain: bool | int = EXPLAINED_BY_DEFAULT) -> pd.DataFrame:
        """predict() on an already computed customer_features frame."""
        self._check_fitted()
        missing = [c for c in ["customer_id", *self.features_] if c not in features.columns]
        if missing:
            raise CustomerModelError(f"features lacks column(s) {', '.join(missing)}; compute them with "
                                     f"customer_features(orders, cutoff, windows_days={self.windows_})")
        x = features[self.features_].astype("float64")
        out = pd.DataFrame({"customer_id": features.customer_id.to_numpy(),
                            "churn_probability": self.churn_probability(features)})
        if len(features):
            threads = threads_for(len(x))
            log_days = np.sort(np.column_stack([b.predict(x, num_threads=threads)
                                                for b in self.next_purchase_boosters_]), axis=1)
            log_days[:, 0] -= self.next_purchase_widening_
            log_days[:, 2] += self.next_purchase_widening_
            days = np.expm1(np.sort(log_days, axis=1))
            days = np.clip(days, 0.0, float(self.horizon_days))
        else:
            days = np.empty((0, 3))
        for i, name in enumerate(("low", "median", "high")):
            out[f"next_purchase_days_{name}"] = days[:, i]
        if explain is not False:
            n = len(x) if explain is True else min(int(explain), len(x))
            chosen = np.sort(np.argsort(-out.churn_probability.to_numpy(), kind="stable")[:n])
            part = x.iloc[chosen]
            # TreeSHAP costs ~1,000x a prediction per row, so it pays for two threads far sooner
            contrib = (self.booster_.predict(part, pred_contrib=True, num_threads=threads_for(100 * len(part)))[:, :-1]
                       if len(part) else np.empty((0, len(x.columns))))
            for i, text in enumerate(top_reasons(part, contrib, 3)):
                column = np.full(len(x), None, dtype=object)
                column[chosen] = text
                out[f"reason_{i + 1}"] = column
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise CustomerModelError("this ChurnModel is not fitted yet; call fit(orders, as_of) first")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def format_value(value: float) -> str:
    if value != value:  # NaN: the feature does not apply (e.g. no second order)
        return "none"
    if float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}"


def top_reasons(x: pd.DataFrame, contrib: np.ndarray, k: int = 3) -> list[list[str]]:
    """The k features with the largest |contribution| per row, as 'description: value (+0.31)' texts."""
    names = np.array([describe_feature(c) for c in x.columns], dtype=object)
    values = x.to_numpy()
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :k]
    rows = np.arange(len(x))
    texts = []
    for j in range(min(k, contrib.shape[1])):
        idx = order[:, j]
        texts.append([f"{n}: {format_value(v)} ({c:+.2f})"
                      for n, v, c in zip(names[idx], values[rows, idx], contrib[rows, idx])])
    return texts


def recency_baseline(features: pd.DataFrame) -> pd.DataFrame:
    """A recency-only churn score for comparison: customer_id, recency_score (days since the last order; higher = likelier churn)."""
    if "recency_days" not in features.columns:
        raise CustomerModelError("features lacks recency_days; compute it with customer_features(orders, cutoff)")
    return pd.DataFrame({"customer_id": features.customer_id.to_numpy(),
                         "recency_score": features.recency_days.to_numpy(dtype="float64")})


# -- evaluation ------------------------------------------------------------------------------
EVALUATION_COLUMNS = ("scorer", "customers", "churn_rate", "auc", "brier", "log_loss", "top_decile_lift",
                      "holdout_days", "training_horizon_days", "note")


def top_decile_lift(churned: np.ndarray, score: np.ndarray) -> float:
    """Churn rate among the 10% highest scores divided by the overall churn rate."""
    n_top = max(int(np.ceil(len(score) / 10)), 1)
    top = np.argsort(-score, kind="stable")[:n_top]
    return float(churned[top].mean() / churned.mean())


def churn_metrics(churned, probability, ranking=None) -> dict:
    """AUC, Brier score, log loss and top-decile lift against observed churn.

    AUC and lift use `ranking` when given (a score in the same order as the probabilities, free of the
    ties a step-wise calibration adds); Brier and log loss use the probabilities.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = np.asarray(churned, dtype=int)
    p = np.clip(np.asarray(probability, dtype="float64"), 1e-6, 1 - 1e-6)
    rank = p if ranking is None else np.asarray(ranking, dtype="float64")
    log_loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return {"auc": float(roc_auc_score(y, rank)), "brier": float(brier_score_loss(y, p)),
            "log_loss": log_loss, "top_decile_lift": top_decile_lift(y, rank)}


def training_horizon_for(orders: ibis.Table, calibration_end: pd.Timestamp, holdout_days: float) -> tuple[float, str]:
    """The holdout length, or half the history before calibration_end when the holdout does not fit in it."""
    first = first_order_time(orders.filter(orders.ordered_at < calibration_end.to_pydatetime()))
    if first is None:
        raise CustomerModelError(f"no order before calibration_end={calibration_end.date()}; pass a later "
                                 "calibration_end")
    history_days = (calibration_end - first) / pd.Timedelta(days=1)
    if holdout_days <= history_days / 2:
        return holdout_days, ""
    horizon = float(np.floor(history_days / 2))
    return horizon, (f"training horizon shortened to {horizon:.0f} days: the {holdout_days:.0f}-day holdout does not "
                     f"fit in the {history_days:.0f} days of history before calibration_end")


def evaluate_churn(orders: ibis.Table, calibration_end, holdout_end, model: ChurnModel | None = None) -> pd.DataFrame:
    """The model and the recency baseline scored on 'no order in [calibration_end, holdout_end)'.

    Both learn only from orders before calibration_end: the model (a clone of `model`'s parameters,
    default ChurnModel()) with horizon_days = the holdout length, shortened to half the history when it
    does not fit; the baseline maps recency to a probability by isotonic regression on the same
    training cutoff. Returns one row per scorer with EVALUATION_COLUMNS; AUC and lift rank by the
    uncalibrated score (model) or recency (baseline), Brier and log loss use the probabilities.
    """

    check_orders(orders)
    start, end = to_timestamp(calibration_end, "calibration_end"), to_timestamp(holdout_end, "holdout_end")
    if end <= start:
        raise CustomerModelError(f"holdout_end={end.date()} must be after calibration_end={start.date()}")
    holdout_days = (end - start) / pd.Timedelta(days=1)
    horizon, note = training_horizon_for(orders, start, holdout_days)
    template = model if model is not None else ChurnModel()
    fitted = clone(template).set_params(horizon_days=horizon)
    fitted.fit(orders, start)
    feats = fetch(customer_features(orders, start, fitted.windows_))
    labels = fetch(future_labels(orders, start, holdout_days))
    rows = feats.merge(labels, on="customer_id").sort_values("customer_id", ignore_index=True)
    churned = ~rows.has_purchase.astype(bool).to_numpy()
    model_score = fitted.churn_score(rows)
    model_p = fitted.churn_probability(rows)
    train = training_frame(orders, start, horizon, fitted.windows_, 1)
    baseline = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(
        train.recency_days.to_numpy(dtype="float64"), (~train.has_purchase.astype(bool)).to_numpy(dtype=float))
    recency = recency_baseline(rows).recency_score.to_numpy()
    baseline_p = baseline.predict(recency)
    out = []
    for scorer, p, rank in (("churn_model", model_p, model_score), ("recency_baseline", baseline_p, recency)):
        metrics = churn_metrics(churned, p, ranking=rank)
        out.append({"scorer": scorer, "customers": len(rows), "churn_rate": float(churned.mean()), **metrics,
                    "holdout_days": holdout_days, "training_horizon_days": horizon, "note": note})
    return pd.DataFrame(out, columns=list(EVALUATION_COLUMNS))
