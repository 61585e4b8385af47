"""Power, sample size and minimum detectable effect for two-sided tests of proportions and means.

Plan before launching: how many units each arm needs to detect a lift of a given size with the
wanted power, or what lift the traffic you have can detect. Both tails of the rejection region
count towards power. Means use the z approximation with a known standard deviation per unit;
proportions use the pooled rate for the null spread and each arm's own rate for the alternative
(as the two-proportion z test in `fixed_horizon` does). `ratio` is n_treatment / n_control.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, stats

from .inputs import AnalysisError, require_alpha, require_positive

MAX_UNITS = 1e13


def _check_power(power: float, alpha: float) -> float:
    alpha = require_alpha(alpha)
    if not (isinstance(power, (int, float, np.floating)) and alpha < power < 1):
        raise AnalysisError(
            f"power is {power!r}; pass the wanted probability of detecting the effect, above alpha {alpha} and "
            "below 1, e.g. 0.8")
    return float(power)


def _two_sided_power(difference: float, se_null: float, se_alternative: float, alpha: float) -> float:
    crit = stats.norm.isf(alpha / 2)
    return float(stats.norm.sf((crit * se_null - difference) / se_alternative)
                 + stats.norm.cdf((-crit * se_null - difference) / se_alternative))


def _check_baseline(baseline: float) -> float:
    if not (isinstance(baseline, (int, float, np.floating)) and 0 < baseline < 1):
        raise AnalysisError(f"baseline is {baseline!r}; pass the control conversion rate as a share, e.g. 0.03")
    return float(baseline)


def _treatment_rate(baseline: float, mde: float, relative: bool) -> float:
    rate = baseline * (1 + mde) if relative else baseline + mde
    if mde == 0 or not (0 < rate < 1):
        kind = "relative lift (0.05 = +5%)" if relative else "absolute difference in rate (0.003 = +0.3 points)"
        raise AnalysisError(
            f"mde is {mde!r}, giving a treatment rate of {rate:g}; "
            f"pass a non-zero {kind} that keeps the rate in (0, 1)")
    return rate


def power_proportions(baseline: float, mde: float, n_control: float, ratio: float = 1.0, alpha: float = 0.05,
                      relative: bool = False) -> float:
    """Power of the two-proportion z test to detect a change of `mde` from `baseline` with these sizes."""
    baseline = _check_baseline(baseline)
    alpha = require_alpha(alpha)
    ratio = require_positive(ratio, "ratio", "1 (equal arms)")
    n_c = require_positive(n_control, "n_control", "10000")
    p_t = _treatment_rate(baseline, mde, relative)
    n_t = n_c * ratio
    pooled = (baseline * n_c + p_t * n_t) / (n_c + n_t)
    se_null = np.sqrt(pooled * (1 - pooled) * (1 / n_c + 1 / n_t))
    se_alternative = np.sqrt(baseline * (1 - baseline) / n_c + p_t * (1 - p_t) / n_t)
    return _two_sided_power(abs(p_t - baseline), se_null, se_alternative, alpha)


def power_means(mde: float, std: float, n_control: float, ratio: float = 1.0, alpha: float = 0.05) -> float:
    """Power of the z test of two means to detect a difference of `mde` when units vary with `std`."""
    alpha = require_alpha(alpha)
    std = require_positive(std, "std", "the per-unit standard deviation of the metric in the control arm")
    ratio = require_positive(ratio, "ratio", "1 (equal arms)")
    n_c = require_positive(n_control, "n_control", "10000")
    if mde == 0 or not np.isfinite(mde):
        raise AnalysisError(f"mde is {mde!r}; pass the non-zero difference in means to detect, in the metric's units")
    se = std * np.sqrt(1 / n_c + 1 / (n_c * ratio))
    return _two_sided_power(abs(mde), se, se, alpha)


def _solve_n(power_at, target: float) -> float:
    """The n_control at which power_at(n) reaches target (power grows with n)."""
    if power_at(MAX_UNITS) < target:
        raise AnalysisError("no sample size up to 1e13 units reaches that power; detect a larger mde or lower power")
    low = 1e-6
    if power_at(low) >= target:
        return low
    return float(optimize.brentq(lambda n: power_at(n) - target, low, MAX_UNITS, xtol=1e-10, rtol=1e-14))


def _sizes(n_exact: float, ratio: float, **facts) -> pd.DataFrame:
    n_control = int(np.ceil(n_exact - 1e-9))
    n_treatment = int(np.ceil(n_exact * ratio - 1e-9))
    return pd.DataFrame({**{k: [v] for k, v in facts.items()}, "ratio": [ratio], "n_control_exact": [n_exact],
                         "n_control": [n_control], "n_treatment": [n_treatment],
                         "n_total": [n_control + n_treatment]})


def sample_size_proportions(baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8,
                            ratio: float = 1.0, relative: bool = False) -> pd.DataFrame:
    """Units per arm to detect a change of `mde` in a conversion rate of `baseline`.

    One row: baseline, mde, alpha, power, ratio, n_control_exact (the unrounded solution),
    n_control, n_treatment (rounded up) and n_total.
    """
    target = _check_power(power, alpha)
    power_proportions(baseline, mde, 1.0, ratio, alpha, relative)  # validates every parameter
    n = _solve_n(lambda n_c: power_proportions(baseline, mde, n_c, ratio, alpha, relative), target)
    return _sizes(n, float(ratio), baseline=baseline, mde=mde, alpha=alpha, power=target)


def sample_size_means(mde: float, std: float, alpha: float = 0.05, power: float = 0.8,
                      ratio: float = 1.0) -> pd.DataFrame:
    """Units per arm to detect a difference of `mde` in a mean whose units vary with `std`.

    One row: mde, std, alpha, power, ratio, n_control_exact, n_control, n_treatment, n_total.
    """
    target = _check_power(power, alpha)
    power_means(mde, std, 1.0, ratio, alpha)
    n = _solve_n(lambda n_c: power_means(mde, std, n_c, ratio, alpha), target)
    return _sizes(n, float(ratio), mde=mde, std=std, alpha=alpha, power=target)


def minimum_detectable_effect_proportions(baseline: float, n_control: float, alpha: float = 0.05,
                                          power: float = 0.8, ratio: float = 1.0) -> pd.DataFrame:
    """The smallest rise in a conversion rate these sizes detect with the given power.

    One row: baseline, n_control, ratio, alpha, power, mde (absolute), relative_mde, treatment_rate.
    """
    target = _check_power(power, alpha)
    baseline = _check_baseline(baseline)
    power_proportions(baseline, min(1e-6, (1 - baseline) / 2), n_control, ratio, alpha)
    top = 1 - baseline - 1e-12
    if power_proportions(baseline, top, n_control, ratio, alpha) < target:
        raise AnalysisError(f"n_control {n_control!r} cannot reach power {target} for any rise from {baseline}; "
                            "add units or lower the power")
    mde = float(optimize.brentq(lambda d: power_proportions(baseline, d, n_control, ratio, alpha) - target,
                                1e-12, top, xtol=1e-15, rtol=1e-13))
    return pd.DataFrame({"baseline": [baseline], "n_control": [n_control], "ratio": [ratio], "alpha": [alpha],
                         "power": [target], "mde": [mde], "relative_mde": [mde / baseline],
                         "treatment_rate": [baseline + mde]})


def minimum_detectable_effect_means(std: float, n_control: float, alpha: float = 0.05, power: float = 0.8,
                                    ratio: float = 1.0) -> pd.DataFrame:
    """The smallest difference in means these sizes detect with the given power.

    One row: std, n_control, ratio, alpha, power, mde (in the metric's units), standardized_mde (mde / std).
    """
    target = _check_power(power, alpha)
    power_means(1.0, std, n_control, ratio, alpha)
    se = std * np.sqrt(1 / n_control + 1 / (n_control * ratio))
    mde = float(optimize.brentq(lambda d: power_means(d, std, n_control, ratio, alpha) - target,
                                1e-12 * se, 100 * se, xtol=1e-15 * se, rtol=1e-13))
    return pd.DataFrame({"std": [std], "n_control": [n_control], "ratio": [ratio], "alpha": [alpha],
                         "power": [target], "mde": [mde], "standardized_mde": [mde / std]})
