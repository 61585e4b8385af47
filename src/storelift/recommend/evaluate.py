"""Offline evaluation: the leave-one-out protocol with full ranking over all items.

Protocol (SASRec, Kang & McAuley 2018; BERT4Rec; ICLRec, Chen et al. 2022): per user, in time order,
the last item is the test target, the second to last the validation target, the rest train.
Users with fewer than 3 events stay wholly in train and are not evaluated. Validation: fit on train,
rank the validation item. Test: fit on train + validation, rank the test item. Every item of the
catalog is ranked (no sampled negatives); the items in the user's fit history are removed from the
ranking, so a repeat of a history item counts as a miss. Ties rank the lower item row first, the
same order `Recommender.recommend` uses.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .interactions import RecommendDataError, interaction_matrix
from .models import Recommender, mask_excluded

DEFAULT_KS = (5, 10, 20)
STAGES = ("validation", "test")
MIN_EVENTS = 3


@dataclass(frozen=True)
class EvaluationStage:
    """What one stage fits on (`fit_matrix`, also the exclusion mask) and which item it asks for."""

    name: str
    fit_matrix: sp.csr_matrix
    user_rows: np.ndarray
    target_rows: np.ndarray


@dataclass(frozen=True)
class LeaveOneOutSplit:
    """A leave-one-out split: binary train matrix and one held-out item row per evaluated user.

    `validation_items` / `test_items` hold an item row per user row, -1 for users with < 3 events.
    `train_steps` holds, per train (user, item), 1 + how many events back from the user's last
    train event the item last occurred (1 = the latest). `stage(name, position_decay=d)` weights
    each fitted item by d ** (steps back from the end of what that stage fits on): recency
    for models that score a weighted history (a customer's last items say most about their next).
    """

    users: pd.Index
    items: pd.Index
    train: sp.csr_matrix
    validation_items: np.ndarray
    test_items: np.ndarray
    train_steps: sp.csr_matrix | None = None

    def stage(self, name: str, position_decay: float | None = None) -> EvaluationStage:
        """The validation stage (model selection) or the test stage (score once, after selection)."""
        if position_decay is not None and not (0 < position_decay <= 1):
            raise RecommendDataError(f"position_decay is {position_decay!r}; pass a number in (0, 1], or None")
        if position_decay is not None and self.train_steps is None:
            raise RecommendDataError("this split has no train_steps; build it with leave_one_out(...)")
        evaluated = np.flatnonzero(self.test_items >= 0)
        if name == "validation":
            fit = self.train if position_decay is None else self._decayed(position_decay, 0)
            return EvaluationStage(name, fit, evaluated, self.validation_items[evaluated])
        if name == "test":
            held = sp.csr_matrix(
                (np.ones(evaluated.size, dtype=np.float32), (evaluated, self.validation_items[evaluated])),
                shape=self.train.shape)
            # the validation item becomes the latest event: everything else of those users moves one step back
            shift = np.zeros(self.train.shape[0], dtype=np.int64)
            shift[evaluated] = 1
            base = self.train if position_decay is None else self._decayed(position_decay, shift)
            fit = base.maximum(held).tocsr()
            return EvaluationStage(name, fit, evaluated, self.test_items[evaluated])
        raise RecommendDataError(f"stage is {name!r}; pass one of {STAGES}")

    def _decayed(self, decay: float, shift) -> sp.csr_matrix:
        steps = self.train_steps.copy()
        rows = np.repeat(np.arange(steps.shape[0]), np.diff(steps.indptr))
        back = steps.data.astype(np.float64) - 1 + np.broadcast_to(shift, (steps.shape[0],))[rows]
        steps.data = (decay ** back).astype(np.float32)
        return steps


def leave_one_out(
    events: pd.DataFrame, *, user_col: str = "user_id", item_col: str = "item_id", order_col: str = "position",
) -> LeaveOneOutSplit:
    """Split events (one row per interaction, ordered within a user by `order_col`) leave-one-out.

    The item map covers every item in `events`, so items seen only as a target are still ranked.
    """
    missing = [c for c in (user_col, item_col, order_col) if c not in events.columns]
    if missing:
        raise RecommendDataError(
            f"events lack column(s) {missing}; have {list(events.columns)}; "
            "pass user_col=/item_col=/order_col= (order_col orders a user's events in time)")
    if events.empty:
        raise RecommendDataError("events is empty; leave-one-out needs at least one user with 3 events")
    ordered = events.sort_values([user_col, order_col], kind="stable")
    from_end = ordered.groupby(user_col, sort=False).cumcount(ascending=False).to_numpy()
    size = ordered.groupby(user_col, sort=False)[item_col].transform("size").to_numpy()
    evaluated = size >= MIN_EVENTS
    is_test = evaluated & (from_end == 0)
    is_validation = evaluated & (from_end == 1)
    users = pd.Index(pd.unique(ordered[user_col])).sort_values()
    items = pd.Index(pd.unique(ordered[item_col])).sort_values()
    in_train = ~(is_test | is_validation)
    train = interaction_matrix(
        ordered[in_train], user_col=user_col, item_col=item_col, users=users, items=items, binary=True)
    # steps back from each user's last train event, +1 so the latest is stored (1) and not dropped as 0
    trained = ordered[in_train]
    back = trained.groupby(user_col, sort=False).cumcount(ascending=False).to_numpy() + 1
    steps = _minimum_duplicates(users.get_indexer(trained[user_col]), items.get_indexer(trained[item_col]),
                                back.astype(np.float32), train.matrix.shape)
    validation_items = np.full(len(users), -1, dtype=np.int64)
    test_items = np.full(len(users), -1, dtype=np.int64)
    for held, target in ((is_validation, validation_items), (is_test, test_items)):
        rows = users.get_indexer(ordered.loc[held, user_col])
        target[rows] = items.get_indexer(ordered.loc[held, item_col])
    return LeaveOneOutSplit(users, items, train.matrix, validation_items, test_items, steps)


def _minimum_duplicates(row: np.ndarray, col: np.ndarray, data: np.ndarray, shape) -> sp.csr_matrix:
    """A CSR matrix from triplets where a repeated (row, column) keeps its minimum (scipy would sum)."""
    order = np.lexsort((data, col, row))
    row, col, data = row[order], col[order], data[order]
    first = np.ones(len(row), dtype=bool)
    first[1:] = (row[1:] != row[:-1]) | (col[1:] != col[:-1])
    return sp.csr_matrix((data[first], (row[first], col[first])), shape=shape)


def target_ranks(
    model: Recommender, exclude: sp.csr_matrix, user_rows: np.ndarray, target_rows: np.ndarray,
    *, batch_size: int = 1024,
) -> np.ndarray:
    """0-based rank of each user's target among all non-excluded items (inf when it is excluded).

    Scores users in batches of `batch_size` (memory: batch_size x n_items float32).
    """
    if batch_size < 1:
        raise RecommendDataError(f"batch_size is {batch_size!r}; pass a positive integer (e.g. 1024)")
    user_rows = np.asarray(user_rows, dtype=np.int64)
    target_rows = np.asarray(target_rows, dtype=np.int64)
    ranks = np.empty(len(user_rows), dtype=np.float64)
    for start in range(0, len(user_rows), batch_size):
        rows = user_rows[start:start + batch_size]
        targets = target_rows[start:start + batch_size]
        scores = np.array(model.scores(rows), dtype=np.float32)
        mask_excluded(scores, exclude, rows)
        target_scores = scores[np.arange(len(rows)), targets][:, None]
        ahead = (scores > target_scores).sum(axis=1)
        tied_before = ((scores == target_scores) & (np.arange(scores.shape[1]) < targets[:, None])).sum(axis=1)
        batch_ranks = (ahead + tied_before).astype(np.float64)
        batch_ranks[~np.isfinite(target_scores[:, 0])] = np.inf
        ranks[start:start + batch_size] = batch_ranks
    return ranks


def ranking_metrics(ranks: np.ndarray, ks=DEFAULT_KS) -> pd.DataFrame:
    """One row: n_users, then HIT@k and NDCG@k for each k, then MRR, averaged over users.

    With one relevant item at 0-based rank r: HIT@k = [r < k], NDCG@k = [r < k] / log2(r + 2),
    MRR = 1 / (r + 1) (untruncated; 0 for an excluded target).
    """
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        raise RecommendDataError("no evaluated users; each user needs at least 3 events for leave-one-out")
    row: dict[str, float] = {"n_users": int(ranks.size)}
    for k in ks:
        hit = ranks < k
        row[f"HIT@{k}"] = float(hit.mean())
        row[f"NDCG@{k}"] = float(np.where(hit, 1.0 / np.log2(np.where(hit, ranks, 0) + 2), 0.0).mean())
    row["MRR"] = float((1.0 / (ranks + 1.0)).mean())
    return pd.DataFrame([row])


def evaluate(
    model: Recommender, split: LeaveOneOutSplit, stage: str = "validation", *, ks=DEFAULT_KS,
    batch_size: int = 1024, position_decay: float | None = None,
) -> pd.DataFrame:
    """Fit `model` on the stage's matrix and rank its targets; one row of results.

    position_decay: weight fitted items by recency (see LeaveOneOutSplit.stage); None for binary.

    Columns: model (class name), stage, n_users, fit_s, score_s, HIT@k, NDCG@k for each k, MRR.
    """
    chosen = split.stage(stage, position_decay)
    started = time.perf_counter()
    model.fit(chosen.fit_matrix)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    ranks = target_ranks(model, chosen.fit_matrix, chosen.user_rows, chosen.target_rows, batch_size=batch_size)
    return result_row(type(model).__name__, stage, ranks, fit_s, time.perf_counter() - started, ks)


def result_row(model: str, stage: str, ranks: np.ndarray, fit_s: float, score_s: float,
               ks=DEFAULT_KS) -> pd.DataFrame:
    """One row of evaluation results: model, stage, n_users, fit_s, score_s, HIT@k, NDCG@k, MRR."""
    metrics = ranking_metrics(ranks, ks)
    metrics.insert(0, "score_s", score_s)
    metrics.insert(0, "fit_s", fit_s)
    metrics.insert(0, "stage", stage)
    metrics.insert(0, "model", model)
    return metrics[["model", "stage", "n_users", "fit_s", "score_s"]
                   + [c for c in metrics.columns if c.startswith(("HIT@", "NDCG@"))] + ["MRR"]]
