"""Rule-based attribution: first touch, last touch, linear, time decay and position based (U-shaped).

Each rule gives every touch of a converting path a weight, the weights of a path sum to one, and a
channel's credit is the sum of its touches' weights (and of weight x the conversion's revenue).
Rules look only at converting paths, which is why they are biased: a channel that reaches many
customers who would have bought anyway collects credit (see `shapley_attribution`).
Conversions with no touch in the lookback window are credited to no channel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .paths import AttributionError, attribution_result, channels_of, check_paths


def _converting_touches(paths: pd.DataFrame) -> pd.DataFrame:
    paths = check_paths(paths)
    rows = paths[paths["is_conversion"].astype(bool) & paths["channel"].notna()]
    return rows.assign(position=rows["position"].astype("int64"), touches=rows["touches"].astype("int64"))


def _credit(paths: pd.DataFrame, rows: pd.DataFrame, weight: np.ndarray) -> pd.DataFrame:
    credit = pd.DataFrame({"channel": rows["channel"].astype(str).to_numpy(), "conversions": weight,
                           "revenue": weight * rows["revenue"].astype("float64").to_numpy()})
    return attribution_result(credit, channels_of(paths))


def first_touch(paths: pd.DataFrame) -> pd.DataFrame:
    """All credit to the first touch of each converting path. Columns: channel, conversions,
    revenue, share."""
    rows = _converting_touches(paths)
    return _credit(paths, rows, (rows["position"] == 0).to_numpy(dtype=float))


def last_touch(paths: pd.DataFrame) -> pd.DataFrame:
    """All credit to the last touch before each conversion (the web-analytics default)."""
    rows = _converting_touches(paths)
    return _credit(paths, rows, (rows["position"] == rows["touches"] - 1).to_numpy(dtype=float))


def linear(paths: pd.DataFrame) -> pd.DataFrame:
    """Equal credit to every touch of a converting path."""
    rows = _converting_touches(paths)
    return _credit(paths, rows, 1.0 / rows["touches"].to_numpy(dtype=float))


def time_decay(paths: pd.DataFrame, half_life_days: float = 7.0) -> pd.DataFrame:
    """Credit halves for every `half_life_days` a touch came before the conversion."""
    if not half_life_days > 0:
        raise AttributionError(f"half_life_days={half_life_days}: pass a positive number of days, e.g. 7")
    rows = _converting_touches(paths)
    if "days_before_end" not in rows.columns:
        raise AttributionError("paths lack days_before_end: build them with storelift.attribution.touch_paths")
    raw = np.exp2(-rows["days_before_end"].astype("float64").clip(lower=0).to_numpy() / half_life_days)
    per_path = pd.Series(raw, index=rows.index).groupby(rows["path_id"].to_numpy()).transform("sum").to_numpy()
    return _credit(paths, rows, raw / per_path)


def position_based(paths: pd.DataFrame, first: float = 0.4, last: float = 0.4) -> pd.DataFrame:
    """U-shaped: `first` to the first touch, `last` to the last, the rest split over the middle
    touches. A one-touch path gives its touch everything; a two-touch path splits
    first : last in proportion."""
    if first < 0 or last < 0 or first + last > 1:
        raise AttributionError(f"first={first}, last={last}: pass non-negative shares with first + last <= 1, "
                               "e.g. 0.4 and 0.4")
    rows = _converting_touches(paths)
    n = rows["touches"].to_numpy()
    pos = rows["position"].to_numpy()
    is_first, is_last = pos == 0, pos == n - 1
    ends = first + last
    two = np.where(is_first, first / ends if ends > 0 else 0.5, last / ends if ends > 0 else 0.5)
    middle = (1.0 - first - last) / np.maximum(n - 2, 1)
    many = np.where(is_first, first, np.where(is_last, last, middle))
    weight = np.where(n == 1, 1.0, np.where(n == 2, two, many))
    return _credit(paths, rows, weight)


RULES = {"first_touch": first_touch, "last_touch": last_touch, "linear": linear, "time_decay": time_decay,
         "position_based": position_based}
