"""Sample-ratio mismatch: do the observed arm sizes fit the designed split?

A mismatch means assignment or logging is broken (bots filtered in one arm, a redirect that drops
users), and no lift estimate from that experiment can be trusted. The check is Pearson's
chi-square goodness of fit of the observed counts against the designed weights; the conventional
alarm level is p < 0.001 because the check runs on every experiment, often many times.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from .assignment import BUCKETS, HOLDOUT_ARM, Experiment
from .inputs import AnalysisError

DEFAULT_SRM_THRESHOLD = 0.001


def designed_shares(experiment: Experiment) -> pd.Series:
    """The share of units each arm (and "holdout", when the experiment has one) gets by design,
    exact to the bucket, so the check does not flag the rounding of weights to buckets."""
    ends = experiment.bucket_ends
    arm_share = np.diff(np.concatenate([[0], ends])) / BUCKETS
    held = round(experiment.holdout_share * BUCKETS) / BUCKETS
    shares = pd.Series(arm_share * (1 - held), index=[a for a, _ in experiment.arms], dtype=np.float64)
    if held > 0:
        shares[HOLDOUT_ARM] = held
    return shares


def sample_ratio_check(observed: Mapping[str, int] | pd.Series,
                       design: Mapping[str, float] | pd.Series | Experiment,
                       threshold: float = DEFAULT_SRM_THRESHOLD) -> pd.DataFrame:
    """Chi-square test of the observed arm counts against the designed weights.

    observed: units per arm, e.g. ``frame[arm_col].value_counts()``.
    design: relative weights per arm (``{"control": 1, "treatment": 1}``) or the `Experiment`.
    Returns one row per arm: arm, observed, expected (count under the design), observed_share,
    expected_share, then the test, repeated on every row: chi2, dof, p_value, is_mismatch
    (p_value < threshold).
    """
    if not (0 < threshold < 1):
        raise AnalysisError(f"threshold is {threshold!r}; pass a p-value level between 0 and 1, e.g. 0.001")
    weights = designed_shares(design) if isinstance(design, Experiment) else pd.Series(design, dtype=np.float64)
    counts = pd.Series(observed)
    unknown = [str(a) for a in counts.index if a not in weights.index]
    if unknown:
        raise AnalysisError(
            f"observed arm {unknown[0]!r} is not in the design {list(weights.index)}; "
            "drop it (e.g. the holdout) or add it to the design with its weight")
    if len(weights) < 2:
        raise AnalysisError(f"the design has {len(weights)} arm; a ratio check needs at least 2 arms")
    if not (np.isfinite(weights.to_numpy()).all() and (weights > 0).all()):
        raise AnalysisError(f"design weights are {weights.to_dict()}; pass a number > 0 for every arm")
    counts = counts.reindex(weights.index, fill_value=0)
    values = pd.to_numeric(counts, errors="coerce").to_numpy(dtype=np.float64)
    if not (np.isfinite(values).all() and (values >= 0).all() and (values == np.round(values)).all()):
        raise AnalysisError(f"observed counts are {counts.to_dict()}; pass whole numbers >= 0 per arm")
    total = values.sum()
    if total == 0:
        raise AnalysisError("observed counts are all 0; run the check once units have been assigned")
    share = weights.to_numpy() / weights.sum()
    expected = share * total
    chi2 = float(((values - expected) ** 2 / expected).sum())
    dof = len(values) - 1
    p_value = float(stats.chi2.sf(chi2, dof))
    return pd.DataFrame({
        "arm": [str(a) for a in weights.index], "observed": values.astype(np.int64), "expected": expected,
        "observed_share": values / total, "expected_share": share,
        "chi2": chi2, "dof": dof, "p_value": p_value, "is_mismatch": p_value < threshold,
    })
