"""Drift between a reference sample and a current one, per feature or score: the population stability
index (PSI, on the reference's quantile bins) and the two-sample Kolmogorov-Smirnov test.

A feature drifts when PSI >= psi_alert (0.2 is the common "significant shift" rule) or the KS p-value
is below ks_alpha after a Bonferroni correction over the features checked, so checking many features
does not raise alerts by chance. The result is one row per feature, with an alert flag and the
retrain trigger that a scheduler can act on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import StoreliftError

DRIFT_COLUMNS = ["feature", "psi", "ks_statistic", "ks_p_value", "reference_mean", "current_mean", "alert",
                 "reason"]


class DriftError(StoreliftError, ValueError):
    """The samples cannot be compared."""


def population_stability_index(reference, current, bins: int = 10) -> float:
    """PSI = sum((c - r) * ln(c / r)) over the reference's quantile bins (shares floored at 1e-4, so an
    empty bin counts as rare, not impossible)."""
    ref = _finite(reference, "reference")
    cur = _finite(current, "current")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)))
    if edges.size < 2:  # a constant reference: one bin for its value, one for everything else
        r, c = np.array([1.0, 0.0]), np.array([np.mean(cur == edges[0]), np.mean(cur != edges[0])])
    else:
        inner = edges[1:-1]
        r = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=inner.size + 1) / ref.size
        c = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=inner.size + 1) / cur.size
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def _finite(values, name: str) -> np.ndarray:
    array = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    array = array[np.isfinite(array)]
    if array.size < 2:
        raise DriftError(f"{name} has {array.size} finite values; pass at least 2 numbers per feature")
    return array


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, features=None, *, psi_alert: float = 0.2,
                 ks_alpha: float = 0.01, bins: int = 10) -> pd.DataFrame:
    """One row per numeric feature shared by both frames (or `features`). Columns: DRIFT_COLUMNS."""
    if features is None:
        features = [c for c in reference.columns if c in current.columns
                    and pd.api.types.is_numeric_dtype(reference[c]) and not pd.api.types.is_bool_dtype(reference[c])]
    missing = [f for f in features if f not in reference.columns or f not in current.columns]
    if missing:
        raise DriftError(f"feature(s) {missing} are not in both frames; pass features present in both")
    if not features:
        raise DriftError("no numeric feature is shared by the two frames; pass features=[...]")
    alpha = ks_alpha / len(features)  # Bonferroni: many features, one family-wise false-alarm rate
    rows = []
    for feature in features:
        ref, cur = _finite(reference[feature], f"reference[{feature!r}]"), _finite(current[feature], f"current[{feature!r}]")
        psi = population_stability_index(ref, cur, bins)
        ks = stats.ks_2samp(ref, cur, method="asymp" if ref.size * cur.size > 1_000_000 else "auto")
        reasons = []
        if psi >= psi_alert:
            reasons.append(f"PSI {psi:.3f} >= {psi_alert}")
        if ks.pvalue < alpha:
            reasons.append(f"KS p {ks.pvalue:.2g} < {alpha:.2g}")
        rows.append({"feature": feature, "psi": psi, "ks_statistic": float(ks.statistic),
                     "ks_p_value": float(ks.pvalue), "reference_mean": float(ref.mean()),
                     "current_mean": float(cur.mean()), "alert": bool(reasons), "reason": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def retrain_needed(report: pd.DataFrame) -> bool:
    """The retrain trigger: any feature or score in alert."""
    return bool(report["alert"].any())
