"""Ratio metrics such as average order value (sum of revenue / sum of orders per arm), by the delta method.

Units are randomized, but orders are not: a customer with many orders contributes many correlated
values, so treating orders as independent understates the variance. The delta method gives the
variance of mean(numerator) / mean(denominator) from per-unit numerators and denominators
(Deng, Knoblich & Lu, "Applying the Delta Method in Metric Analytics", KDD 2018).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from .fixed_horizon import relative_lift, with_arms
from .inputs import AnalysisError, arm_mask, arms_against_control, require_alpha, require_columns, require_numeric


class RatioEstimate(NamedTuple):
    """A ratio metric in one arm: units, sum(numerator) / sum(denominator), and its delta-method variance."""

    n: int
    ratio: float
    variance: float


def ratio_with_variance(numerator: np.ndarray, denominator: np.ndarray) -> RatioEstimate:
    """sum(numerator) / sum(denominator) over units and the delta-method variance of that ratio."""
    n = numerator.size
    mean_x, mean_y = numerator.mean(), denominator.mean()
    if mean_y == 0:
        raise AnalysisError("the denominator sums to 0 in an arm; a ratio metric needs units with a denominator > 0")
    cov = np.cov(numerator, denominator, ddof=1)
    var_x, var_y, cov_xy = cov[0, 0], cov[1, 1], cov[0, 1]
    ratio = mean_x / mean_y
    variance = (var_x / mean_y ** 2 - 2 * ratio * cov_xy / mean_y ** 2 + ratio ** 2 * var_y / mean_y ** 2) / n
    return RatioEstimate(int(n), float(ratio), max(float(variance), 0.0))


def ratio_metric_test(frame: pd.DataFrame, arm_col: str, numerator: str, denominator: str,
                      control: str = "control", treatments: Sequence[str] | None = None,
                      alpha: float = 0.05) -> pd.DataFrame:
    """Each treatment arm's ratio sum(numerator)/sum(denominator) against control, by a delta-method z test.

    frame: one row per randomized unit, e.g. a customer's revenue and orders over the experiment.
    Columns as in `fixed_horizon.RESULT_COLUMNS` with `arm` first; control_value and
    treatment_value are the ratios (for revenue / orders: the average order value).
    """
    alpha = require_alpha(alpha)
    require_columns(frame, [arm_col, numerator, denominator])
    arms = arms_against_control(frame, arm_col, control, treatments)
    x, y = require_numeric(frame, numerator), require_numeric(frame, denominator)
    in_control = arm_mask(frame, arm_col, control)
    c = ratio_with_variance(x[in_control], y[in_control])
    z_crit = stats.norm.ppf(1 - alpha / 2)
    rows = []
    for arm in arms:
        in_arm = arm_mask(frame, arm_col, arm)
        t = ratio_with_variance(x[in_arm], y[in_arm])
        difference = t.ratio - c.ratio
        std_error = float(np.sqrt(c.variance + t.variance))
        z = difference / std_error if std_error > 0 else 0.0
        rows.append(pd.DataFrame({
            "n_control": [int(c.n)], "n_treatment": [int(t.n)], "control_value": [c.ratio],
            "treatment_value": [t.ratio], "difference": [difference],
            "relative_lift": [float(relative_lift(difference, c.ratio))], "std_error": [std_error],
            "statistic": [z], "p_value": [2 * stats.norm.sf(abs(z))],
            "ci_low": [difference - z_crit * std_error], "ci_high": [difference + z_crit * std_error],
        }))
    return with_arms(arms, rows)
