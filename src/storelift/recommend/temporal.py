"""The temporal-split protocol: fit on everything before a cutoff, ask for each user's new items after it.

Closer to how a store uses recommendations than leave-one-out: one global cutoff, so no model sees
the future of any user. The relevant items of a user are those first interacted with after the
cutoff that they had not touched before it; users with none are not evaluated. Every item is
ranked and the user's history excluded, as in leave-one-out. Metrics with several relevant items:
HR@k (any hit), Recall@k (hits / min(k, relevant)), NDCG@k (binary gains), MAP@k (mean of precision
at each hit over min(k, relevant)), MRR (first hit), plus catalog coverage@k (share of items that
appear in some top-k list) and ARP@k (mean training popularity of recommended items, as a share of
users; lower means less popularity bias).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .interactions import RecommendDataError, interaction_matrix
from .models import Recommender, mask_excluded, top_k

DEFAULT_KS = (10, 20)


@dataclass(frozen=True)
class TemporalSplit:
    """Binary train (before the cutoff) and test (new items after it) user x item matrices."""

    users: pd.Index
    items: pd.Index
    cutoff: pd.Timestamp
    train: sp.csr_matrix
    test: sp.csr_matrix

    @property
    def evaluated_users(self) -> np.ndarray:
        return np.flatnonzero(np.diff(self.test.indptr) > 0)


def temporal_split(events: pd.DataFrame, cutoff, *, user_col: str = "user_id", item_col: str = "item_id",
                   time_col: str = "occurred_at") -> TemporalSplit:
    """Split events at `cutoff` (train: strictly before; test: at or after, new to the user)."""
    missing = [c for c in (user_col, item_col, time_col) if c not in events.columns]
    if missing:
        raise RecommendDataError(f"events lack column(s) {missing}; have {list(events.columns)}; "
                                 "pass user_col=/item_col=/time_col=")
    stamp = pd.Timestamp(cutoff)
    times = pd.to_datetime(events[time_col])
    if getattr(times.dt, "tz", None) is not None and stamp.tzinfo is None:
        stamp = stamp.tz_localize(times.dt.tz)
    before = (times < stamp).to_numpy()
    if not before.any() or before.all():
        raise RecommendDataError(
            f"cutoff {stamp} leaves {'no' if not before.any() else 'all'} events before it; pick a date "
            f"between {times.min()} and {times.max()}")
    users = pd.Index(pd.unique(events[user_col])).sort_values()
    items = pd.Index(pd.unique(events[item_col])).sort_values()
    kw = dict(user_col=user_col, item_col=item_col, users=users, items=items, binary=True)
    train = interaction_matrix(events[before], **kw).matrix
    after = interaction_matrix(events[~before], **kw).matrix
    new = after - after.multiply(train > 0)  # items the user had not touched before the cutoff
    new.eliminate_zeros()
    return TemporalSplit(users, items, stamp, train, sp.csr_matrix(new))


def topk_metrics(top: np.ndarray, relevant: list[np.ndarray], ks=DEFAULT_KS) -> dict[str, float]:
    """Averages over users of HR, Recall, NDCG and MAP at each k, and MRR, from each user's top list
    (item columns, best first, at least max(ks) long) and their relevant item columns."""
    out: dict[str, float] = {}
    hits = np.array([np.isin(row, rel) for row, rel in zip(top, relevant)], dtype=bool)
    n_rel = np.array([len(r) for r in relevant], dtype=np.float64)
    discounts = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    for k in ks:
        h = hits[:, :k]
        ideal = np.array([discounts[:int(min(k, n))].sum() for n in n_rel])
        precision_at_hit = np.cumsum(h, axis=1) / np.arange(1, h.shape[1] + 1) * h  # k or fewer: a small catalog
        out[f"HR@{k}"] = float(h.any(axis=1).mean())
        out[f"Recall@{k}"] = float((h.sum(axis=1) / np.minimum(k, n_rel)).mean())
        out[f"NDCG@{k}"] = float(((h * discounts[:k]).sum(axis=1) / ideal).mean())
        out[f"MAP@{k}"] = float((precision_at_hit.sum(axis=1) / np.minimum(k, n_rel)).mean())
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1.0, np.inf)
    out["MRR"] = float((1.0 / first).mean())
    return out


def evaluate_temporal(model: Recommender, split: TemporalSplit, *, ks=DEFAULT_KS, batch_size: int = 1024) -> pd.DataFrame:
    """Fit on the train matrix, rank every item for each evaluated user; one row of results.

    Columns: model, n_users, fit_s, then HR/Recall/NDCG/MAP at each k, MRR, coverage@k and ARP@k for
    the largest k. The top lists are truncated at max(ks) (MRR counts a first hit within it).
    """
    if split.evaluated_users.size == 0:
        raise RecommendDataError("no user has a new item after the cutoff; pick an earlier cutoff")
    started = time.perf_counter()
    model.fit(split.train)
    return temporal_result_row(type(model).__name__, model, split, time.perf_counter() - started, ks=ks,
                               batch_size=batch_size)


def temporal_result_row(name: str, model, split: TemporalSplit, fit_s: float, *, ks=DEFAULT_KS,
                        batch_size: int = 1024) -> pd.DataFrame:
    """Rank every item for each evaluated user with a model fitted on the split's train part (anything
    with `scores(user_rows)`); the row `evaluate_temporal` returns, under the model's `name`."""
    users = split.evaluated_users
    if users.size == 0:
        raise RecommendDataError("no user has a new item after the cutoff; pick an earlier cutoff")
    k_max = max(ks)
    tops = []
    for start in range(0, users.size, batch_size):
        rows = users[start:start + batch_size]
        scores = np.array(model.scores(rows), dtype=np.float32)
        mask_excluded(scores, split.train, rows)
        tops.append(top_k(scores, k_max))
    top = np.vstack(tops)
    relevant = [split.test.indices[split.test.indptr[u]:split.test.indptr[u + 1]] for u in users]
    popularity = np.asarray((split.train > 0).sum(axis=0)).ravel() / split.train.shape[0]
    row = {"model": name, "n_users": int(users.size), "fit_s": fit_s,
           **topk_metrics(top, relevant, ks),
           f"coverage@{k_max}": float(np.unique(top).size / split.train.shape[1]),
           f"ARP@{k_max}": float(popularity[top].mean())}
    return pd.DataFrame([row])
