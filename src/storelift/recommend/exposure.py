"""Vendor-exposure balance: per-vendor score weights that pull each vendor's share of recommended
slots toward its share of the catalogue, with a bound on how far any score may move.

`VendorBalance.fit` looks at the top-k lists a model gives a sample of users and updates one weight per
vendor multiplicatively, w <- w * (catalogue share / exposure share) ** step, clipped to
[1 / max_boost, max_boost] (iterative proportional fitting with a leash). Serving multiplies each
positive model score by its vendor's weight before the rules pick the list, so a store trades a
bounded amount of relevance for fairer exposure; `report_` shows both sides of the trade.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .interactions import RecommendDataError
from .models import Recommender, mask_excluded

BALANCE_COLUMNS = ("vendor", "catalog_share", "exposure_before", "exposure_after", "weight")
UNKNOWN = "(unknown)"


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of each row's k highest positive scores (fewer when a row has fewer positives: -1)."""
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    top = np.where(np.take_along_axis(scores, top, axis=1) > 0, top, -1)
    return top


def exposure_shares(top: np.ndarray, codes: np.ndarray, n_vendors: int) -> np.ndarray:
    """Share of filled slots per vendor code."""
    shown = codes[top[top >= 0]]
    counts = np.bincount(shown, minlength=n_vendors).astype(np.float64)
    return counts / max(counts.sum(), 1.0)


def total_variation(a: np.ndarray, b: np.ndarray) -> float:
    """Half the L1 distance between two share vectors: the share of slots that would have to move."""
    return float(0.5 * np.abs(np.asarray(a) - np.asarray(b)).sum())


def weighted_scores(scores: np.ndarray, item_weights: np.ndarray) -> np.ndarray:
    """Positive scores times their item's vendor weight; other scores as they are (they are not shown)."""
    return np.where(scores > 0, scores * item_weights, scores)


class VendorBalance:
    """Fit per-vendor weights on sampled score rows (users x items) and the vendor of every item column."""

    def __init__(self, k: int = 10, max_boost: float = 2.0, step: float = 0.5, iterations: int = 30):
        if not (isinstance(k, (int, np.integer)) and k >= 1):
            raise RecommendDataError(f"k is {k!r}; pass the list length as a positive integer")
        if not max_boost >= 1:
            raise RecommendDataError(f"max_boost is {max_boost!r}; pass a number >= 1 (1 leaves scores unchanged)")
        if not 0 < step <= 1:
            raise RecommendDataError(f"step is {step!r}; pass a number in (0, 1]")
        self.k, self.max_boost, self.step, self.iterations = int(k), float(max_boost), float(step), int(iterations)

    def fit(self, scores: np.ndarray, vendors) -> "VendorBalance":
        scores = np.asarray(scores, dtype=np.float32)
        labels = pd.Series(vendors, dtype=object).fillna(UNKNOWN).to_numpy()
        if scores.ndim != 2 or scores.shape[1] != len(labels):
            raise RecommendDataError(f"scores has shape {scores.shape} and vendors {len(labels)} entries; pass one "
                                     "score column per item and the vendor of each item")
        codes, names = pd.factorize(labels)
        n = len(names)
        catalog = np.bincount(codes, minlength=n) / len(codes)
        weights = np.ones(n)
        before = exposure_shares(top_k_rows(scores, self.k), codes, n)
        exposure = before
        for _ in range(self.iterations):
            ratio = catalog / np.maximum(exposure, 1e-6)
            weights = np.clip(weights * ratio ** self.step, 1 / self.max_boost, self.max_boost)
            exposure = exposure_shares(top_k_rows(weighted_scores(scores, weights[codes]), self.k), codes, n)
        self.vendors_ = pd.Index(names)
        self.weights_ = weights
        self.report_ = pd.DataFrame({"vendor": names, "catalog_share": catalog, "exposure_before": before,
                                     "exposure_after": exposure, "weight": weights},
                                    columns=list(BALANCE_COLUMNS)).sort_values("catalog_share", ascending=False)
        self.distance_before_ = total_variation(before, catalog)
        self.distance_after_ = total_variation(exposure, catalog)
        return self

    def item_weights(self, vendors) -> np.ndarray:
        """The weight of each item column from its vendor (1 for a vendor the fit did not see)."""
        if not hasattr(self, "weights_"):
            raise RecommendDataError("VendorBalance is not fitted; call fit(scores, vendors) first")
        labels = pd.Series(vendors, dtype=object).fillna(UNKNOWN)
        positions = self.vendors_.get_indexer(pd.Index(labels))
        return np.where(positions >= 0, self.weights_[np.maximum(positions, 0)], 1.0).astype(np.float32)


class Reweighted(Recommender):
    """A fitted model whose positive scores are multiplied by per-item weights: how a balanced list
    ranks, for evaluating what the balance costs in relevance."""

    def __init__(self, model: Recommender, item_weights: np.ndarray):
        self.model, self.item_weights = model, np.asarray(item_weights, dtype=np.float32)

    def fit(self, matrix) -> "Reweighted":
        self.model.fit(matrix)
        self.n_items_ = self.model.n_items_
        return self

    def scores(self, user_rows) -> np.ndarray:
        return weighted_scores(np.asarray(self.model.scores(user_rows), dtype=np.float32), self.item_weights)


def fit_on_sample(model, interactions, vendors, max_boost: float, sample: int = 2_000, k: int = 10,
                  seed: int = 0) -> VendorBalance:
    """A VendorBalance fitted on the top-k lists of up to `sample` customers of `interactions`, their
    seen items excluded as they are when served. vendors: one vendor per item."""
    rows = np.random.default_rng(seed).permutation(interactions.n_users)[:sample]
    scores = np.array(model.scores(rows), dtype=np.float32)
    mask_excluded(scores, interactions.matrix, rows)
    return VendorBalance(k=k, max_boost=max_boost).fit(scores, vendors)
