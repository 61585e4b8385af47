"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Customers buy at Poisson rate lambda ~ Gamma(r, alpha) while alive and drop out after each repeat
purchase with probability p ~ Beta(a, b). Fitted by maximum likelihood with the closed-form
likelihood and its analytic gradient; optional time-invariant covariates (Fader & Hardie 2007,
"Incorporating time-invariant covariates into the Pareto/NBD and BG/NBD models") scale alpha and
(a, b) per customer: alpha_i = alpha exp(-z_i g_purchase), a_i = a exp(z_i g_a), b_i = b exp(z_i g_b).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from .clv_fit import ModelDataError, confidence_table, minimize_robustly, minimize_warm, natural_covariance

PARAMS = ["r", "alpha", "a", "b"]
MIN_CUSTOMERS = 20
CHUNK_ROWS = 1_000_000  # rows per slice; several slices are evaluated on two threads
WARM_START_ROWS = 200_000  # above this many distinct rows, start from a subsample's optimum
SUBSAMPLE_ROWS = 50_000


def check_rfm(rfm: pd.DataFrame, columns=("frequency", "recency", "T"), min_customers: int = MIN_CUSTOMERS) -> None:
    """Raise ModelDataError naming the column, the first bad row and the fix when rfm cannot be fitted."""
    missing = [c for c in columns if c not in rfm.columns]
    if missing:
        raise ModelDataError(f"rfm lacks column(s) {missing}; build it with storelift.customers.rfm_summary")
    for col in columns:
        values = pd.to_numeric(rfm[col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(values)
        if bad.any():
            raise ModelDataError(f"column {col!r} has a missing or non-numeric value at row {rfm.index[bad.argmax()]!r}; "
                                 "drop or fix those customers before fitting")
        bad = values < 0
        if bad.any():
            raise ModelDataError(f"column {col!r} is negative at row {rfm.index[bad.argmax()]!r}; "
                                 "rebuild the summary with rfm_summary (ages and recencies are never negative)")
    f, rec, age = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    checks = [(f != np.round(f), "frequency", "is not a whole number of repeat purchases"),
              (rec > age * (1 + 1e-9) + 1e-12, "recency", "is larger than T"),
              ((f == 0) & (rec != 0), "recency", "is not 0 for a customer with frequency 0")]
    for bad, col, what in checks:
        if bad.any():
            raise ModelDataError(f"column {col!r} {what} at row {rfm.index[bad.argmax()]!r}; "
                                 "recency and T must come from the same summary and time unit (rfm_summary)")
    if len(rfm) < min_customers:
        raise ModelDataError(f"only {len(rfm)} customers; the model needs at least {min_customers} "
                             "(use a longer calibration period or more customers)")
    if not (f > 0).any():
        raise ModelDataError("no customer has frequency > 0 (no repeat buyers), so dropout cannot be estimated; "
                             "use a longer calibration period")


def collapse(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Identical rows collapsed into one with a `weight` column (how many customers share it)."""
    return frame.groupby(columns, sort=False).size().rename("weight").reset_index()


def row_terms(r, alpha, a, b, x, tx, T):
    """Per-customer log-likelihood and its partial derivatives in (r, alpha, a, b); arrays broadcast."""
    log_at, log_atx = np.log(alpha + T), np.log(alpha + tx)
    has = x > 0
    d = np.log(a) - np.log(np.where(has, b + x - 1, 1.0)) + (r + x) * (log_at - log_atx)
    s = np.where(has, expit(d), 0.0)
    ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + gammaln(a + b) + gammaln(b + x) - gammaln(b)
          - gammaln(a + b + x) - (r + x) * log_at + np.where(has, np.logaddexp(0.0, d), 0.0))
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - log_at + s * (log_at - log_atx)
    d_alpha = r / alpha - (r + x) / (alpha + T) + s * (r + x) * (1 / (alpha + T) - 1 / (alpha + tx))
    d_a = digamma(a + b) - digamma(a + b + x) + s / a
    d_b = (digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x)
           - s / np.where(has, b + x - 1, 1.0))
    return ll, (d_r, d_alpha, d_a, d_b)


class _Slice:
    """Rows of the collapsed data, repeat buyers first, with the products that never change."""

    def __init__(self, x_index, x, tx, T, w):
        order = np.argsort(x == 0, kind="stable")
        self.idx, x, self.tx, self.T, self.w = (v[order] for v in (x_index, x, tx, T, w))
        self.wx = self.w * x
        self.n_rep = int((x > 0).sum())
        self.x_rep, self.tx_rep, self.w_rep = x[: self.n_rep], self.tx[: self.n_rep], self.w[: self.n_rep]
        self.idx_rep = self.idx[: self.n_rep]

    def sums(self, r, alpha, c_x, n_x):
        """The row-dependent sums of the log-likelihood and gradient at (r, alpha) and c_x = log a - log(b+x-1)."""
        log_at = np.log(alpha + self.T)
        inv_at = 1.0 / (alpha + self.T)
        n = self.n_rep
        diff = log_at[:n] - np.log(alpha + self.tx_rep)
        rx = r + self.x_rep
        d = c_x[self.idx_rep] + rx * diff
        ws = self.w_rep * expit(d)
        return (self.w @ log_at, self.wx @ log_at, self.w @ inv_at, self.wx @ inv_at,
                self.w_rep @ np.logaddexp(0.0, d), ws @ diff, (ws * rx) @ (inv_at[:n] - 1.0 / (alpha + self.tx_rep)),
                np.bincount(self.idx_rep, weights=ws, minlength=n_x))


class BgNbdLikelihood:
    """Mean negative log-likelihood of collapsed (frequency, recency, T, weight) rows on log-parameters.

    Terms that depend only on the frequency are summed once per distinct frequency; the rest is
    split into slices evaluated on two threads (numpy releases the GIL).
    """

    def __init__(self, x, tx, T, w, penalty: float = 0.0, time_scale: float = 1.0):
        x = np.asarray(x, float)
        self.ux, x_index = np.unique(x, return_inverse=True)
        w = np.asarray(w, float)
        self.W = float(w.sum())
        self.Wx = np.bincount(x_index, weights=w, minlength=len(self.ux))
        self.penalty, self.time_scale = penalty, time_scale
        bounds = list(range(0, len(x), CHUNK_ROWS)) + [len(x)]
        self.slices = [_Slice(x_index[i:j], x[i:j], np.asarray(tx, float)[i:j], np.asarray(T, float)[i:j], w[i:j])
                       for i, j in zip(bounds[:-1], bounds[1:])]
        self._pool = ThreadPoolExecutor(2) if len(self.slices) > 1 else None

    def __call__(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(log_params)
        ux, Wx, W = self.ux, self.Wx, self.W
        has = ux > 0
        bx1 = np.where(has, b + ux - 1, 1.0)
        c_x = np.log(a) - np.log(bx1)
        args = (r, alpha, c_x, len(ux))
        parts = (list(self._pool.map(lambda s: s.sums(*args), self.slices)) if self._pool
                 else [s.sums(*args) for s in self.slices])
        s_log, sx_log, s_inv, sx_inv, s_soft, s_diff, s_alpha, ws_x = (sum(p[i] for p in parts) for i in range(8))
        ll = (Wx @ (gammaln(r + ux) + gammaln(b + ux) - gammaln(a + b + ux))
              + W * (-gammaln(r) + r * np.log(alpha) + gammaln(a + b) - gammaln(b))
              - r * s_log - sx_log + s_soft)
        g_r = Wx @ digamma(r + ux) - W * digamma(r) + W * np.log(alpha) - s_log + s_diff
        g_alpha = W * r / alpha - r * s_inv - sx_inv + s_alpha
        g_a = W * digamma(a + b) - Wx @ digamma(a + b + ux) + ws_x.sum() / a
        g_b = (W * (digamma(a + b) - digamma(b)) + Wx @ (digamma(b + ux) - digamma(a + b + ux))
               - ws_x[has] @ (1.0 / bx1[has]))
        natural = np.array([r, alpha, a, b])
        scaled = natural * np.array([1.0, self.time_scale, 1.0, 1.0])
        value = -ll / W + self.penalty * float(scaled @ scaled)
        grad = -np.array([g_r, g_alpha, g_a, g_b]) * natural / W
        grad += 2 * self.penalty * scaled * scaled
        return float(value), grad


class CovariateLikelihood:
    """Mean negative log-likelihood with covariates Z on [log r, log alpha, log a, log b, g_purchase, g_a, g_b]."""

    def __init__(self, x, tx, T, Z, penalty: float = 0.0, time_scale: float = 1.0):
        self.x, self.tx, self.T, self.Z = (np.asarray(v, float) for v in (x, tx, T, Z))
        self.k = self.Z.shape[1]
        self.penalty, self.time_scale = penalty, time_scale

    def individual(self, theta):
        k = self.k
        g_p, g_a, g_b = theta[4:4 + k], theta[4 + k:4 + 2 * k], theta[4 + 2 * k:]
        r = np.exp(theta[0])
        alpha = np.exp(theta[1] - self.Z @ g_p)
        a = np.exp(theta[2] + self.Z @ g_a)
        b = np.exp(theta[3] + self.Z @ g_b)
        return r, alpha, a, b

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = self.individual(theta)
        ll, (d_r, d_alpha, d_a, d_b) = row_terms(r, alpha, a, b, self.x, self.tx, self.T)
        n = len(self.x)
        e_alpha, e_a, e_b = alpha * d_alpha, a * d_a, b * d_b
        grad = np.concatenate([[r * d_r.sum(), e_alpha.sum(), e_a.sum(), e_b.sum()],
                               -self.Z.T @ e_alpha, self.Z.T @ e_a, self.Z.T @ e_b])
        base = np.exp(theta[:4]) * np.array([1.0, self.time_scale, 1.0, 1.0])
        value = -ll.sum() / n + self.penalty * (base @ base + theta[4:] @ theta[4:])
        pen_grad = 2 * self.penalty * np.concatenate([base * base, theta[4:]])
        return float(value), -grad / n + pen_grad


def starting_points(x, tx, T, w) -> list[np.ndarray]:
    """Moment-based start (rate from purchases per unit of age and of active time), then fallbacks."""
    wx = w @ x
    rate_age = max(wx, 1e-3) / max(w @ T, 1e-9)
    rep = x > 0
    rate_active = max(wx, 1e-3) / max(w[rep] @ tx[rep], 1e-9)
    rate = np.sqrt(rate_age * rate_active)
    share_repeat = (w[rep].sum() + 1) / (w.sum() + 2)
    b0 = 1.0 + 3.0 * share_repeat
    starts = [np.log([1.0, 1.0 / rate, 1.0, b0]), np.log([0.5, 0.5 / rate_age, 0.8, 2.5]),
              np.log([2.0, 2.0 / rate_active, 2.0, 10.0])]
    return [np.clip(s, -20, 20) for s in starts]


class BetaGeo:
    """BG/NBD purchase model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

    penalty: L2 penalty `penalty * (r^2 + (alpha / max T)^2 + a^2 + b^2)` on the mean negative
    log-likelihood, as lifetimes' penalizer_coef (alpha in units of the oldest customer's age, so
    the penalty does not depend on the time unit); covariates: rfm columns that scale alpha and (a, b).
    """

    def __init__(self, penalty: float = 0.0, covariates: list[str] | None = None):
        self.penalty = penalty
        self.covariates = covariates

    def fit(self, rfm: pd.DataFrame) -> "BetaGeo":
        """rfm: one row per customer with frequency, recency, T (same time unit), e.g. from rfm_summary."""
        if not self.penalty >= 0:
            raise ModelDataError(f"penalty={self.penalty!r} must be a number >= 0 (0 for plain maximum likelihood)")
        names = list(self.covariates or [])
        check_rfm(rfm, ("frequency", "recency", "T", *names))
        frame = rfm[["frequency", "recency", "T", *names]].astype(float)
        time_scale = 1.0 / max(float(frame["T"].max()), 1e-12)
        if names:
            rows = frame.assign(weight=1.0)
            objective = CovariateLikelihood(frame.frequency, frame.recency, frame["T"], frame[names].to_numpy(),
                                            self.penalty, time_scale)
        else:
            rows = collapse(frame, ["frequency", "recency", "T"])
            objective = BgNbdLikelihood(rows.frequency, rows.recency, rows["T"], rows.weight,
                                        self.penalty, time_scale)
        x, tx, T, w = (rows[c].to_numpy(float) for c in ("frequency", "recency", "T", "weight"))
        starts = [np.concatenate([s, np.zeros(3 * len(names))]) for s in starting_points(x, tx, T, w)]
        if names or len(rows) <= WARM_START_ROWS:
            result = minimize_robustly(objective, starts, n_log=4, total_weight=float(w.sum()))
        else:
            pick = np.random.default_rng(0).choice(len(rows), SUBSAMPLE_ROWS, replace=False)
            sub = BgNbdLikelihood(x[pick], tx[pick], T[pick], w[pick], self.penalty, time_scale)
            result = minimize_warm(objective, sub, starts, n_log=4, total_weight=float(w.sum()))
        labels = PARAMS + [f"{part}:{c}" for part in ("purchase", "dropout_a", "dropout_b") for c in names]
        self.log_params_ = pd.Series(result.x, index=labels)
        self.log_covariance_ = pd.DataFrame(result.covariance, index=labels, columns=labels)
        self.params_ = pd.Series(np.exp(result.x[:4]), index=PARAMS)
        self.coefficients_ = pd.Series(result.x[4:], index=labels[4:], dtype=float)
        self.covariance_ = natural_covariance(result.x, result.covariance, labels, n_log=4)
        self.standard_errors_ = pd.Series(np.sqrt(np.diag(self.covariance_.to_numpy())), index=labels)
        self.diagnostics_ = result.diagnostics
        self.n_customers_ = len(frame)
        self.n_distinct_rows_ = len(rows)
        return self

    def confidence_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """coef, se, lower, upper per parameter (Wald intervals on the log scale for r, alpha, a, b)."""
        coef = pd.concat([self.params_, self.coefficients_])
        return confidence_table(coef, self.covariance_, self.log_params_.to_numpy(),
                                self.log_covariance_.to_numpy(), n_log=4, level=level)

    def individual_params(self, rfm: pd.DataFrame | None = None, log_params: np.ndarray | None = None):
        """(r, alpha, a, b), per customer (arrays) when the model has covariates and rfm is given."""
        theta = self.log_params_.to_numpy() if log_params is None else np.asarray(log_params)
        if not self.covariates or rfm is None:
            return tuple(np.exp(theta[:4]))
        Z = rfm[list(self.covariates)].to_numpy(float)
        k = Z.shape[1]
        return (np.exp(theta[0]), np.exp(theta[1] - Z @ theta[4:4 + k]), np.exp(theta[2] + Z @ theta[4 + k:4 + 2 * k]),
                np.exp(theta[3] + Z @ theta[4 + 2 * k:]))

    def expected_purchases(self, t: float) -> float:
        """E[X(t)]: expected repeat purchases in the first t time units of a new customer (baseline covariates)."""
        r, alpha, a, b = self.individual_params()
        return float((a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t))))

    def conditional_expected_purchases(self, rfm: pd.DataFrame, t, log_params=None) -> pd.Series:
        """E[Y(t) | frequency, recency, T]: expected purchases in the next t time units, per customer."""
        r, alpha, a, b = self.individual_params(rfm, log_params)
        x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        t = np.broadcast_to(np.asarray(t, float), x.shape)
        head = (a + b + x - 1) / (a - 1)
        if np.ndim(alpha) > 0:  # covariates: every customer has its own alpha
            tail = _purchase_tail(x, T, t, r, alpha, a, b)
        elif np.ndim(t) == 0 or np.all(t == t.flat[0]):
            tail = _unique_rows(lambda x_, T_, *p: _purchase_tail(x_, T_, t.flat[0], *p), (x, T), r, alpha, a, b)
        else:
            tail = _unique_rows(_purchase_tail, (x, T, t), r, alpha, a, b)
        alive = _p_alive(r, alpha, a, b, x, tx, T)
        return pd.Series(head * tail * alive, index=rfm.index, name="expected_purchases")

    def discounted_expected_purchases(self, rfm: pd.DataFrame, step: float, n_steps: int, rate: float,
                                      log_params=None) -> tuple[np.ndarray, np.ndarray]:
        """(sum over periods i = 1..n_steps of the purchases expected in period i / (1 + rate)^i, the undiscounted
        total), per customer, with periods of `step` time units. The costly hypergeometric part depends only on
        (frequency, T), so it is evaluated once per distinct pair, for all periods at once."""
        r, alpha, a, b = self.individual_params(rfm, log_params)
        x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        scale = (a + b + x - 1) / (a - 1) * _p_alive(r, alpha, a, b, x, tx, T)
        if np.ndim(alpha) > 0:  # covariates: no shared rows
            codes, xu, Tu, alpha_u = np.arange(len(x)), x, T, alpha
        else:
            codes, (xu, Tu) = _distinct_rows((x, T))
            alpha_u = alpha
        discounted = np.zeros(len(xu))
        previous = np.zeros(len(xu))
        for i in range(1, n_steps + 1):
            tail = _purchase_tail(xu, Tu, i * step, r, alpha_u, a, b)
            discounted += (tail - previous) / (1 + rate) ** i
            previous = tail
        return scale * discounted[codes], scale * previous[codes]

    def probability_alive(self, rfm: pd.DataFrame) -> pd.Series:
        """P(alive | frequency, recency, T) per customer."""
        r, alpha, a, b = self.individual_params(rfm)
        x, tx, T = (rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))
        return pd.Series(_p_alive(r, alpha, a, b, x, tx, T), index=rfm.index, name="p_alive")

    def probability_of_purchases(self, n: int, t: float) -> float:
        """P(X(t) = n) for a new customer (Fader, Hardie & Lee 2005, eq. 8; baseline covariates)."""
        r, alpha, a, b = self.individual_params()
        q = t / (alpha + t)
        j = np.arange(n)
        log_nb = gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * np.log(alpha / (alpha + t)) + n * np.log(q)
        first = np.exp(betaln(a, b + n) - betaln(a, b) + log_nb)
        if n == 0:
            return float(first)
        partial = np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + j * np.log(q)).sum()
        second = np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * (1 - (alpha / (alpha + t)) ** r * partial)
        return float(first + second)

    def holdout_table(self, summary: pd.DataFrame, max_group: int = 7) -> pd.DataFrame:
        """Predicted vs actual holdout purchases by calibration repeat purchases 0..max_group+ (as the paper's Fig. 4).

        Columns: calibration_repeats ("0".."7+"), customers, actual_mean, predicted_mean,
        actual_total, predicted_total; summary needs frequency_holdout and duration_holdout.
        """
        need = [c for c in ("frequency_holdout", "duration_holdout") if c not in summary.columns]
        if need:
            raise ModelDataError(f"summary lacks {need}; build it with rfm_summary(..., holdout_end=...)")
        predicted = self.conditional_expected_purchases(summary, summary["duration_holdout"].to_numpy(float))
        group = np.minimum(summary["frequency"].to_numpy(int), max_group)
        frame = pd.DataFrame({"group": group, "actual": summary["frequency_holdout"].to_numpy(float),
                              "predicted": predicted.to_numpy()})
        out = frame.groupby("group").agg(customers=("actual", "size"), actual_mean=("actual", "mean"),
                                         predicted_mean=("predicted", "mean"), actual_total=("actual", "sum"),
                                         predicted_total=("predicted", "sum")).reset_index()
        labels = out.pop("group").map(lambda g: f"{g}+" if g == max_group else str(g))
        out.insert(0, "calibration_repeats", labels)
        return out


def _purchase_tail(x, T, t, r, alpha, a, b):
    """1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t)): the part of E[Y(t) | x, t_x, T]
    that does not depend on t_x."""
    ratio_log = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
    return 1 - np.exp(ratio_log) * hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))


def _distinct_rows(columns: tuple[np.ndarray, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """(codes, distinct columns): row i of the input is row codes[i] of the distinct columns."""
    key = np.zeros(len(columns[0]), dtype=np.int64)
    for col in columns:
        codes, uniques = pd.factorize(col)
        key = key * len(uniques) + codes  # distinct counts multiply to far below 2**63 for summaries
    codes = pd.factorize(key)[0]
    first = np.zeros(codes.max() + 1 if len(codes) else 0, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes, [col[first] for col in columns]


def _unique_rows(fn, columns: tuple[np.ndarray, ...], *params) -> np.ndarray:
    """fn evaluated once per distinct row of `columns` and spread back: the hypergeometric function
    is the costly part, and real summaries (whole days) repeat (frequency, T, t) many times."""
    if len(columns[0]) < 50_000:
        return fn(*columns, *params)
    codes, distinct = _distinct_rows(columns)
    return fn(*distinct, *params)[codes]


def _p_alive(r, alpha, a, b, x, tx, T):
    has = x > 0
    d = np.log(a) - np.log(np.where(has, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
    return np.where(has, expit(-d), 1.0)
