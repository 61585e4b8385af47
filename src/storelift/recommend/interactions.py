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
