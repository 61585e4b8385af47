"""Performance decay: once the labels of a scored period arrive, is the model still as good as when it
was validated?

`performance_decay` compares ROC AUC and Brier score on the reference period (the model's validation)
with the newly labelled period. AUC's drop is judged against its sampling noise (a
stratified bootstrap of both periods), so a small period does not raise false alarms; an alert row
says which metric decayed, by how much, and that a retrain is due.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

from ..errors import StoreliftError

DECAY_COLUMNS = ("metric", "reference", "current", "change", "ci_low", "ci_high", "alert", "explanation")


class DecayError(StoreliftError, ValueError):
    """Scores or labels cannot be compared (lengths differ, one class only, values outside 0..1)."""

    exit_code = 2


def _checked(scores, labels, name: str) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    if s.shape != y.shape or s.ndim != 1:
        raise DecayError(f"{name}: {s.shape[0] if s.ndim else 0} scores and {y.shape[0] if y.ndim else 0} labels; "
                         "pass one score and one 0/1 label per customer")
    if not np.isfinite(s).all() or (s < 0).any() or (s > 1).any():
        raise DecayError(f"{name}: scores must be probabilities in 0..1 (the model's predict_proba)")
    if len(np.unique(y)) < 2:
        raise DecayError(f"{name}: the labels hold one class only; wait until both outcomes have been observed")
    return s, y


def _bootstrap_auc(s: np.ndarray, y: np.ndarray, rng, draws: int) -> np.ndarray:
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    out = np.empty(draws)
    for i in range(draws):
        rows = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        out[i] = roc_auc_score(y[rows], s[rows])
    return out


def performance_decay(reference_scores, reference_labels, current_scores, current_labels, *,
                      max_auc_drop: float = 0.02, draws: int = 300, seed: int = 0) -> pd.DataFrame:
    """One row per metric (DECAY_COLUMNS). An alert needs confidence that the decay is material: AUC
    alerts when the whole 95% bootstrap interval of its change lies below -`max_auc_drop`, Brier when
    the whole interval of its change lies above a tenth of the reference's Brier score."""
    rs, ry = _checked(reference_scores, reference_labels, "reference")
    cs, cy = _checked(current_scores, current_labels, "current")
    rng = np.random.default_rng(seed)
    auc_change = _bootstrap_auc(cs, cy, rng, draws) - _bootstrap_auc(rs, ry, rng, draws)
    ref_auc, cur_auc = roc_auc_score(ry, rs), roc_auc_score(cy, cs)
    lo, hi = np.quantile(auc_change, [0.025, 0.975])
    auc_alert = bool(hi < -max_auc_drop)

    ref_brier, cur_brier = brier_score_loss(ry, rs), brier_score_loss(cy, cs)
    brier_change = np.empty(draws)
    for i in range(draws):
        a, b = rng.integers(0, rs.size, rs.size), rng.integers(0, cs.size, cs.size)
        brier_change[i] = brier_score_loss(cy[b], cs[b]) - brier_score_loss(ry[a], rs[a])
    blo, bhi = np.quantile(brier_change, [0.025, 0.975])
    brier_alert = bool(blo > 0.1 * ref_brier)

    rows = [
        ("roc_auc", ref_auc, cur_auc, cur_auc - ref_auc, lo, hi, auc_alert,
         f"ranking fell from {ref_auc:.3f} to {cur_auc:.3f}: retrain" if auc_alert else "ranking holds"),
        ("brier", ref_brier, cur_brier, cur_brier - ref_brier, blo, bhi, brier_alert,
         f"calibration worsened from {ref_brier:.4f} to {cur_brier:.4f}: retrain or recalibrate" if brier_alert
         else "calibration holds"),
    ]
    return pd.DataFrame(rows, columns=list(DECAY_COLUMNS))
