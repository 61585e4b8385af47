"""Targeting by predicted uplift: contact a customer only when the expected incremental value pays for the contact.

The policy treats customers whose predicted uplift x value per unit of outcome exceeds the cost of
treating them, best first, optionally capped at a share of the audience. `evaluate_policy` then reads
the policy's incremental outcome off a randomized test set (treated minus control mean among the
targeted customers), so the claim is measured, not assumed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .uplift import UpliftError, check_treatment, check_vector


def _per_customer(value, n: int, parameter: str) -> np.ndarray:
    array = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)) if np.ndim(value) == 0 else \
        check_vector(value, parameter)
    if len(array) != n or not np.isfinite(array).all():
        raise UpliftError(f"{parameter} must be one finite number or one per customer ({n}); got {len(array)}")
    return array


def targeting_policy(uplift, value: float | np.ndarray = 1.0, cost: float | np.ndarray = 0.0,
                     max_share: float = 1.0) -> pd.DataFrame:
    """Who to treat: one row per customer in input order.

    uplift: predicted incremental outcome per customer (e.g. extra conversion probability);
    value: worth of one unit of outcome (e.g. margin per conversion), one number or one per customer;
    cost: cost of treating a customer (e.g. a voucher or contact cost); max_share: at most this share
    of customers is treated (the best by expected net value).
    Columns: predicted_uplift, expected_value, cost, expected_net, rank (1 = best), treat.
    """
    uplift = check_vector(uplift, "uplift")
    n = len(uplift)
    value = _per_customer(value, n, "value")
    cost = _per_customer(cost, n, "cost")
    if not (isinstance(max_share, (int, float)) and 0 < max_share <= 1):
        raise UpliftError(f"max_share is {max_share!r}; pass the largest share to treat, in (0, 1], e.g. 0.3")
    expected_value = uplift * value
    net = expected_value - cost
    order = np.argsort(-net, kind="mergesort")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    treat = (net > 0) & (rank <= int(np.floor(max_share * n)))
    return pd.DataFrame({"predicted_uplift": uplift, "expected_value": expected_value, "cost": cost,
                         "expected_net": net, "rank": rank, "treat": treat})


def evaluate_policy(treat, y, treatment, value: float = 1.0, cost: float | np.ndarray = 0.0,
                    confidence: float = 0.95) -> pd.Series:
    """The policy's measured effect on a randomized test set.

    Among customers the policy targets, the treated-minus-control mean outcome estimates the uplift
    of treating them; times the number targeted it is the incremental outcome the policy would bring.
    Index: customers, targeted, targeted_share, uplift_targeted, uplift_targeted_low/high (CI),
    incremental_outcome (+ low/high), incremental_value, treatment_cost, net_value.
    """
    y = check_vector(y, "y")
    t = check_treatment(treatment, len(y))
    treat = check_vector(treat, "treat") != 0
    if len(treat) != len(y):
        raise UpliftError(f"treat has {len(treat)} flags but y has {len(y)}; pass one flag per customer")
    if not 0 < confidence < 1:
        raise UpliftError(f"confidence is {confidence!r}; pass a level in (0, 1), e.g. 0.95")
    cost = _per_customer(cost, len(y), "cost")
    n_target = int(treat.sum())
    yt, yc = y[treat & (t == 1)], y[treat & (t == 0)]
    if n_target and (len(yt) < 2 or len(yc) < 2):
        raise UpliftError(f"the policy targets {n_target} customers of whom {len(yt)} treated and {len(yc)} "
                          "control; each arm needs at least 2 to measure uplift; use a larger test set")
    if n_target:
        effect = yt.mean() - yc.mean()
        se = np.sqrt(yt.var(ddof=1) / len(yt) + yc.var(ddof=1) / len(yc))
    else:
        effect, se = 0.0, 0.0
    z = stats.norm.ppf(0.5 + confidence / 2)
    incremental = effect * n_target
    spend = float(cost[treat].sum())
    return pd.Series({
        "customers": len(y), "targeted": n_target, "targeted_share": n_target / len(y),
        "uplift_targeted": effect, "uplift_targeted_low": effect - z * se, "uplift_targeted_high": effect + z * se,
        "incremental_outcome": incremental, "incremental_outcome_low": (effect - z * se) * n_target,
        "incremental_outcome_high": (effect + z * se) * n_target,
        "incremental_value": incremental * value, "treatment_cost": spend,
        "net_value": incremental * value - spend})
