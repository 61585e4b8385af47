"""Every attribution model side by side, and how far each is from a known truth."""

from __future__ import annotations

import pandas as pd

from .markov import markov_attribution
from .paths import AttributionError, RESULT_COLUMNS
from .rules import first_touch, last_touch, linear, position_based, time_decay
from .shapley import shapley_attribution

MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov", "shapley")


def compare_attribution(paths: pd.DataFrame, half_life_days: float = 7.0, first: float = 0.4, last: float = 0.4,
                        min_paths: int = 30) -> pd.DataFrame:
    """All models on the same paths. Columns: model, channel, conversions, revenue, share."""
    results = {
        "first_touch": first_touch(paths), "last_touch": last_touch(paths), "linear": linear(paths),
        "time_decay": time_decay(paths, half_life_days), "position_based": position_based(paths, first, last),
        "markov": markov_attribution(paths), "shapley": shapley_attribution(paths, min_paths),
    }
    return pd.concat([r.assign(model=m) for m, r in results.items()], ignore_index=True)[["model", *RESULT_COLUMNS]]


def share_errors(results: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per model: max_abs_share_error (largest |share - true share| over channels) and
    total_variation (half the sum of |share - true share|, the share of credit misplaced).
    results: compare_attribution output (or one model's result with a model column);
    truth: channel, share."""
    if not {"channel", "share"} <= set(truth.columns):
        raise AttributionError("truth needs columns channel and share")
    true_share = truth.set_index("channel")["share"]
    rows = []
    for model, group in results.groupby("model", sort=False):
        share = group.set_index("channel")["share"].reindex(true_share.index.union(group["channel"]), fill_value=0)
        diff = (share - true_share.reindex(share.index, fill_value=0)).abs()
        rows.append({"model": model, "max_abs_share_error": float(diff.max()),
                     "total_variation": float(diff.sum() / 2)})
    return pd.DataFrame(rows, columns=["model", "max_abs_share_error", "total_variation"])
