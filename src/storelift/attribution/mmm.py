"""A marketing-mix model: daily revenue on adstocked, saturated spend per channel plus trend and seasonality.

revenue_t = baseline_t + sum_c beta_c * hill(adstock(spend_c, decay_c)_t, k_c), with a linear trend
and weekly and yearly Fourier terms in the baseline (Jin, Wang, Sun, Chan & Koehler 2017). For given
decays and half-saturation points the coefficients are a ridge fit with beta_c >= 0; the decays and
half-saturation points are chosen by a bounded optimizer (L-BFGS-B, several starts) minimizing the
error of rolling-origin time-series cross-validation, so they are judged on days the fit did not see.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import lsq_linear, minimize

from .paths import AttributionError
from .response import geometric_adstock, hill

SUMMARY_COLUMNS = ["channel", "spend", "contribution", "roas", "marginal_roas", "adstock_decay",
                   "half_saturation", "coefficient"]
CURVE_COLUMNS = ["channel", "spend_multiplier", "spend", "contribution", "roas", "marginal_roas"]


def _fourier(day: np.ndarray, period: float, order: int) -> list[np.ndarray]:
    return [f(2 * np.pi * k * day / period) for k in range(1, order + 1) for f in (np.sin, np.cos)]


class MarketingMixModel:
    """Geometric adstock + Hill saturation per channel, ridge regression with trend and seasonality."""

    def __init__(self, channels: list[str] | None = None, date_column: str = "date",
                 revenue_column: str = "revenue", controls: tuple[str, ...] = (),
                 decay_bounds: tuple[float, float] = (0.0, 0.9),
                 half_saturation_bounds: tuple[float, float] = (0.2, 3.0), hill_shape: float = 1.0,
                 ridge_alpha: float = 1.0, weekly_order: int = 3, yearly_order: int = 2, cv_folds: int = 4,
                 n_starts: int = 4, seed: int = 0):
        self.channels = channels
        self.date_column = date_column
        self.revenue_column = revenue_column
        self.controls = controls
        self.decay_bounds = decay_bounds
        self.half_saturation_bounds = half_saturation_bounds  # relative to the channel's mean adstocked spend
        self.hill_shape = hill_shape
        self.ridge_alpha = ridge_alpha
        self.weekly_order = weekly_order
        self.yearly_order = yearly_order
        self.cv_folds = cv_folds
        self.n_starts = n_starts
        self.seed = seed

    # -- inputs ----------------------------------------------------------------------------
    def _check(self, data: pd.DataFrame) -> list[str]:
        for col in (self.date_column, self.revenue_column, *self.controls):
            if col not in data.columns:
                raise AttributionError(f"column {col!r} is missing: pass a daily frame with {self.date_column}, "
                                       f"{self.revenue_column} and one spend column per channel")
        channels = self.channels or [c for c in data.columns
                                     if c not in (self.date_column, self.revenue_column, *self.controls)]
        if not channels:
            raise AttributionError("no spend columns: pass channels=[...] or add one spend column per channel")
        for c in channels:
            if c not in data.columns:
                raise AttributionError(f"channels names {c!r}, which is not a column of the data")
            if (data[c] < 0).any() or data[c].isna().any():
                raise AttributionError(f"spend column {c!r} has negative or missing values: fill them with 0")
        if len(data) < 8 * (self.cv_folds + 1):
            raise AttributionError(f"{len(data)} days: the model needs at least {8 * (self.cv_folds + 1)} days "
                                   "for its cross-validation folds (lower cv_folds or add days)")
        return channels

    def _controls_matrix(self, data: pd.DataFrame) -> np.ndarray:
        day = (pd.to_datetime(data[self.date_column]) - self.origin_).dt.days.to_numpy(dtype=float)
        cols = [day / 365.25, *_fourier(day, 7.0, self.weekly_order), *_fourier(day, 365.25, self.yearly_order)]
        cols += [data[c].to_numpy(dtype=float) for c in self.controls]
        return np.column_stack(cols) if cols else np.zeros((len(data), 0))

    def _media(self, spend: np.ndarray, decay: np.ndarray, half: np.ndarray) -> np.ndarray:
        """Saturated adstock per channel; half is relative to the mean adstocked spend."""
        out = np.empty_like(spend)
        for j in range(spend.shape[1]):
            stock = geometric_adstock(spend[:, j], decay[j])
            out[:, j] = hill(stock, half[j] * self.stock_scale_[j], self.hill_shape)
        return out

    # -- the linear part -----------------------------------------------------------------
    def _solve(self, controls: np.ndarray, media: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Ridge with an unpenalized intercept and non-negative media coefficients; returns
        (intercept, control coefficients, media coefficients) in original units."""
        x = np.hstack([controls, media])
        mean, sd = x.mean(axis=0), x.std(axis=0)
        sd = np.where(sd > 1e-12, sd, 1.0)
        y_mean, y_sd = y.mean(), y.std() or 1.0
        z = (x - mean) / sd
        k = x.shape[1]
        n_media = media.shape[1]
        target = (y - y_mean) / y_sd
        # the unconstrained ridge solution is the answer whenever it keeps every media coefficient >= 0
        solution = np.linalg.solve(z.T @ z + self.ridge_alpha * np.eye(k), z.T @ target)
        if (solution[k - n_media:] < 0).any():
            augmented = np.vstack([z, np.sqrt(self.ridge_alpha) * np.eye(k)])
            lower = np.concatenate([np.full(k - n_media, -np.inf), np.zeros(n_media)])
            solution = lsq_linear(augmented, np.concatenate([target, np.zeros(k)]),
                                  bounds=(lower, np.full(k, np.inf)), method="bvls").x
        coef = solution * y_sd / sd
        intercept = y_mean - float(coef @ mean)
        return intercept, coef[: k - n_media], coef[k - n_media:]

    def _cv_error(self, theta: np.ndarray, controls: np.ndarray, spend: np.ndarray, y: np.ndarray) -> float:
        n_ch = spend.shape[1]
        media = self._media(spend, theta[:n_ch], theta[n_ch:])
        n = len(y)
        first_test = int(n * 0.6)
        edges = np.linspace(first_test, n, self.cv_folds + 1).astype(int)
        errors = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            b0, bc, bm = self._solve(controls[:lo], media[:lo], y[:lo])
            pred = b0 + controls[lo:hi] @ bc + media[lo:hi] @ bm
            errors.append(np.mean((y[lo:hi] - pred) ** 2))
        return float(np.mean(errors)) / float(np.var(y))

    # -- fit ---------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame) -> "MarketingMixModel":
        """data: one row per day with the date, revenue and one spend column per channel."""
        channels = self._check(data)
        data = data.sort_values(self.date_column).reset_index(drop=True)
        self.channels_ = channels
        self.origin_ = pd.to_datetime(data[self.date_column]).min()
        spend = data[channels].to_numpy(dtype=float)
        y = data[self.revenue_column].to_numpy(dtype=float)
        controls = self._controls_matrix(data)
        lows = [self.decay_bounds[0]] * len(channels) + [self.half_saturation_bounds[0]] * len(channels)
        highs = [self.decay_bounds[1]] * len(channels) + [self.half_saturation_bounds[1]] * len(channels)
        # the scale of k: the mean adstocked spend at the middle of the decay range
        mid_decay = float(np.mean(self.decay_bounds))
        self.stock_scale_ = np.array([max(geometric_adstock(spend[:, j], mid_decay).mean(), 1e-9)
                                      for j in range(len(channels))])
        rng = np.random.default_rng(self.seed)
        starts = [(np.array(lows) + np.array(highs)) / 2]
        starts += [rng.uniform(lows, highs) for _ in range(max(self.n_starts - 1, 0))]
        best = None
        for start in starts:
            res = minimize(self._cv_error, start, args=(controls, spend, y), method="L-BFGS-B",
                           bounds=list(zip(lows, highs)), options={"maxiter": 200})
            if best is None or res.fun < best.fun:
                best = res
        n_ch = len(channels)
        self.decay_ = pd.Series(best.x[:n_ch], index=channels, name="adstock_decay")
        self.half_saturation_relative_ = pd.Series(best.x[n_ch:], index=channels)
        self.half_saturation_ = pd.Series(best.x[n_ch:] * self.stock_scale_, index=channels,
                                          name="half_saturation")
        self.cv_error_ = float(best.fun)
        media = self._media(spend, best.x[:n_ch], best.x[n_ch:])
        self.intercept_, self.control_coef_, coef = self._solve(controls, media, y)
        self.coef_ = pd.Series(coef, index=channels, name="coefficient")
        self.data_ = data
        pred = self.predict(data)
        self.r2_ = float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))
        return self

    # -- predictions ---------------------------------------------------------------------------
    def _fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise AttributionError("the model is not fitted: call fit(daily) first")

    def contributions(self, data: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per day: date, baseline (intercept, trend, seasonality, controls), one column per channel
        (its revenue contribution) and predicted (their sum)."""
        self._fitted()
        data = self.data_ if data is None else data.sort_values(self.date_column).reset_index(drop=True)
        spend = data[self.channels_].to_numpy(dtype=float)
        media = self._media(spend, self.decay_.to_numpy(), self.half_saturation_relative_.to_numpy())
        out = pd.DataFrame({self.date_column: data[self.date_column].to_numpy()})
        out["baseline"] = self.intercept_ + self._controls_matrix(data) @ self.control_coef_
        for j, c in enumerate(self.channels_):
            out[c] = media[:, j] * self.coef_.iloc[j]
        out["predicted"] = out["baseline"] + out[self.channels_].sum(axis=1)
        return out

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        """Predicted daily revenue for rows in date order."""
        return self.contributions(data)["predicted"].to_numpy()

    def channel_contribution(self, channel: str, multiplier: float = 1.0) -> float:
        """Total revenue the channel adds over the fitted period if its daily spend were scaled."""
        self._fitted()
        j = self.channels_.index(channel)
        spend = self.data_[channel].to_numpy(dtype=float) * multiplier
        stock = geometric_adstock(spend, self.decay_.iloc[j])
        scale = self.half_saturation_.iloc[j]
        return float(self.coef_.iloc[j] * hill(stock, scale, self.hill_shape).sum())

    def _marginal_roas(self, channel: str, multiplier: float, step: float = 0.01) -> float:
        spend = float(self.data_[channel].sum())
        if spend <= 0:
            return float("nan")
        lo, hi = max(multiplier - step, 0.0), multiplier + step
        gain = self.channel_contribution(channel, hi) - self.channel_contribution(channel, lo)
        return gain / ((hi - lo) * spend)

    def channel_summary(self) -> pd.DataFrame:
        """Per channel over the fitted period: spend, contribution (revenue it added), roas
        (contribution / spend), marginal_roas (revenue from one more unit of spend, spread like the
        current spend), adstock_decay, half_saturation (in adstocked spend units), coefficient."""
        self._fitted()
        rows = []
        for c in self.channels_:
            spend = float(self.data_[c].sum())
            contribution = self.channel_contribution(c)
            rows.append({"channel": c, "spend": spend, "contribution": contribution,
                         "roas": contribution / spend if spend > 0 else float("nan"),
                         "marginal_roas": self._marginal_roas(c, 1.0), "adstock_decay": float(self.decay_[c]),
                         "half_saturation": float(self.half_saturation_[c]), "coefficient": float(self.coef_[c])})
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

    def response_curves(self, multipliers: np.ndarray | None = None) -> pd.DataFrame:
        """Revenue contribution per channel if its spend over the period were scaled by each
        multiplier. Columns: channel, spend_multiplier, spend, contribution, roas, marginal_roas."""
        self._fitted()
        grid = np.linspace(0.0, 2.0, 21) if multipliers is None else np.asarray(multipliers, dtype=float)
        rows = []
        for c in self.channels_:
            total = float(self.data_[c].sum())
            for m in grid:
                contribution = self.channel_contribution(c, m)
                spend = total * m
                rows.append({"channel": c, "spend_multiplier": float(m), "spend": spend,
                             "contribution": contribution,
                             "roas": contribution / spend if spend > 0 else float("nan"),
                             "marginal_roas": self._marginal_roas(c, m)})
        return pd.DataFrame(rows, columns=CURVE_COLUMNS)
