"""One tidy table for an experiment: every metric, every arm against control, overall and per segment.

Each row is one (segment, metric, arm) comparison with the fixed-horizon test suited to the metric
(two-proportion z for conversion, Welch t for means, optionally CUPED-adjusted, delta-method z
for ratios), the Bayesian probability to beat control and expected loss, and p-values corrected
for multiplicity across the metrics and arms of the same segment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .bayesian import normal_posterior, probability_to_beat_from_counts
from .corrections import METHODS, adjust_p_values
from .cuped import cuped_adjust, cuped_summary
from .fixed_horizon import two_proportion_test, welch_test
from .inputs import AnalysisError, arms_against_control, require_alpha, require_columns
from .metrics import Metric, as_metrics
from .ratio_metrics import ratio_metric_test

ALL = "all"
READOUT_COLUMNS = [
    "segment_column", "segment", "metric", "kind", "method", "control", "arm", "n_control", "n_treatment",
    "control_value", "treatment_value", "difference", "relative_lift", "std_error", "ci_low", "ci_high",
    "p_value", "p_value_adjusted", "is_significant", "probability_to_beat", "expected_loss", "variance_reduction",
]


def _metric_rows(frame: pd.DataFrame, arm_col: str, metric: Metric, control: str, arms: list[str],
                 alpha: float, draws: int | None, seed: int) -> pd.DataFrame:
    """The comparisons of one metric in one slice of the frame, with Bayesian columns."""
    variance_reduction = np.nan
    if metric.kind == "proportion":
        tests = two_proportion_test(frame, arm_col, metric.column, control, arms, alpha)
        method = "two-proportion z"
        controls = tests.control_value * tests.n_control
        posterior = pd.concat([probability_to_beat_from_counts(
            round(cx), n_c, round(tx), n_t, draws=draws, seed=seed)
            for cx, n_c, tx, n_t in zip(controls, tests.n_control, tests.treatment_value * tests.n_treatment,
                                        tests.n_treatment)], ignore_index=True)
    elif metric.kind == "ratio":
        tests = ratio_metric_test(frame, arm_col, metric.column, metric.denominator, control, arms, alpha)
        method = "delta-method z"
        posterior = normal_posterior(tests.difference.to_numpy(), tests.std_error.to_numpy())
    elif metric.covariate is not None:
        in_test = frame[frame[arm_col].astype(str).isin([control, *arms])]
        adjusted = cuped_adjust(in_test, metric.column, metric.covariate, arm_col, column="__adjusted__")
        tests = welch_test(adjusted, arm_col, "__adjusted__", control, arms, alpha)
        variance_reduction = float(cuped_summary(in_test, metric.column, metric.covariate, arm_col)
                                   .variance_reduction.iloc[0])
        method = "welch t, CUPED"
        posterior = normal_posterior(tests.difference.to_numpy(), tests.std_error.to_numpy())
    else:
        tests = welch_test(frame, arm_col, metric.column, control, arms, alpha)
        method = "welch t"
        posterior = normal_posterior(tests.difference.to_numpy(), tests.std_error.to_numpy())
    result = tests.drop(columns=[c for c in ("statistic", "df") if c in tests.columns])
    result["probability_to_beat"] = posterior.probability_to_beat.to_numpy()
    result["expected_loss"] = posterior.expected_loss.to_numpy()
    result["variance_reduction"] = variance_reduction
    result["metric"], result["kind"], result["method"], result["control"] = metric.name, metric.kind, method, control
    return result


def _slice_rows(frame, arm_col, metrics, control, arms, alpha, correction, draws, seed) -> pd.DataFrame:
    rows = pd.concat([_metric_rows(frame, arm_col, m, control, arms, alpha, draws, seed) for m in metrics],
                     ignore_index=True)
    adjusted = adjust_p_values(rows.p_value.to_numpy(), correction, alpha)
    rows["p_value_adjusted"] = adjusted.p_value_adjusted.to_numpy()
    rows["is_significant"] = adjusted.is_significant.to_numpy()
    return rows


def readout(frame: pd.DataFrame, arm_col: str, metrics, control: str = "control",
            treatments: Sequence[str] | None = None, alpha: float = 0.05, correction: str = "holm",
            segments: Sequence[str] = (), min_segment_units: int = 2, draws: int | None = None,
            seed: int = 0) -> pd.DataFrame:
    """The experiment's readout from one row per unit.

    metrics: column names (0/1 columns are conversions, others means) or `Metric` objects.
    correction: "holm" (family-wise) or "bh" (false discovery rate), applied across all metrics and
    arms within each segment. segments: columns to break the readout down by; a segment value is
    left out when an arm has fewer than `min_segment_units` units in it. draws/seed: Monte Carlo
    for the Beta-Binomial columns when exact sums are not possible or `draws` is set.

    Columns (`READOUT_COLUMNS`): segment_column and segment ("all" for the whole experiment),
    metric, kind, method, control, arm, n_control, n_treatment, control_value, treatment_value,
    difference (arm - control), relative_lift, std_error, ci_low, ci_high (of the difference),
    p_value (two-sided), p_value_adjusted, is_significant (adjusted p <= alpha),
    probability_to_beat (control), expected_loss (of shipping the arm, metric units),
    variance_reduction (CUPED share of variance removed; NaN without a covariate).
    """
    alpha = require_alpha(alpha)
    if correction not in METHODS:
        raise AnalysisError(f"correction is {correction!r}; pass 'holm' (family-wise error) or 'bh' (false discovery)")
    if isinstance(segments, str):
        segments = [segments]
    require_columns(frame, [arm_col, *segments])
    metric_list = as_metrics(frame, metrics)
    arms = arms_against_control(frame, arm_col, control, treatments)
    overall = _slice_rows(frame, arm_col, metric_list, control, arms, alpha, correction, draws, seed)
    overall["segment_column"], overall["segment"] = ALL, ALL
    parts = [overall]
    arm_values = frame[arm_col].astype(str)
    for column in segments:
        for value in sorted(frame[column].dropna().unique(), key=str):
            in_segment = frame[column] == value
            sizes = arm_values[in_segment].value_counts()
            if min(int(sizes.get(arm, 0)) for arm in [control, *arms]) < max(min_segment_units, 2):
                continue
            rows = _slice_rows(frame[in_segment], arm_col, metric_list, control, arms, alpha, correction, draws, seed)
            rows["segment_column"], rows["segment"] = column, str(value)
            parts.append(rows)
    return pd.concat(parts, ignore_index=True)[READOUT_COLUMNS]
