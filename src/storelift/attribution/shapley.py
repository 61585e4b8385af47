"""Shapley-value attribution from the conversion rates of channel coalitions.

Following Dalessandro, Perlich, Stitelman & Provost (2012), the value of a coalition S of
channels is the conversion rate of customers whose paths reached exactly the channels in S, less
the rate of customers no channel reached. Each path's incremental conversion probability v(S) is
split over its channels by exact Shapley values of the game restricted to S (Shapley 1953; the
path-level "simplified" form of Zhao et al. 2018), so a channel's credit is the number of
conversions it added, not the number of converting paths it appeared in. Coalitions seen on fewer
than `min_paths` paths borrow strength from an additive model of the channels' lifts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import factorial

import numpy as np
import pandas as pd

from .paths import AttributionError, attribution_result, channels_of, check_paths

MAX_CHANNELS = 16


def _popcount(masks: np.ndarray) -> np.ndarray:
    counts = np.zeros(len(masks), dtype=np.int64)
    m = masks.copy()
    while m.any():
        counts += m & 1
        m >>= 1
    return counts


def _shapley_on_subgame(value: np.ndarray, members: list[int]) -> np.ndarray:
    """Exact Shapley values of the players `members` (bit positions) in the game `value`
    (indexed by global bit mask), restricted to coalitions inside `members`."""
    s = len(members)
    local = np.arange(1 << s, dtype=np.int64)
    glob = np.zeros(1 << s, dtype=np.int64)
    for i, bit in enumerate(members):
        glob |= ((local >> i) & 1) << bit
    size = _popcount(local)
    weight = np.array([factorial(k) * factorial(s - k - 1) / factorial(s) for k in range(s)])
    out = np.empty(s)
    for i, bit in enumerate(members):
        without = (local >> i) & 1 == 0
        t = glob[without]
        out[i] = float(np.sum(weight[size[without]] * (value[t | (1 << bit)] - value[t])))
    return out


def shapley_values(game: Mapping[frozenset[str], float], players: Sequence[str]) -> pd.DataFrame:
    """Exact Shapley values of a cooperative game given as {coalition: value}; coalitions not in
    `game` are worth 0. Columns: player, shapley_value. The values sum to v(all) - v(empty)."""
    players = list(players)
    if len(players) > MAX_CHANNELS:
        raise AttributionError(f"{len(players)} players: exact Shapley values are limited to {MAX_CHANNELS}; "
                               "group rare channels together first")
    bit = {p: i for i, p in enumerate(players)}
    value = np.zeros(1 << len(players))
    for coalition, v in game.items():
        unknown = set(coalition) - set(bit)
        if unknown:
            raise AttributionError(f"coalition {sorted(coalition)} names {sorted(unknown)}, not in players")
        value[sum(1 << bit[p] for p in coalition)] = v
    phi = _shapley_on_subgame(value, list(range(len(players))))
    return pd.DataFrame({"player": players, "shapley_value": phi})


def _coalitions(paths: pd.DataFrame, channels: list[str]) -> pd.DataFrame:
    """Per channel set reached (a bit mask over `channels`): paths, conversions, revenue."""
    paths = check_paths(paths)
    bit = pd.Series([1 << i for i in range(len(channels))], index=channels, dtype="int64")
    touched = paths[paths["channel"].notna()].drop_duplicates(["path_id", "channel"])
    masks = (touched["channel"].astype(str).map(bit).groupby(touched["path_id"].to_numpy()).sum())
    ends = paths.drop_duplicates("path_id").set_index("path_id")
    per_path = pd.DataFrame({"mask": masks.reindex(ends.index, fill_value=0).astype("int64").to_numpy(),
                             "converted": ends["is_conversion"].astype(bool).to_numpy(),
                             "revenue": ends["revenue"].astype("float64").to_numpy()})
    return per_path.groupby("mask").agg(paths=("converted", "size"), conversions=("converted", "sum"),
                                        revenue=("revenue", "sum")).reset_index()


def coalition_rates(paths: pd.DataFrame) -> pd.DataFrame:
    """Per set of channels reached (the empty set included when such paths exist): coalition
    ("a+b", sorted), size, paths, conversions, revenue, conversion_rate."""
    channels = channels_of(paths)
    out = _coalitions(paths, channels)
    members = [[c for i, c in enumerate(channels) if m >> i & 1] for m in out["mask"]]
    out["coalition"] = ["+".join(m) for m in members]
    out["size"] = [len(m) for m in members]
    out["conversion_rate"] = out["conversions"] / out["paths"]
    return out[["coalition", "size", "paths", "conversions", "revenue", "conversion_rate"]]


def _additive_rates(rates: pd.DataFrame, channels: list[str], masks: np.ndarray) -> np.ndarray:
    """Conversion rate of every coalition under an additive model (intercept + one lift per
    channel), fitted by weighted least squares on the observed coalitions."""
    k = len(channels)
    x = ((masks[:, None] >> np.arange(k)) & 1).astype(float)
    design = np.hstack([np.ones((len(masks), 1)), x])
    w = np.sqrt(rates["paths"].to_numpy(dtype=float))
    beta, *_ = np.linalg.lstsq(design * w[:, None], rates["conversion_rate"].to_numpy() * w, rcond=None)
    every = np.arange(1 << k, dtype=np.int64)
    full = np.hstack([np.ones((len(every), 1)), ((every[:, None] >> np.arange(k)) & 1).astype(float)])
    return np.clip(full @ beta, 0.0, 1.0)


def shapley_attribution(paths: pd.DataFrame, min_paths: int = 30) -> pd.DataFrame:
    """Incremental conversions (and their revenue) credited by Shapley values of coalition rates.

    conversions = sum over coalitions S of paths(S) x phi_channel(S), where phi splits
    rate(S) - rate(no channel) over the channels of S; revenue uses the mean order value of S's
    conversions. Without paths that no channel reached the baseline rate is taken as 0, so all
    conversions are credited. A coalition seen on fewer than `min_paths` paths uses
    (n x observed + min_paths x additive) / (n + min_paths) as its rate.
    Columns: channel, conversions, revenue, share.
    """
    if min_paths < 0:
        raise AttributionError(f"min_paths={min_paths}: pass 0 or more paths, e.g. 30")
    channels = channels_of(paths)
    if len(channels) > MAX_CHANNELS:
        raise AttributionError(f"{len(channels)} channels: exact Shapley values are limited to {MAX_CHANNELS}; "
                               "map rare channels to a shared name first")
    rates = _coalitions(paths, channels)
    rates["conversion_rate"] = rates["conversions"] / rates["paths"]
    masks = rates["mask"].to_numpy(dtype=np.int64)
    additive = _additive_rates(rates, channels, masks)
    value = additive.copy()
    n = rates["paths"].to_numpy(dtype=float)
    observed = rates["conversion_rate"].to_numpy(dtype=float)
    value[masks] = (n * observed + min_paths * additive[masks]) / (n + min_paths)
    has_baseline = bool((masks == 0).any())
    value = value - (value[0] if has_baseline else 0.0)
    value[0] = 0.0

    overall_aov = rates["revenue"].sum() / max(rates["conversions"].sum(), 1)
    credit = np.zeros(len(channels))
    revenue = np.zeros(len(channels))
    for mask, row in zip(masks, rates.itertuples(index=False)):
        if mask == 0:
            continue
        members = [i for i in range(len(channels)) if mask >> i & 1]
        phi = _shapley_on_subgame(value, members)
        aov = row.revenue / row.conversions if row.conversions > 0 else overall_aov
        credit[members] += row.paths * phi
        revenue[members] += row.paths * phi * aov
    frame = pd.DataFrame({"channel": channels, "conversions": credit, "revenue": revenue})
    return attribution_result(frame, channels)
