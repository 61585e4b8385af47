"""Markov-chain attribution by removal effect (Anderl, Becker, von Wangenheim & Schumann 2016).

Paths become a first-order chain over the states start, each channel, conversion and null (the
journey ended without one). A channel's removal effect is the share of the chain's conversion
probability lost when every transition into the channel goes to null instead; the attributed
conversions and revenue of touched converting paths are split in proportion to removal effects.
A removal effect counts every conversion on the journeys through a channel, including those other
channels or the baseline caused, so broad-reach channels are over-credited much as by linear
credit; `shapley_attribution` credits incremental conversions instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .paths import attribution_result, channels_of, check_paths

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


def _transitions(paths: pd.DataFrame, drop_repeats: bool) -> pd.DataFrame:
    """Counts of (from, to) over all paths: start -> first channel ... -> conversion or null."""
    paths = check_paths(paths)
    touched = paths[paths["channel"].notna()].sort_values(["path_id", "position"])
    path = touched["path_id"].to_numpy()
    channel = touched["channel"].astype(str).to_numpy()
    previous = np.empty(len(channel), dtype=object)
    is_start = np.ones(len(channel), dtype=bool)
    is_start[1:] = path[1:] != path[:-1]
    previous[is_start] = START
    previous[~is_start] = channel[:-1][~is_start[1:]]
    steps = pd.DataFrame({"from": previous, "to": channel})
    if drop_repeats:
        steps = steps[steps["from"] != steps["to"]]
    ends = paths.drop_duplicates("path_id")[["path_id", "is_conversion"]]
    last = touched.drop_duplicates("path_id", keep="last").set_index("path_id")["channel"].astype(str)
    end_from = ends["path_id"].map(last).fillna(START).to_numpy(dtype=object)
    end_to = np.where(ends["is_conversion"].astype(bool).to_numpy(), CONVERSION, NULL)
    steps = pd.concat([steps, pd.DataFrame({"from": end_from, "to": end_to})], ignore_index=True)
    return steps.groupby(["from", "to"]).size().rename("count").reset_index()


def transition_matrix(paths: pd.DataFrame, drop_repeats: bool = False) -> pd.DataFrame:
    """Row-stochastic transition probabilities: rows start and channels, columns channels,
    conversion and null. `drop_repeats` ignores a channel following itself."""
    counts = _transitions(paths, drop_repeats)
    channels = channels_of(paths)
    table = counts.pivot(index="from", columns="to", values="count")
    table = table.reindex(index=[START, *channels], columns=[*channels, CONVERSION, NULL]).fillna(0.0)
    totals = table.sum(axis=1).replace(0.0, np.nan)
    return table.div(totals, axis=0).fillna(0.0)


def _conversion_probability(matrix: pd.DataFrame, removed: str | None = None) -> float:
    """P(absorbed in conversion | start), solving (I - Q) x = r over the transient states."""
    states = list(matrix.index)
    q = matrix[states[1:]].to_numpy(dtype=float)
    q = np.hstack([np.zeros((len(states), 1)), q])  # nothing goes back to start
    r = matrix[CONVERSION].to_numpy(dtype=float).copy()
    if removed is not None:
        k = states.index(removed)
        q[k, :], r[k] = 0.0, 0.0
    x = np.linalg.solve(np.eye(len(states)) - q, r)
    return float(x[0])


def removal_effects(paths: pd.DataFrame, drop_repeats: bool = False) -> pd.DataFrame:
    """Per channel: removal_effect = 1 - P(conversion without the channel) / P(conversion).
    Columns: channel, removal_effect, share (removal effects normalized to sum to 1)."""
    matrix = transition_matrix(paths, drop_repeats)
    channels = channels_of(paths)
    full = _conversion_probability(matrix)
    effects = np.array([1.0 - _conversion_probability(matrix, c) / full if full > 0 else 0.0 for c in channels])
    total = effects.sum()
    return pd.DataFrame({"channel": channels, "removal_effect": effects,
                         "share": effects / total if total > 0 else np.zeros(len(channels))})


def markov_attribution(paths: pd.DataFrame, drop_repeats: bool = False) -> pd.DataFrame:
    """Conversions and revenue of converting paths with at least one touch, split by removal
    effect. Columns: channel, conversions, revenue, share."""
    effects = removal_effects(paths, drop_repeats)
    touched = paths[paths["channel"].notna() & paths["is_conversion"].astype(bool)].drop_duplicates("path_id")
    conversions, revenue = float(len(touched)), float(touched["revenue"].astype("float64").sum())
    credit = pd.DataFrame({"channel": effects["channel"], "conversions": effects["share"] * conversions,
                           "revenue": effects["share"] * revenue})
    return attribution_result(credit, channels_of(paths))
