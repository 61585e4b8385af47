"""A differentially private segment report of a workspace: noisy customer counts and noisy sums of
`monetary` per segment of the latest scoring run, paid for from the workspace's epsilon budget.

Columns: the `by` column, then RELEASE_COLUMNS of storelift.governance.privacy (statistic is "customers"
or "sum of monetary"). attrs: model_version, as_of, epsilon, epsilon_remaining, monetary_bounds,
dropped_customers(_accuracy_95) and dropped_sum(_accuracy_95) for customers outside the listed segments.
"""

from __future__ import annotations

import pandas as pd

from .privacy import check_bounds, private_counts, private_sums
from .privacy_budget import DifferentialPrivacyError, WorkspaceBudget, check_epsilon

# Each customer's net spend is clamped into this range before summing. Set it from what the store knows
# (a typical large customer's lifetime spend), never from the data being released: such bounds leak.
MONETARY_BOUNDS = (0.0, 5_000.0)
SEGMENT_COLUMNS = ("rfm_segment", "rfm_cell", "cluster", "cluster_name")


def _public_segments(by: str, segments):
    if segments is not None:
        return list(segments)
    if by == "rfm_segment":
        from ..customers.rfm import SEGMENT_RULES

        return [rule.name for rule in SEGMENT_RULES]
    raise DifferentialPrivacyError(f"segments is not given for by={by!r}; pass the public list of its values "
                                   "(only rfm_segment has a fixed list: the named RFM segments)")


def latest_scores(ws, by: str) -> tuple[pd.DataFrame, dict]:
    """customer_id, `by` and monetary of the newest scoring run in customer_scores, and that run's id."""
    from ..warehouse import fetch

    table = ws.warehouse.table("customer_scores")
    head = fetch(table.order_by([table.scored_at.desc(), table.as_of.desc(), table.model_version.desc()])
                 .select("model_version", "as_of").limit(1))
    if head.empty:
        raise DifferentialPrivacyError("customer_scores is empty; run `storelift customers score` first")
    run = {"model_version": str(head.at[0, "model_version"]), "as_of": pd.Timestamp(head.at[0, "as_of"])}
    rows = table.filter((table.model_version == run["model_version"]) & (table.as_of == run["as_of"]))
    return fetch(rows.select("customer_id", by, "monetary")), run


class _RunLedger:
    """Charges a budget, naming the scoring run a release came from in the ledger."""

    def __init__(self, budget: WorkspaceBudget, source: str):
        self.budget, self.source = budget, source

    def charge(self, epsilon: float, what: str) -> dict:
        return self.budget.charge(epsilon, f"{what} from {self.source}")


def dp_segment_report(ws, epsilon: float = 1.0, by: str = "rfm_segment", *, segments=None,
                      monetary_bounds=MONETARY_BOUNDS, count_share: float = 0.5) -> pd.DataFrame:
    """Noisy customers and sum of monetary per segment of the latest customer_scores run. `epsilon` is
    split: count_share of it for the counts, the rest for the sums; both spends are recorded in
    `<workspace>/privacy_budget.json` before any noise is drawn, and refused when the budget is short."""
    epsilon = check_epsilon(epsilon)
    if not 0 < count_share < 1:
        raise DifferentialPrivacyError(f"count_share is {count_share!r}; pass the share of epsilon for the "
                                       "counts, strictly between 0 and 1 (the rest pays for the sums)")
    lo, hi = check_bounds(monetary_bounds)
    if by not in SEGMENT_COLUMNS:
        raise DifferentialPrivacyError(f"by is {by!r}; pick a segment column of customer_scores: "
                                       f"{', '.join(SEGMENT_COLUMNS)}")
    public = _public_segments(by, segments)
    budget = WorkspaceBudget(ws.root)
    budget.require(epsilon, f"customers and monetary by {by}")
    frame, run = latest_scores(ws, by)
    source = _RunLedger(budget, f"customer_scores {run['model_version']} as of {run['as_of']:%Y-%m-%d %H:%M}")
    count_epsilon = epsilon * count_share
    counts = private_counts(frame, by, public, count_epsilon, budget=source)
    sums = private_sums(frame, by, "monetary", public, epsilon - count_epsilon, (lo, hi), budget=source)
    report = pd.concat([counts, sums], ignore_index=True)
    report["value"] = report["value"].astype("float64")
    report.attrs = {**run, "epsilon": epsilon, "epsilon_remaining": budget.remaining, "monetary_bounds": (lo, hi),
                    "dropped_customers": counts.attrs["dropped_customers"],
                    "dropped_customers_accuracy_95": counts.attrs["dropped_customers_accuracy_95"],
                    "dropped_sum": sums.attrs["dropped_sum"],
                    "dropped_sum_accuracy_95": sums.attrs["dropped_sum_accuracy_95"]}
    return report
