"""Matrix factorization recommenders, ALS and BPR, fitted by the `implicit` library.

A user's score for an item is the dot product of their factors (`user_factors_ @ item_factors_.T`);
the factors are plain numpy arrays, ready for approximate nearest-neighbour retrieval.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp

from .models import ItemVectorLinks, Recommender, RecommendModelError, _as_csr


def _check_positive_int(name: str, value, example: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise RecommendModelError(f"{name} is {value!r}; pass a positive integer (e.g. {example})")


def _check_number(name: str, value, *, allow_zero: bool, example: float) -> None:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise RecommendModelError(f"{name} is {value!r}; pass a finite number {bound} (e.g. {example:g})")


def _check_common(model) -> None:
    _check_positive_int("factors", model.factors, 64)
    _check_number("regularization", model.regularization, allow_zero=True, example=0.01)
    _check_positive_int("iterations", model.iterations, 15)
    if isinstance(model.num_threads, bool) or not isinstance(model.num_threads, numbers.Integral) \
            or model.num_threads < 0:
        raise RecommendModelError(
            f"num_threads is {model.num_threads!r}; pass 0 (all cores) or a positive number of threads")
    if model.random_state is not None and (
            isinstance(model.random_state, bool) or not isinstance(model.random_state, numbers.Integral)
            or model.random_state < 0):
        raise RecommendModelError(
            f"random_state is {model.random_state!r}; pass a non-negative integer seed, or None for a fresh one")


def _new_implicit(cls, **params):
    """An implicit model, without its warning about OpenBLAS threads: fits here limit BLAS to one thread."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(OpenBLAS|MKL).*threads", category=RuntimeWarning)
        return cls(**params)


def _fit_implicit(model, matrix) -> None:
    # implicit parallelises over users itself; a multi-threaded BLAS underneath only slows it down
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        model.fit(matrix, show_progress=False)


class _Factorization(ItemVectorLinks, Recommender):
    """Scores shared by the factor models; items link by the cosine of their factors."""

    def _store(self, fitted, matrix) -> None:
        self.user_factors_ = np.ascontiguousarray(fitted.user_factors, dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(fitted.item_factors, dtype=np.float32)
        self.__dict__.pop("_item_norms", None)
        self.matrix_ = matrix
        self.n_items_ = matrix.shape[1]

    def scores(self, user_rows) -> np.ndarray:
        rows = self._check_rows(user_rows)
        return self.user_factors_[rows] @ self.item_factors_.T


class ALS(_Factorization):
    """Implicit-feedback ALS (Hu, Koren & Volinsky, ICDM 2008) with the conjugate-gradient solver of
    Takács, Pilászy & Tikk (RecSys 2011), via `implicit.cpu.als.AlternatingLeastSquares`.

    Confidence follows implicit: an observed pair weighs `alpha * x_ui`, every unobserved pair 1.
    Defaults are implicit's, except a fixed seed; fits are reproducible at any `num_threads`
    (0 = all cores).
    """

    def __init__(self, factors: int = 100, regularization: float = 0.01, alpha: float = 1.0,
                 iterations: int = 15, random_state: int | None = 0, num_threads: int = 0):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads

    def fit(self, matrix) -> "ALS":
        _check_common(self)
        _check_number("alpha", self.alpha, allow_zero=False, example=10)
        matrix = _as_csr(matrix)
        from implicit.cpu.als import AlternatingLeastSquares

        fitted = _new_implicit(
            AlternatingLeastSquares, factors=self.factors, regularization=self.regularization,
            alpha=self.alpha, iterations=self.iterations, random_state=self.random_state,
            num_threads=self.num_threads)
        _fit_implicit(fitted, matrix)
        self._store(fitted, matrix)
        self.implicit_ = fitted  # kept for fold-in: implicit's own least-squares user solve
        return self

    def _history_scores(self, history) -> np.ndarray:
        """New users folded in without refitting: each history row's factors solved by least squares
        against the fitted item factors (implicit's recalculate_user), then scored."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            factors = self.implicit_.recalculate_user(np.arange(history.shape[0]), history)
        return np.asarray(factors, dtype=np.float32) @ self.item_factors_.T


class BPR(_Factorization):
    """Bayesian Personalized Ranking (Rendle et al., UAI 2009) by SGD on sampled (user, seen item,
    unseen item) triples, via `implicit.cpu.bpr.BayesianPersonalizedRanking`.

    The fit ignores weights (any stored entry is a positive). The last factor column holds an item
    bias (users' last column is 1), so `item_factors_` has `factors + 1` columns. SGD threads race,
    so only `num_threads=1` (the default) gives the same factors on every fit. New users are folded
    in by the same updates against the fitted items (`fold_in`). fold_in_users: after the fit, learn
    every user's factors again that way from their weighted row, so event weights and recency
    (which the fit ignores) decide which of a user's items their vector leans toward.
    """

    def __init__(self, factors: int = 100, learning_rate: float = 0.01, regularization: float = 0.01,
                 iterations: int = 100, random_state: int | None = 0, num_threads: int = 1,
                 fold_in_users: bool = False):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.num_threads = num_threads
        self.fold_in_users = fold_in_users

    def fit(self, matrix) -> "BPR":
        _check_common(self)
        _check_number("learning_rate", self.learning_rate, allow_zero=False, example=0.01)
        if not isinstance(self.fold_in_users, bool):
            raise RecommendModelError(f"fold_in_users is {self.fold_in_users!r}; pass True or False")
        matrix = _as_csr(matrix)
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        fitted = _new_implicit(
            BayesianPersonalizedRanking, factors=self.factors, learning_rate=self.learning_rate,
            regularization=self.regularization, iterations=self.iterations,
            random_state=self.random_state, num_threads=self.num_threads)
        _fit_implicit(fitted, matrix)
        self._store(fitted, matrix)
        if self.fold_in_users:
            self.user_factors_ = self.fold_in(matrix)
        return self

    def _history_scores(self, history) -> np.ndarray:
        """New users folded in without refitting: each history row's factors learned by the same BPR
        updates as in the fit, against the fitted item factors held fixed, then scored."""
        return self.fold_in(history) @ self.item_factors_.T

    def fold_in(self, history, steps: int = 200, batch: int = 32) -> np.ndarray:
        """User factors (`factors + 1` columns, the last 1 for the item bias) for history rows.

        Starting from zero, `steps` SGD steps on the BPR loss, each averaging the gradient over
        `batch` sampled (seen, unseen) pairs per row; seen items are drawn in proportion to their
        weight (so recency-weighted histories favour recent items) and unseen ones uniformly. Seeded
        by `random_state`: the same history gives the same factors.
        """
        history = sp.csr_matrix(history, dtype=np.float32)
        users = np.zeros((history.shape[0], self.item_factors_.shape[1]), dtype=np.float32)
        users[:, -1] = 1.0
        active = np.flatnonzero(np.diff(history.indptr) > 0)
        rng = np.random.default_rng(self.random_state)
        for start in range(0, active.size, 2048):  # bounded memory: rows x batch x factors per step
            rows = active[start:start + 2048]
            users[rows, :-1] = self._fold_rows(history[rows], steps, batch, rng)
        return users

    def _fold_rows(self, history: sp.csr_matrix, steps: int, batch: int, rng) -> np.ndarray:
        n_rows = history.shape[0]
        weights = np.clip(history.data.astype(np.float64), 0.0, None)
        lengths = np.diff(history.indptr)
        totals = np.add.reduceat(weights, history.indptr[:-1])
        flat = np.flatnonzero(totals <= 0)  # rows without positive weight: every seen item alike
        for row in flat:
            weights[history.indptr[row]:history.indptr[row + 1]] = 1.0
        totals[flat] = lengths[flat]
        cumulative = np.cumsum(weights)  # one running total; row r's share spans [before[r], before[r] + totals[r])
        before = cumulative[history.indptr[:-1]] - weights[history.indptr[:-1]]
        vectors = np.zeros((n_rows, self.item_factors_.shape[1] - 1), dtype=np.float32)
        items, bias = self.item_factors_[:, :-1], self.item_factors_[:, -1]
        last = history.indptr[1:, None] - 1
        for _ in range(steps):
            draws = before[:, None] + rng.random((n_rows, batch)) * totals[:, None]
            positive = history.indices[np.minimum(np.searchsorted(cumulative, draws, side="right"), last)]
            negative = rng.integers(0, self.n_items_, (n_rows, batch))
            difference = items[positive] - items[negative]  # rows x batch x factors
            margin = np.einsum("rbf,rf->rb", difference, vectors) + bias[positive] - bias[negative]
            weight = (1.0 / (1.0 + np.exp(np.clip(margin, -30, 30)))).astype(np.float32)  # sigmoid(-margin)
            gradient = np.einsum("rb,rbf->rf", weight, difference) / batch - self.regularization * vectors
            vectors += self.learning_rate * gradient
        return vectors

