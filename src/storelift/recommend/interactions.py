"""User-item interactions: id maps and a weighted scipy.sparse CSR user x item matrix.

Every recommender fits on one `Interactions` matrix; rows and columns are dense integer positions
("user rows", "item rows") so models stay pure numpy / scipy, and the id maps turn them back into
store ids at the edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import StoreliftError


class RecommendDataError(StoreliftError, ValueError):
    """Interaction data cannot be used as given (a column is missing, no rows, an unknown id)."""


@dataclass(frozen=True)
class Interactions:
    """A user x item CSR matrix with the store ids of its rows (`users`) and columns (`items`)."""

    matrix: sp.csr_matrix
    users: pd.Index
    items: pd.Index

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    def user_rows(self, user_ids) -> np.ndarray:
        """Row positions of store user ids; an unknown id raises naming it."""
        return _positions(self.users, user_ids, "user")

    def item_rows(self, item_ids) -> np.ndarray:
        """Column positions of store item ids; an unknown id raises naming it."""
        return _positions(self.items, item_ids, "item")


def _positions(index: pd.Index, ids, kind: str) -> np.ndarray:
    positions = index.get_indexer(pd.Index(np.atleast_1d(np.asarray(ids))))
    if (positions < 0).any():
        unknown = np.atleast_1d(np.asarray(ids))[positions < 0][:5].tolist()
        raise RecommendDataError(
            f"{kind} ids {unknown} are not in the interactions; "
            f"fit on data that includes them or drop them before asking")
    return positions


def parse_sequences(lines: Iterable[str]) -> pd.DataFrame:
    """Parse `user_id item item ...` lines (items in time order, as in SASRec/ICLRec files).

    Returns columns user_id, item_id (strings as written) and position (0 = first event of the
    user). Blank lines are skipped; a line with a user but no item raises with its line number.
    """
    users: list[str] = []
    items: list[str] = []
    positions: list[int] = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2:
            raise RecommendDataError(
                f"line {number}: user {fields[0]!r} has no items; expected `user_id item item ...`")
        user, sequence = fields[0], fields[1:]
        users.extend([user] * len(sequence))
        items.extend(sequence)
        positions.extend(range(len(sequence)))
    if not users:
        raise RecommendDataError("no interactions: the sequence input is empty")
    return pd.DataFrame({"user_id": users, "item_id": items, "position": np.asarray(positions, dtype=np.int64)})


def interaction_matrix(
    frame: pd.DataFrame,
    *,
    user_col: str = "user_id",
    item_col: str = "item_id",
    weight_col: str | None = None,
    users: pd.Index | None = None,
    items: pd.Index | None = None,
    binary: bool = False,
) -> Interactions:
    """Build the CSR user x item matrix from one row per interaction.

    Weights come from `weight_col` (1.0 per row when None); repeated (user, item) pairs are summed,
    or set to 1 when `binary`. `users` / `items` fix the id maps (e.g. the full catalog, so an item
    seen only in a test set still gets a column); by default they are the sorted ids in `frame`.
    """
    missing = [c for c in (user_col, item_col, weight_col) if c is not None and c not in frame.columns]
    if missing:
        raise RecommendDataError(
            f"interactions lack column(s) {missing}; have {list(frame.columns)}; "
            f"pass user_col=/item_col=/weight_col= naming your columns")
    users = pd.Index(pd.unique(frame[user_col])).sort_values() if users is None else pd.Index(users)
    items = pd.Index(pd.unique(frame[item_col])).sort_values() if items is None else pd.Index(items)
    rows = _positions(users, frame[user_col].to_numpy(), "user") if len(frame) else np.empty(0, np.int64)
    cols = _positions(items, frame[item_col].to_numpy(), "item") if len(frame) else np.empty(0, np.int64)
    if weight_col is None:
        weights = np.ones(len(frame), dtype=np.float32)
    else:
        weights = frame[weight_col].to_numpy(dtype=np.float32)
        if not np.isfinite(weights).all():
            raise RecommendDataError(f"column {weight_col!r} has missing or infinite weights; fill or drop those rows")
    matrix = sp.csr_matrix((weights, (rows, cols)), shape=(len(users), len(items)), dtype=np.float32)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    if binary:
        matrix.data[:] = 1.0
    return Interactions(matrix=matrix, users=users, items=items)


# Default strength of each kind of evidence that a user wants an item (Segment e-commerce event names).
EVENT_WEIGHTS: dict[str, float] = {
    "Product Viewed": 1.0,
    "Product Clicked": 2.0,
    "Product Added to Wishlist": 3.0,
    "Product Added": 4.0,
    "Wishlist Product Added to Cart": 4.0,
    "Order Completed": 8.0,
    "purchase": 8.0,  # order lines, passed in as rows with event='purchase'
}
WEIGHTED_COLUMNS = ("user_id", "item_id", "weight", "last_at")


def weighted_interactions(
    events: pd.DataFrame,
    now,
    *,
    weights: dict[str, float] | None = None,
    half_life_days: float | None = 90.0,
    user_col: str = "user_id",
    item_col: str = "item_id",
    event_col: str = "event",
    time_col: str = "occurred_at",
) -> pd.DataFrame:
    """One row per (user, item): the summed event weights, each decayed by its age at `now`.

    weight = sum over events of weights[event] * 0.5 ** (age_days / half_life_days) (no decay when
    half_life_days is None). Events whose name has no weight are ignored (page views of non-product
    pages, e-mail events); events after `now` are ignored, so a model fitted at `now` sees no future.
    Returns columns user_id, item_id, weight, last_at (time of the latest counted event).
    """
    weights = EVENT_WEIGHTS if weights is None else weights
    missing = [c for c in (user_col, item_col, event_col, time_col) if c not in events.columns]
    if missing:
        raise RecommendDataError(
            f"events lack column(s) {missing}; have {list(events.columns)}; "
            "pass user_col=/item_col=/event_col=/time_col= naming your columns")
    bad = {name: w for name, w in weights.items() if not (isinstance(w, (int, float)) and np.isfinite(w) and w >= 0)}
    if bad:
        raise RecommendDataError(f"weights {bad} must be finite numbers >= 0; give each event name a weight such as 1.0")
    if half_life_days is not None and not (np.isfinite(half_life_days) and half_life_days > 0):
        raise RecommendDataError(f"half_life_days is {half_life_days!r}; pass a positive number of days or None")
    now = pd.Timestamp(now)
    times = pd.to_datetime(events[time_col])
    if getattr(times.dt, "tz", None) is not None and now.tzinfo is None:
        now = now.tz_localize(times.dt.tz)
    strength = events[event_col].map(weights).astype("float64")
    keep = strength.notna() & (strength > 0) & events[user_col].notna() & events[item_col].notna() & (times <= now)
    frame = pd.DataFrame({
        "user_id": events.loc[keep, user_col].to_numpy(),
        "item_id": events.loc[keep, item_col].to_numpy(),
        "weight": strength[keep].to_numpy(),
        "last_at": times[keep].to_numpy(),
    })
    if half_life_days is not None and len(frame):
        age_days = (now - pd.to_datetime(frame["last_at"])).dt.total_seconds().to_numpy() / 86_400.0
        frame["weight"] *= 0.5 ** (age_days / half_life_days)
    grouped = frame.groupby(["user_id", "item_id"], sort=True, as_index=False).agg(
        weight=("weight", "sum"), last_at=("last_at", "max"))
    return grouped[list(WEIGHTED_COLUMNS)]
