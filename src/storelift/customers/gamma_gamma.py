"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013 note 025).

A customer's order values are Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers, independent
of the purchase process. Fitted by maximum likelihood on repeat buyers' mean repeat-order value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from .bgnbd import collapse
from .clv_fit import ModelDataError, confidence_table, minimize_robustly, minimize_warm, natural_covariance

PARAMS = ["p", "q", "gamma"]
MIN_REPEAT_CUSTOMERS = 20
WARM_START_ROWS = 200_000  # above this many distinct rows, start from a subsample's optimum (as BetaGeo)
SUBSAMPLE_ROWS = 50_000


class GammaGammaLikelihood:
    """Mean negative log-likelihood of (frequency x, mean value m, weight) rows on log (p, q, gamma)."""

    def __init__(self, x, m, w, penalty: float = 0.0):
        self.x, self.m, self.w = (np.asarray(v, float) for v in (x, m, w))
        self.W = float(self.w.sum())
        self.const = (self.w * self.x) @ np.log(self.x)  # the p x log x term, weighted
        self.wx_logm = (self.w * self.x) @ np.log(self.m)
        self.w_logm = self.w @ np.log(self.m)
        self.wx = self.w * self.x
        self.mx = self.m * self.x
        self.penalty = penalty

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, g = np.exp(log_params)
        px = p * self.x
        log_gm = np.log(g + self.mx)
        w, wx = self.w, self.wx
        ll = (w @ (gammaln(px + q) - gammaln(px) - (px + q) * log_gm) - self.W * gammaln(q) + self.W * q * np.log(g)
              + p * (self.wx_logm + self.const) - self.w_logm)
        psi = digamma(px + q)
        d_p = wx @ (psi - digamma(px) - log_gm) + self.wx_logm + self.const
        d_q = w @ (psi - log_gm) - self.W * digamma(q) + self.W * np.log(g)
        d_g = self.W * q / g - w @ ((px + q) / (g + self.mx))
        natural = np.array([p, q, g])
        value = -ll / self.W + self.penalty * float(natural @ natural)
        grad = -np.array([d_p, d_q, d_g]) * natural / self.W + 2 * self.penalty * natural * natural
        return float(value), grad


class GammaGamma:
    """Gamma-Gamma model of the mean order value; params_ p, q, gamma (lifetimes calls gamma v).

    penalty: L2 penalty `penalty * (p^2 + q^2 + gamma^2)` on the mean negative log-likelihood, as
    lifetimes' penalizer_coef.
    """

    def __init__(self, penalty: float = 0.0):
        self.penalty = penalty

    def fit(self, rfm: pd.DataFrame) -> "GammaGamma":
        """rfm: frequency and monetary_value per customer; only repeat buyers (both > 0) are used."""
        if not self.penalty >= 0:
            raise ModelDataError(f"penalty={self.penalty!r} must be a number >= 0 (0 for plain maximum likelihood)")
        missing = [c for c in ("frequency", "monetary_value") if c not in rfm.columns]
        if missing:
            raise ModelDataError(f"rfm lacks column(s) {missing}; build it with storelift.customers.rfm_summary")
        f = pd.to_numeric(rfm["frequency"], errors="coerce").to_numpy(float)
        m = pd.to_numeric(rfm["monetary_value"], errors="coerce").to_numpy(float)
        for col, values in (("frequency", f), ("monetary_value", m)):
            bad = ~np.isfinite(values) | (values < 0)
            if bad.any():
                raise ModelDataError(f"column {col!r} is missing, negative or not a number at row "
                                     f"{rfm.index[bad.argmax()]!r}; drop or fix those customers before fitting")
        keep = (f > 0) & (m > 0)
        if keep.sum() < MIN_REPEAT_CUSTOMERS:
            raise ModelDataError(f"only {int(keep.sum())} repeat customers with frequency > 0 and monetary_value > 0; "
                                 f"the spend model needs at least {MIN_REPEAT_CUSTOMERS} (use a longer calibration period)")
        rows = collapse(pd.DataFrame({"frequency": f[keep], "monetary_value": m[keep]}), ["frequency", "monetary_value"])
        x, mv, w = (rows[c].to_numpy(float) for c in ("frequency", "monetary_value", "weight"))
        objective = GammaGammaLikelihood(x, mv, w, self.penalty)
        mean, var = np.average(mv, weights=w), np.average((mv - np.average(mv, weights=w)) ** 2, weights=w)
        q0 = 2.0 + mean ** 2 / max(var, 1e-12)  # moment start: spread of the customer means sets q
        starts = [np.log([1.0, q0, mean * (q0 - 1)]), np.log([5.0, 3.0, 2.0 * mean]), np.log([1.0, 1.5, 1.0])]
        if len(rows) <= WARM_START_ROWS:
            result = minimize_robustly(objective, starts, n_log=3, total_weight=float(w.sum()))
        else:
            pick = np.random.default_rng(0).choice(len(rows), SUBSAMPLE_ROWS, replace=False)
            sub = GammaGammaLikelihood(x[pick], mv[pick], w[pick], self.penalty)
            result = minimize_warm(objective, sub, starts, n_log=3, total_weight=float(w.sum()))
        self.log_params_ = pd.Series(result.x, index=PARAMS)
        self.log_covariance_ = pd.DataFrame(result.covariance, index=PARAMS, columns=PARAMS)
        self.params_ = pd.Series(np.exp(result.x), index=PARAMS)
        self.covariance_ = natural_covariance(result.x, result.covariance, PARAMS, n_log=3)
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(self.covariance_.to_numpy())), index=PARAMS)
        self.diagnostics_ = result.diagnostics
        self.n_customers_ = int(keep.sum())
        return self

    def confidence_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """coef, se, lower, upper per parameter (Wald intervals on the log scale)."""
        return confidence_table(self.params_, self.covariance_, self.log_params_.to_numpy(),
                                self.log_covariance_.to_numpy(), n_log=3, level=level)

    def mean_order_value(self) -> float:
        """Population mean order value p * gamma / (q - 1) (infinite when q <= 1)."""
        p, q, g = self.params_
        return float(p * g / (q - 1)) if q > 1 else float("inf")

    def conditional_expected_order_value(self, rfm: pd.DataFrame, log_params=None) -> pd.Series:
        """E[mean order value | frequency, monetary_value]: a weighted mean of the population and the customer's mean.

        Customers without repeat purchases get the population mean p * gamma / (q - 1).
        """
        p, q, g = np.exp(self.log_params_.to_numpy() if log_params is None else np.asarray(log_params))
        x = rfm["frequency"].to_numpy(float)
        m = np.where(x > 0, rfm["monetary_value"].to_numpy(float), 0.0)
        value = (g + m * x) * p / (p * x + q - 1)
        return pd.Series(value, index=rfm.index, name="expected_order_value")
