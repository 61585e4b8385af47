"""Fixed-horizon tests of an arm against control: conversion (two-proportion z) and means (Welch t).

Valid when the sample size is fixed in advance and the result is read once; for peeking, use
`sequential.msprt`. Every result is a DataFrame with the columns in `RESULT_COLUMNS` (two-sided
p-values; the confidence interval is for the difference, treatment minus control):

    n_control, n_treatment   units in each arm
    control_value, treatment_value   the metric per arm (a rate or a mean)
    difference               treatment_value - control_value
    relative_lift            difference / control_value (NaN when control_value is 0)
    std_error                standard error of the difference used for the interval
    statistic                z or t statistic of the test
    p_value                  two-sided p-value of "no difference"
    ci_low, ci_high          the (1 - alpha) confidence interval of the difference

Frame-level functions add `arm` first, one row per treatment arm compared with the control.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .inputs import (AnalysisError, arm_mask, arms_against_control, require_alpha, require_binary, require_columns,
                     require_numeric)

RESULT_COLUMNS = ["n_control", "n_treatment", "control_value", "treatment_value", "difference", "relative_lift",
                  "std_error", "statistic", "p_value", "ci_low", "ci_high"]


def relative_lift(difference, control_value) -> np.ndarray:
    """difference / control_value, NaN where the control value is 0."""
    control_value = np.asarray(control_value, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(control_value != 0, np.asarray(difference) / control_value, np.nan)


def two_proportion_test_from_counts(successes_control, trials_control, successes_treatment, trials_treatment,
                                    alpha: float = 0.05) -> pd.DataFrame:
    """Two-proportion z test from counts (arrays broadcast to one row each).

    The statistic uses the pooled rate (the null hypothesis says the rates are equal); the interval
    uses the unpooled (Wald) standard error, as the null no longer applies there.
    """
    alpha = require_alpha(alpha)
    x_c, n_c, x_t, n_t = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in
                                               (successes_control, trials_control, successes_treatment,
                                                trials_treatment)))
    if (n_c < 1).any() or (n_t < 1).any():
        _out_of_range("trials_control and trials_treatment", "a count >= 1 in every row")
    if (x_c < 0).any() or (x_t < 0).any() or (x_c > n_c).any() or (x_t > n_t).any():
        _out_of_range("successes_control and successes_treatment", "counts between 0 and the trials")
    p_c, p_t = x_c / n_c, x_t / n_t
    difference = p_t - p_c
    pooled = (x_c + x_t) / (n_c + n_t)
    se_null = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se_null > 0, difference / se_null, 0.0)
    std_error = np.sqrt(p_c * (1 - p_c) / n_c + p_t * (1 - p_t) / n_t)
    half = stats.norm.ppf(1 - alpha / 2) * std_error
    return pd.DataFrame({
        "n_control": n_c.astype(np.int64).ravel(), "n_treatment": n_t.astype(np.int64).ravel(),
        "control_value": p_c.ravel(), "treatment_value": p_t.ravel(), "difference": difference.ravel(),
        "relative_lift": relative_lift(difference, p_c).ravel(), "std_error": std_error.ravel(),
        "statistic": z.ravel(), "p_value": (2 * stats.norm.sf(np.abs(z))).ravel(),
        "ci_low": (difference - half).ravel(), "ci_high": (difference + half).ravel(),
    })


def welch_test_from_stats(mean_control, var_control, n_control, mean_treatment, var_treatment, n_treatment,
                          alpha: float = 0.05) -> pd.DataFrame:
    """Welch's unequal-variance t test from per-arm means, sample variances (ddof=1) and sizes.

    Adds a `df` column: the Welch-Satterthwaite degrees of freedom used for the p-value and interval.
    """
    alpha = require_alpha(alpha)
    m_c, v_c, n_c, m_t, v_t, n_t = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in
                                                         (mean_control, var_control, n_control, mean_treatment,
                                                          var_treatment, n_treatment)))
    if (n_c < 2).any() or (n_t < 2).any():
        _out_of_range("n_control and n_treatment", "at least 2 units per arm")
    if (v_c < 0).any() or (v_t < 0).any():
        _out_of_range("var_control and var_treatment", "variances >= 0")
    share_c, share_t = v_c / n_c, v_t / n_t
    std_error = np.sqrt(share_c + share_t)
    difference = m_t - m_c
    with np.errstate(divide="ignore", invalid="ignore"):
        df = (share_c + share_t) ** 2 / (share_c ** 2 / (n_c - 1) + share_t ** 2 / (n_t - 1))
        t = np.where(std_error > 0, difference / std_error, 0.0)
    df = np.where(np.isfinite(df), df, n_c + n_t - 2)
    half = stats.t.ppf(1 - alpha / 2, df) * std_error
    return pd.DataFrame({
        "n_control": n_c.astype(np.int64).ravel(), "n_treatment": n_t.astype(np.int64).ravel(),
        "control_value": m_c.ravel(), "treatment_value": m_t.ravel(), "difference": difference.ravel(),
        "relative_lift": relative_lift(difference, m_c).ravel(), "std_error": std_error.ravel(),
        "statistic": t.ravel(), "p_value": (2 * stats.t.sf(np.abs(t), df)).ravel(),
        "ci_low": (difference - half).ravel(), "ci_high": (difference + half).ravel(), "df": df.ravel(),
    })


def two_proportion_test(frame: pd.DataFrame, arm_col: str, metric: str, control: str = "control",
                        treatments: Sequence[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Conversion of each treatment arm against control, from one row per unit with a 0/1 `metric`."""
    require_columns(frame, [arm_col, metric])
    arms = arms_against_control(frame, arm_col, control, treatments)
    values = require_binary(frame, metric)
    in_control = arm_mask(frame, arm_col, control)
    rows = []
    for arm in arms:
        in_arm = arm_mask(frame, arm_col, arm)
        rows.append(two_proportion_test_from_counts(values[in_control].sum(), in_control.sum(),
                                                    values[in_arm].sum(), in_arm.sum(), alpha))
    return with_arms(arms, rows)


def welch_test(frame: pd.DataFrame, arm_col: str, metric: str, control: str = "control",
               treatments: Sequence[str] | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Mean of `metric` per unit (e.g. revenue per user) in each treatment arm against control, by Welch's t."""
    require_columns(frame, [arm_col, metric])
    arms = arms_against_control(frame, arm_col, control, treatments)
    values = require_numeric(frame, metric)
    c = values[arm_mask(frame, arm_col, control)]
    rows = []
    for arm in arms:
        t = values[arm_mask(frame, arm_col, arm)]
        rows.append(welch_test_from_stats(c.mean(), c.var(ddof=1), c.size, t.mean(), t.var(ddof=1), t.size, alpha))
    return with_arms(arms, rows)


def with_arms(arms: Sequence[str], rows: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One-row results stacked, with the treatment arm's name first."""
    result = pd.concat(rows, ignore_index=True)
    result.insert(0, "arm", list(arms))
    return result


def _out_of_range(parameter: str, need: str) -> None:
    raise AnalysisError(f"{parameter} are out of range; pass {need}")
