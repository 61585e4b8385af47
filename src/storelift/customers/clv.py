"""Discounted customer lifetime value from a fitted BG/NBD and Gamma-Gamma pair.

Expected purchases month by month are differences of the BG/NBD conditional expectation
E[Y(t) | x, t_x, T]; each month's purchases are valued at the Gamma-Gamma expected order value and
discounted at the monthly rate (Fader, Hardie & Lee 2005, "RFM and CLV", in discrete months).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from .bgnbd import BetaGeo
from .clv_fit import ModelDataError
from .gamma_gamma import GammaGamma

DAYS_PER_MONTH = 365.25 / 12

CLV_COLUMNS = {
    "customer_id": "Customer (or the summary's index when it has no customer_id column).",
    "p_alive": "P(still alive) at the end of the calibration period.",
    "expected_purchases": "Expected purchases over the horizon (not discounted).",
    "expected_order_value": "Gamma-Gamma conditional expected order value.",
    "clv": "Discounted expected value of the customer's purchases over the horizon.",
    "clv_low": "Lower end of the interval for clv (parameter uncertainty: delta method or parametric bootstrap).",
    "clv_high": "Upper end of the interval for clv.",
}


def _discounted_purchases(bgnbd: BetaGeo, summary: pd.DataFrame, month: float, months: int, rate: float,
                          bg_log=None) -> tuple[np.ndarray, np.ndarray]:
    """(discounted expected purchases, undiscounted expected purchases) over the horizon, per row."""
    return bgnbd.discounted_expected_purchases(summary, month, months, rate, bg_log)


def _discounted_value(bgnbd: BetaGeo, gg: GammaGamma, summary: pd.DataFrame, month: float, months: int,
                      rate: float, bg_log=None, gg_log=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(clv, expected purchases over the horizon, expected order value) per customer at given log-parameters."""
    value = gg.conditional_expected_order_value(summary, gg_log).to_numpy()
    discounted, purchases = _discounted_purchases(bgnbd, summary, month, months, rate, bg_log)
    return discounted * value, purchases, value


def _delta_interval(bgnbd: BetaGeo, gg: GammaGamma, summary: pd.DataFrame, month: float, months: int, rate: float,
                    discounted: np.ndarray, value: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Delta-method interval on the log scale: log clv = log(discounted purchases) + log(order value), each a
    function of its own model's log-parameters; gradients by forward differences."""
    variance = np.zeros(len(summary))
    with np.errstate(divide="ignore", invalid="ignore"):
        for model, base, fn in (
            (bgnbd, np.log(discounted),
             lambda theta: np.log(_discounted_purchases(bgnbd, summary, month, months, rate, theta)[0])),
            (gg, np.log(value), lambda theta: np.log(gg.conditional_expected_order_value(summary, theta).to_numpy())),
        ):
            theta = model.log_params_.to_numpy()
            grads = np.empty((len(theta), len(summary)))
            for j in range(len(theta)):
                step = 1e-5 * max(1.0, abs(theta[j]))
                moved = theta.copy()
                moved[j] += step
                grads[j] = (fn(moved) - base) / step
            cov = model.log_covariance_.to_numpy()
            variance += np.einsum("in,ij,jn->n", grads, cov, grads)
        spread = z * np.sqrt(np.maximum(variance, 0.0))
        clv = discounted * value
        low, high = clv * np.exp(-spread), clv * np.exp(spread)
    positive = clv > 0
    return np.where(positive, low, 0.0), np.where(positive, high, 0.0)


def customer_lifetime_value(bgnbd: BetaGeo, gg: GammaGamma, summary: pd.DataFrame, horizon_months: int = 12,
                            monthly_discount_rate: float = 0.01, time_unit_days: float = 7.0, level: float = 0.9,
                            interval: str = "delta", n_draws: int = 200, seed: int = 0) -> pd.DataFrame:
    """Discounted CLV per customer over horizon_months (columns: CLV_COLUMNS).

    A month is 365.25/12 days; time_unit_days must be the unit the summary and the models use.
    clv_low/clv_high reflect parameter uncertainty only, not the randomness of the customer's own
    future purchases, at the central `level`:
    - interval="delta" (default, fast at millions of customers): delta method on the log scale from
      both models' fitted (inverse-Hessian) covariances;
    - interval="bootstrap": quantiles over n_draws parametric-bootstrap draws of both models'
      log-parameters from the same covariances (n_draws=0 leaves the interval empty).
    """
    if not (isinstance(horizon_months, (int, np.integer)) and horizon_months >= 1):
        raise ModelDataError(f"horizon_months={horizon_months!r} must be a whole number of months >= 1")
    if not monthly_discount_rate > -1:
        raise ModelDataError(f"monthly_discount_rate={monthly_discount_rate!r} must be > -1 (0.01 for 1% a month)")
    if not 0 < level < 1:
        raise ModelDataError(f"level={level!r} must be between 0 and 1 (0.9 for a 90% interval)")
    if interval not in ("delta", "bootstrap"):
        raise ModelDataError(f"interval={interval!r}; pass 'delta' or 'bootstrap'")
    for name, model in (("bgnbd", bgnbd), ("gg", gg)):
        if not hasattr(model, "params_"):
            raise ModelDataError(f"{name} is not fitted; call {name}.fit(summary) first")
    month = DAYS_PER_MONTH / time_unit_days
    ids = summary["customer_id"].to_numpy() if "customer_id" in summary.columns else summary.index.to_numpy()
    p_alive = bgnbd.probability_alive(summary).to_numpy()
    # customers with the same summary get the same value: compute once per distinct row
    columns = ["frequency", "recency", "T", "monetary_value", *(bgnbd.covariates or [])]
    codes = summary.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
    summary = summary[columns].drop_duplicates().reset_index(drop=True)
    value = gg.conditional_expected_order_value(summary).to_numpy()
    discounted, purchases = _discounted_purchases(bgnbd, summary, month, horizon_months, monthly_discount_rate)
    clv = discounted * value
    low, high = np.full(len(summary), np.nan), np.full(len(summary), np.nan)
    covs = [m.log_covariance_.to_numpy() for m in (bgnbd, gg)]
    if all(np.isfinite(c).all() for c in covs):
        if interval == "delta":
            z = float(norm.ppf(0.5 + level / 2))
            low, high = _delta_interval(bgnbd, gg, summary, month, horizon_months, monthly_discount_rate,
                                        discounted, value, z)
        elif n_draws > 0:
            rng = np.random.default_rng(seed)
            bg_draws = rng.multivariate_normal(bgnbd.log_params_.to_numpy(), covs[0], n_draws)
            gg_draws = rng.multivariate_normal(gg.log_params_.to_numpy(), covs[1], n_draws)
            sims = np.vstack([_discounted_value(bgnbd, gg, summary, month, horizon_months, monthly_discount_rate,
                                                b, g)[0] for b, g in zip(bg_draws, gg_draws)])
            sims = np.where(np.isfinite(sims), sims, np.nan)
            low, high = np.nanquantile(sims, [(1 - level) / 2, (1 + level) / 2], axis=0, method="linear") \
                if np.isnan(sims).any() else np.quantile(sims, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return pd.DataFrame({
        "customer_id": ids,
        "p_alive": p_alive,
        "expected_purchases": purchases[codes],
        "expected_order_value": value[codes],
        "clv": clv[codes],
        "clv_low": low[codes],
        "clv_high": high[codes],
    })
