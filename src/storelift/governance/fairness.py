"""Fairness audits of decisions about customers (who is targeted, who is scored a churn risk, who is
offered a price): per protected attribute, the selection rate of each group, the demographic parity
and equalized odds differences (fairlearn), and the disparate impact ratio with the 80% rule.

A group is flagged when its disparate impact ratio is below the rule's 0.8 AND its selection rate
differs significantly from the most selected group's (two-proportion z test, p < alpha), so small
groups do not raise alarms by chance. Mitigation post-processes a fitted scorer's thresholds per
group (fairlearn's ThresholdOptimizer) and reports the audit before and after.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import StoreliftError

AUDIT_COLUMNS = ["attribute", "group", "units", "selection_rate", "disparate_impact", "demographic_parity_difference",
                 "equalized_odds_difference", "p_value", "flagged"]


class FairnessError(StoreliftError, ValueError):
    """The audit cannot be computed from what was given."""


def _fairlearn():
    try:
        import fairlearn.metrics  # noqa: F401
        import fairlearn.postprocessing  # noqa: F401
    except ImportError as error:  # pragma: no cover - depends on the install
        raise FairnessError("fairness audits need fairlearn; install the governance extra: "
                            "pip install 'storelift[governance]'") from error
    import fairlearn

    return fairlearn


def fairness_audit(selected, sensitive: pd.DataFrame, y_true=None, *, rule: float = 0.8,
                   alpha: float = 0.01) -> pd.DataFrame:
    """One row per protected attribute and group. selected: 0/1 decision per unit (targeted, flagged,
    offered); sensitive: one column per protected attribute; y_true: the outcome, for equalized odds
    (NaN without it). Columns: AUDIT_COLUMNS."""
    fairlearn = _fairlearn()
    chosen = np.asarray(selected).astype(int)
    if sensitive.empty or len(sensitive) != chosen.size:
        raise FairnessError(f"sensitive has {len(sensitive)} rows and selected {chosen.size}; pass one row of "
                            "protected attributes per decision")
    if not set(np.unique(chosen)) <= {0, 1}:
        raise FairnessError("selected must be 0/1 per unit (1 = targeted, flagged or offered)")
    rows = []
    for attribute in sensitive.columns:
        groups = sensitive[attribute].astype(str).to_numpy()
        # demographic parity reads the decisions only; fairlearn's signature still wants a y_true
        dpd = fairlearn.metrics.demographic_parity_difference(chosen, chosen, sensitive_features=groups)
        eod = np.nan if y_true is None else fairlearn.metrics.equalized_odds_difference(
            np.asarray(y_true).astype(int), chosen, sensitive_features=groups)
        rates = pd.Series(chosen).groupby(groups).agg(["mean", "size"])
        top = rates["mean"].idxmax()
        for group, (rate, units) in rates.iterrows():
            ratio = rate / rates.loc[top, "mean"] if rates.loc[top, "mean"] > 0 else 1.0
            p = 1.0 if group == top else _two_proportion_p(rate, units, rates.loc[top, "mean"], rates.loc[top, "size"])
            rows.append({"attribute": attribute, "group": group, "units": int(units), "selection_rate": float(rate),
                         "disparate_impact": float(ratio), "demographic_parity_difference": float(dpd),
                         "equalized_odds_difference": float(eod), "p_value": float(p),
                         "flagged": bool(ratio < rule and p < alpha)})
    return pd.DataFrame(rows, columns=AUDIT_COLUMNS)


def _two_proportion_p(rate_a: float, n_a: int, rate_b: float, n_b: int) -> float:
    pooled = (rate_a * n_a + rate_b * n_b) / (n_a + n_b)
    se = np.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    return 1.0 if se == 0 else float(2 * stats.norm.sf(abs(rate_a - rate_b) / se))


def mitigate_thresholds(scorer, X: pd.DataFrame, y, sensitive: pd.Series, constraint: str = "demographic_parity"):
    """A fairlearn ThresholdOptimizer around a fitted scorer (predict_proba), fitted on (X, y) per group;
    its `predict(X, sensitive_features=..., random_state=...)` gives the mitigated 0/1 decisions."""
    fairlearn = _fairlearn()
    if constraint not in ("demographic_parity", "equalized_odds", "true_positive_rate_parity"):
        raise FairnessError(f"constraint {constraint!r}: use demographic_parity, equalized_odds or "
                            "true_positive_rate_parity")
    optimizer = fairlearn.postprocessing.ThresholdOptimizer(
        estimator=scorer, constraints=constraint, prefit=True, predict_method="predict_proba")
    optimizer.fit(X, np.asarray(y), sensitive_features=np.asarray(sensitive).astype(str))
    return optimizer
