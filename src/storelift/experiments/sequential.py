"""Always-valid inference: p-values and confidence sequences that stay valid however often you peek.

Mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis & Walsh, "Always Valid
Inference: Continuous Monitoring of A/B Tests" (Operations Research, 2022). The difference of arm
means is treated as normal with variance V (estimated from the data at each look); the likelihood
ratio of "difference ~ N(null, tau^2)" against "difference = null" is

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 (d - null)^2 / (2 V (V + tau^2)))

and the always-valid p-value is the running minimum of 1 / Lambda. Stopping the first time it drops
below alpha keeps the false-positive rate at most alpha (up to the normal approximation), unlike a
fixed-horizon test read at every look. The confidence sequence is the set of nulls not rejected,
intersected over looks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from .inputs import (AnalysisError, arms_against_control, require_alpha, require_columns, require_numeric,
                     require_positive)

LOOK_COLUMNS = ["n_control", "mean_control", "var_control", "n_treatment", "mean_treatment", "var_treatment"]


def msprt_log_likelihood_ratio(difference, variance, tau: float, null: float = 0.0) -> np.ndarray:
    """log Lambda for each (difference, variance) pair; 0 where the variance is 0 (nothing known yet)."""
    tau = require_positive(tau, "tau", "the lift you hope to detect, in the metric's units")
    d = np.asarray(difference, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    tau2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        log_lr = 0.5 * np.log(v / (v + tau2)) + tau2 * (d - null) ** 2 / (2 * v * (v + tau2))
    return np.where(v > 0, log_lr, 0.0)


def always_valid_p_values(difference, variance, tau: float, null: float = 0.0) -> np.ndarray:
    """Always-valid p-values along the last axis (the looks, in time order): running min of 1 / Lambda."""
    p_now = np.minimum(1.0, np.exp(-msprt_log_likelihood_ratio(difference, variance, tau, null)))
    return np.minimum.accumulate(p_now, axis=-1)


class ConfidenceSequence(NamedTuple):
    """Bounds on the difference at each look, valid simultaneously over all looks."""

    low: np.ndarray
    high: np.ndarray


def confidence_sequence(difference, variance, tau: float, alpha: float = 0.05) -> ConfidenceSequence:
    """Bounds along the last axis (the looks): the differences no look so far has rejected at level alpha."""
    alpha = require_alpha(alpha)
    tau = require_positive(tau, "tau", "the lift you hope to detect, in the metric's units")
    d = np.asarray(difference, dtype=np.float64)
    v = np.asarray(variance, dtype=np.float64)
    tau2 = tau * tau
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.sqrt(2 * v * (v + tau2) / tau2 * (np.log(1 / alpha) + 0.5 * np.log((v + tau2) / v)))
    radius = np.where(v > 0, radius, np.inf)
    low = np.maximum.accumulate(d - radius, axis=-1)
    high = np.minimum.accumulate(d + radius, axis=-1)
    return ConfidenceSequence(low, high)


def msprt(looks: pd.DataFrame, tau: float, alpha: float = 0.05, null: float = 0.0) -> pd.DataFrame:
    """Always-valid readout at each look of one treatment against control.

    looks: one row per look in time order, cumulative to that look, with columns n_control,
    mean_control, var_control, n_treatment, mean_treatment, var_treatment (as `cumulative_looks`
    makes; for conversion, mean is the rate and var is rate * (1 - rate)).
    tau: standard deviation of the mixing distribution over the true difference, in the metric's
    units; set it near the lift you hope to detect (e.g. the minimum detectable effect).
    Returns `looks` with difference, std_error, likelihood_ratio, p_value (always valid),
    ci_low, ci_high (the confidence sequence) and is_significant (p_value < alpha) added.
    """
    require_columns(looks, LOOK_COLUMNS, "looks")
    if len(looks) == 0:
        raise AnalysisError("looks has no rows; pass one row per look, cumulative up to that look")
    n_c, m_c, v_c, n_t, m_t, v_t = (require_numeric(looks, c) for c in LOOK_COLUMNS)
    if (n_c < 1).any() or (n_t < 1).any() or (v_c < 0).any() or (v_t < 0).any():
        raise AnalysisError("looks has a row with n < 1 or a negative variance; pass counts >= 1 and variances >= 0")
    difference = m_t - m_c
    variance = v_c / n_c + v_t / n_t
    p_value = always_valid_p_values(difference, variance, tau, null)
    bounds = confidence_sequence(difference, variance, tau, alpha)
    result = looks.copy()
    result["difference"] = difference
    result["std_error"] = np.sqrt(variance)
    result["likelihood_ratio"] = np.exp(msprt_log_likelihood_ratio(difference, variance, tau, null))
    result["p_value"] = p_value
    result["ci_low"], result["ci_high"] = bounds.low, bounds.high
    result["is_significant"] = p_value < alpha
    return result


def cumulative_looks(frame: pd.DataFrame, arm_col: str, metric: str, time_col: str, control: str = "control",
                     treatment: str | None = None, looks=None) -> pd.DataFrame:
    """Per-look cumulative arm summaries from one row per unit, for `msprt`.

    time_col: when the unit's outcome is known (e.g. its assignment day); a look at time T uses the
    units with time <= T. looks: the times to look at (default: every distinct time).
    Returns a column `look` and the `LOOK_COLUMNS`.
    """
    require_columns(frame, [arm_col, metric, time_col])
    arms = arms_against_control(frame, arm_col, control, None if treatment is None else [treatment])
    if len(arms) > 1:
        raise AnalysisError(f"column {arm_col!r} has several treatment arms {arms}; pass treatment= one of them")
    raw = require_numeric(frame, metric)
    shift = float(raw.mean())
    values = raw - shift  # variances are shift-invariant; centering keeps the sums of squares small
    times = frame[time_col].to_numpy()
    grid = np.sort(pd.unique(times)) if looks is None else np.asarray(looks)
    columns = {"look": grid}
    arm_values = frame[arm_col].astype(str).to_numpy()
    for arm, suffix in ((control, "control"), (arms[0], "treatment")):
        mask = arm_values == arm
        order = np.argsort(times[mask], kind="stable")
        t_sorted, v_sorted = times[mask][order], values[mask][order]
        upto = np.searchsorted(t_sorted, grid, side="right")
        sums = np.concatenate([[0.0], np.cumsum(v_sorted)])[upto]
        squares = np.concatenate([[0.0], np.cumsum(v_sorted ** 2)])[upto]
        n = upto.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = np.where(n > 0, sums / n, np.nan)
            var = np.where(n > 1, (squares - sums * mean) / (n - 1), np.nan)
        columns[f"n_{suffix}"] = upto
        columns[f"mean_{suffix}"] = mean
        columns[f"var_{suffix}"] = np.maximum(var, 0.0)
    result = pd.DataFrame(columns)
    result["mean_control"] += shift
    result["mean_treatment"] += shift
    result = result[(result.n_control >= 2) & (result.n_treatment >= 2)].reset_index(drop=True)
    return result[["look", *LOOK_COLUMNS]]
