"""CUPED: less variance, the same expected lift, by adjusting a metric with a pre-experiment covariate.

Deng, Xu, Kohavi & Walker, "Improving the Sensitivity of Online Controlled Experiments by Utilizing
Pre-Experiment Data" (WSDM 2013). With X measured before assignment (e.g. last quarter's revenue),
Y_adj = Y - theta (X - mean X) and theta = cov(Y, X) / var(X). X cannot be moved by the treatment,
so arm means of Y_adj differ by the same amount in expectation, while the variance shrinks by the
share rho^2 that X explains. theta is pooled within arms so a real effect does not bias it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inputs import AnalysisError, require_columns, require_numeric


def _centered(values: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Values minus their group's mean (or the overall mean without groups)."""
    if groups is None:
        return values - values.mean()
    codes, uniques = pd.factorize(groups)
    means = np.bincount(codes, weights=values, minlength=len(uniques)) / np.bincount(codes, minlength=len(uniques))
    return values - means[codes]


def _pooled(frame: pd.DataFrame, metric: str, covariate: str, arm_col: str | None):
    columns = [metric, covariate] + ([arm_col] if arm_col else [])
    require_columns(frame, columns)
    if len(frame) < 3:
        raise AnalysisError(f"frame has {len(frame)} row(s); CUPED needs at least 3 units")
    y, x = require_numeric(frame, metric), require_numeric(frame, covariate)
    groups = frame[arm_col].astype(str).to_numpy() if arm_col else None
    yc, xc = _centered(y, groups), _centered(x, groups)
    sxx = float(xc @ xc)
    if sxx <= 0:
        raise AnalysisError(
            f"covariate {covariate!r} does not vary within arms, so it cannot explain {metric!r}; "
            "pick a pre-period covariate that differs between units (e.g. revenue in the 30 days before)")
    return y, x, yc, xc, sxx


def cuped_theta(frame: pd.DataFrame, metric: str, covariate: str, arm_col: str | None = None) -> float:
    """theta = cov(metric, covariate) / var(covariate), pooled within arms when `arm_col` is given."""
    _, _, yc, xc, sxx = _pooled(frame, metric, covariate, arm_col)
    return float(xc @ yc / sxx)


def cuped_adjust(frame: pd.DataFrame, metric: str, covariate: str, arm_col: str | None = None,
                 column: str | None = None) -> pd.DataFrame:
    """A copy of `frame` with the adjusted metric in `column` (default "<metric>_cuped").

    The adjustment subtracts theta (X - overall mean of X), so the adjusted overall mean equals the
    metric's and arm differences keep their meaning and units.
    """
    y, x, yc, xc, sxx = _pooled(frame, metric, covariate, arm_col)
    theta = xc @ yc / sxx
    adjusted = frame.copy()
    adjusted[column or f"{metric}_cuped"] = y - theta * (x - x.mean())
    return adjusted


def cuped_summary(frame: pd.DataFrame, metric: str, covariate: str, arm_col: str | None = None) -> pd.DataFrame:
    """One row: metric, covariate, theta, correlation, variance_before, variance_after, variance_reduction.

    Variances are pooled within arms (the noise the test sees); variance_reduction =
    1 - variance_after / variance_before, which equals correlation^2 for this theta.
    """
    _, _, yc, xc, sxx = _pooled(frame, metric, covariate, arm_col)
    theta = float(xc @ yc / sxx)
    syy = float(yc @ yc)
    residual = yc - theta * xc
    after = float(residual @ residual)
    correlation = float(xc @ yc / np.sqrt(sxx * syy)) if syy > 0 else 0.0
    dof = len(yc) - (frame[arm_col].nunique() if arm_col else 1)
    return pd.DataFrame({
        "metric": [metric], "covariate": [covariate], "theta": [theta], "correlation": [correlation],
        "variance_before": [syy / dof], "variance_after": [after / dof],
        "variance_reduction": [1 - after / syy if syy > 0 else 0.0],
    })
