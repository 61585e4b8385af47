"""Multiple-testing corrections across the metrics and arms of one readout.

Reading five metrics on three arms gives fifteen chances of a false positive. Holm's step-down
method (Holm 1979) keeps the family-wise error rate at alpha; Benjamini-Hochberg (1995) keeps the
expected share of false discoveries at alpha and rejects more when many effects are real.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inputs import AnalysisError, require_alpha

METHODS = ("holm", "bh")


def _checked(p_values) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if p.size == 0:
        raise AnalysisError("p_values is empty; pass one p-value per metric and arm")
    if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
        raise AnalysisError(f"p_values holds {p[~((p >= 0) & (p <= 1))][:3].tolist()}; pass p-values in [0, 1]")
    return p


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values, in the order given."""
    p = _checked(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(np.maximum.accumulate(p[order] * np.arange(m, 0, -1)), 1.0)
    result = np.empty(m)
    result[order] = adjusted
    return result


def benjamini_hochberg(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given."""
    p = _checked(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    result = np.empty(m)
    result[order] = adjusted
    return result


def adjust_p_values(p_values, method: str = "holm", alpha: float = 0.05) -> pd.DataFrame:
    """Columns p_value, p_value_adjusted, is_significant (adjusted <= alpha), keeping a Series' index."""
    alpha = require_alpha(alpha)
    if method not in METHODS:
        raise AnalysisError(f"method is {method!r}; pass 'holm' (family-wise error) or 'bh' (false discovery rate)")
    adjusted = holm(p_values) if method == "holm" else benjamini_hochberg(p_values)
    index = p_values.index if isinstance(p_values, pd.Series) else None
    return pd.DataFrame({"p_value": np.asarray(p_values, dtype=np.float64).ravel(), "p_value_adjusted": adjusted,
                         "is_significant": adjusted <= alpha}, index=index)
