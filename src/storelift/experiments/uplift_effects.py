"""Average effect of each arm against control, with confidence intervals, for the outcomes of a randomized test.

A 0/1 outcome gets the difference of proportions with the unpooled normal standard error
sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0); any other outcome gets Welch's t (unequal variances,
Welch-Satterthwaite degrees of freedom). These are the figures uplift models are judged against:
the average a model's per-customer estimates should add up to.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .uplift import UpliftError


def _difference(treated: np.ndarray, control: np.ndarray, binary: bool, confidence: float) -> dict:
    n1, n0 = len(treated), len(control)
    m1, m0 = treated.mean(), control.mean()
    if binary:
        v1, v0 = m1 * (1 - m1), m0 * (1 - m0)
    else:
        v1, v0 = treated.var(ddof=1), control.var(ddof=1)
    se = float(np.sqrt(v1 / n1 + v0 / n0))
    effect = float(m1 - m0)
    if binary:
        dof = np.inf
        stat = effect / se if se > 0 else np.nan
        p = 2 * stats.norm.sf(abs(stat)) if se > 0 else np.nan
        crit = stats.norm.ppf(0.5 + confidence / 2)
    else:
        num = (v1 / n1 + v0 / n0) ** 2
        den = (v1 / n1) ** 2 / (n1 - 1) + (v0 / n0) ** 2 / (n0 - 1)
        dof = num / den if den > 0 else np.nan
        stat = effect / se if se > 0 else np.nan
        p = 2 * stats.t.sf(abs(stat), dof) if se > 0 else np.nan
        crit = stats.t.ppf(0.5 + confidence / 2, dof) if se > 0 else np.nan
    return {"n_treated": n1, "n_control": n0, "mean_treated": m1, "mean_control": m0, "effect": effect,
            "relative_effect": effect / m0 if m0 != 0 else np.nan, "se": se, "ci_low": effect - crit * se,
            "ci_high": effect + crit * se, "statistic": stat, "dof": dof, "p_value": p,
            "method": "difference of proportions (z)" if binary else "Welch t"}


def arm_effects(frame: pd.DataFrame, arm: str, control: str, outcomes: Sequence[str],
                treatments: Sequence[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """One row per (treatment arm, outcome): means, effect (treated - control), CI, test statistic, p-value.

    frame: one row per unit; arm: the column naming each unit's arm; control: the control arm's name;
    outcomes: numeric outcome columns; treatments: arms to compare (default: every other arm, in order seen).
    """
    if not isinstance(frame, pd.DataFrame):
        raise UpliftError(f"frame is a {type(frame).__name__}; pass a pandas DataFrame with one row per unit")
    missing = [c for c in [arm, *outcomes] if c not in frame.columns]
    if missing:
        raise UpliftError(f"frame has no column {missing[0]!r} (columns: {list(frame.columns)}); pass the right name")
    if not 0 < confidence < 1:
        raise UpliftError(f"confidence is {confidence!r}; pass a level in (0, 1), e.g. 0.95")
    arms = frame[arm].astype(str)
    seen = list(pd.unique(arms))
    if control not in seen:
        raise UpliftError(f"control arm {control!r} is not in column {arm!r} (arms: {seen}); pass control= one of them")
    others = [a for a in seen if a != control] if treatments is None else list(treatments)
    for name in others:
        if name not in seen or name == control:
            raise UpliftError(f"treatment arm {name!r} is not a non-control arm of {arm!r} (arms: {seen})")
    rows = []
    for outcome in outcomes:
        values = pd.to_numeric(frame[outcome], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(values).all():
            row = frame.index[int(np.argmax(~np.isfinite(values)))]
            raise UpliftError(f"column {outcome!r} row {row!r} is not a finite number; fill or drop it first")
        binary = bool(np.isin(values, (0.0, 1.0)).all())
        base = values[(arms == control).to_numpy()]
        for name in others:
            treated = values[(arms == name).to_numpy()]
            if min(len(treated), len(base)) < 2:
                raise UpliftError(f"arm {name!r} or control {control!r} has fewer than 2 units; need 2 per arm")
            rows.append({"arm": name, "outcome": outcome, **_difference(treated, base, binary, confidence)})
    return pd.DataFrame(rows)
