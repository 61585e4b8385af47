"""Candidate models on a user x item matrix: Popularity (overall or per segment), ItemKNN (shrunk
cosine or BM25) and EASE.

One interface for all: `fit(matrix) -> self`, `scores(user_rows) -> dense (users x items) array`,
`recommend(user_rows, k, exclude=matrix) -> DataFrame`; models with an item-item notion also give
`similar_items(item_rows, k) -> DataFrame`. Rows and columns are positions in the `Interactions`
matrix the model was fitted on.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp

from ..errors import StoreliftError

RECOMMENDATION_COLUMNS = ("user_row", "rank", "item_row", "score")
SIMILAR_ITEM_COLUMNS = ("item_row", "rank", "similar_item_row", "score")


class RecommendModelError(StoreliftError, ValueError):
    """A recommender was given bad parameters, used before `fit`, or asked for unknown rows."""


def optional_module(name: str, purpose: str):
    """Import a dependency of the recommend extra, or raise naming what needs it and how to install it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:  # pragma: no cover - depends on the install
        raise RecommendModelError(
            f"{purpose} needs {name}; install the recommend extra: pip install 'storelift[recommend]'") from error


def _as_csr(matrix) -> sp.csr_matrix:
    if not sp.issparse(matrix):
        raise RecommendModelError(
            f"matrix is {type(matrix).__name__}; pass a scipy.sparse user x item matrix "
            "(e.g. interaction_matrix(...).matrix)")
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    if matrix.shape[0] == 0 or matrix.shape[1] == 0 or matrix.nnz == 0:
        raise RecommendModelError(
            f"matrix has shape {matrix.shape} and {matrix.nnz} interactions; fit on a non-empty matrix")
    return matrix


@functools.lru_cache(maxsize=None)
def _parameter_defaults(cls) -> dict:
    """The defaults of a model class's constructor parameters."""
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


class Recommender:
    """Shared interface: subclasses set `n_items_` (and whatever they need) in `fit` and define `scores`."""

    def __setstate__(self, state: dict) -> None:
        """Unpickle; a parameter added after the model was saved takes its default, so an artifact
        saved by an earlier version still serves and can be refitted (as erasure does)."""
        self.__dict__.update({**_parameter_defaults(type(self)), **state})

    def fit(self, matrix) -> "Recommender":  # pragma: no cover - abstract
        raise NotImplementedError

    def scores(self, user_rows) -> np.ndarray:  # pragma: no cover - abstract
        """Dense float32 scores, one row per user in `user_rows`, one column per item; higher is better."""
        raise NotImplementedError

    def score_history(self, history) -> np.ndarray:
        """Scores for users the model was not fitted on, from their history rows (users x items, sparse),
        without refitting: how new customers and anonymous sessions are folded in."""
        self._check_fitted()
        if not sp.issparse(history) or history.shape[1] != self.n_items_:
            raise RecommendModelError(
                f"history must be a sparse users x {self.n_items_} matrix; got "
                f"{getattr(history, 'shape', type(history).__name__)}; build it with personalize.history_vector")
        return self._history_scores(sp.csr_matrix(history, dtype=np.float32))

    def _history_scores(self, history: sp.csr_matrix) -> np.ndarray:
        raise RecommendModelError(f"{type(self).__name__} cannot fold in a new history; refit it instead")

    def _item_links(self, item_rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        """How strongly each of `item_rows` links to each of `other_rows` (len(item_rows) x
        len(other_rows)); models that link items define `_item_similarities`, and a model may answer
        this faster for a few rows, as factor models do."""
        return self._item_similarities(np.asarray(item_rows))[:, np.asarray(other_rows)]

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise RecommendModelError(f"{type(self).__name__} is not fitted; call .fit(matrix) first")

    def _check_rows(self, user_rows) -> np.ndarray:
        self._check_fitted()
        rows = np.atleast_1d(np.asarray(user_rows, dtype=np.int64))
        if rows.size and (rows.min() < 0 or rows.max() >= self.matrix_.shape[0]):
            raise RecommendModelError(
                f"user_rows must lie in [0, {self.matrix_.shape[0]}); got min {rows.min()}, max {rows.max()}; "
                "map store ids with Interactions.user_rows")
        return rows

    def _user_matrix(self, user_rows) -> sp.csr_matrix:
        return self.matrix_[self._check_rows(user_rows)]

    def recommend(self, user_rows, k: int = 10, exclude=None) -> pd.DataFrame:
        """Top-`k` items per user, best first: columns user_row, rank (1 = best), item_row, score.

        `exclude` is a user x item sparse matrix (usually the fitted matrix); its stored items for
        each user are never recommended. Ties break towards the lower item row.
        """
        self._check_fitted()
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise RecommendModelError(f"k is {k!r}; pass a positive integer number of items")
        rows = np.atleast_1d(np.asarray(user_rows, dtype=np.int64))
        scores = self.scores(rows).astype(np.float32, copy=True)
        if exclude is not None:
            mask_excluded(scores, sp.csr_matrix(exclude), rows)
        top = top_k(scores, k)
        return ranked_frame(rows, top, np.take_along_axis(scores, top, axis=1), RECOMMENDATION_COLUMNS)

    def similar_items(self, item_rows, k: int = 10) -> pd.DataFrame:
        """The `k` items most similar to each item, best first: columns item_row, rank (1 = best),
        similar_item_row, score. An item is never its own neighbour; items with no similarity
        (e.g. outside an ItemKNN neighbourhood) are left out, so an item may get fewer than k."""
        self._check_fitted()
        if not hasattr(self, "_item_similarities"):
            raise RecommendModelError(
                f"{type(self).__name__} has no item similarities; use ItemKNN, EASE, ALS, BPR or SASRec")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise RecommendModelError(f"k is {k!r}; pass a positive integer number of items")
        rows = np.atleast_1d(np.asarray(item_rows, dtype=np.int64))
        if rows.size and (rows.min() < 0 or rows.max() >= self.n_items_):
            raise RecommendModelError(
                f"item_rows must lie in [0, {self.n_items_}); got min {rows.min()}, max {rows.max()}; "
                "map store ids with Interactions.item_rows")
        similarity = np.array(self._item_similarities(rows), dtype=np.float32)
        similarity[np.arange(len(rows)), rows] = -np.inf
        top = top_k(similarity, k)
        return ranked_frame(rows, top, np.take_along_axis(similarity, top, axis=1), SIMILAR_ITEM_COLUMNS)


def ranked_frame(rows: np.ndarray, top: np.ndarray, top_scores: np.ndarray, columns) -> pd.DataFrame:
    """Long frame of per-row top lists: (row, rank 1.., item, score), dropping -inf / NaN scores and
    -1 items (padding). `columns` names the four columns."""
    keep = np.isfinite(top_scores) & (top >= 0)
    n = top.shape[1]
    return pd.DataFrame(dict(zip(columns, (
        np.repeat(rows, n)[keep.ravel()], np.tile(np.arange(1, n + 1), len(rows))[keep.ravel()],
        top[keep], top_scores[keep]))), columns=list(columns))


def mask_excluded(scores: np.ndarray, exclude: sp.csr_matrix, user_rows: np.ndarray) -> None:
    """Set scores of each user's excluded items to -inf, in place."""
    if exclude.shape[1] != scores.shape[1]:
        raise RecommendModelError(
            f"exclude has {exclude.shape[1]} item columns but the model scores {scores.shape[1]}; "
            "pass the matrix the model was fitted on")
    sub = exclude[user_rows]
    batch_rows = np.repeat(np.arange(len(user_rows)), np.diff(sub.indptr))
    scores[batch_rows, sub.indices] = -np.inf


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k best scores per row, best first; ties go to the lower column."""
    k = min(k, scores.shape[1])
    candidates = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < scores.shape[1] else \
        np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    # argpartition may cut a tie arbitrarily; widen to every item tied with the k-th score, then sort.
    kth = np.take_along_axis(scores, candidates, axis=1).min(axis=1, keepdims=True)
    out = np.empty((scores.shape[0], k), dtype=np.int64)
    for i in range(scores.shape[0]):
        pool = np.flatnonzero(scores[i] >= kth[i]) if k < scores.shape[1] else candidates[i]
        order = np.lexsort((pool, -scores[i, pool]))
        out[i] = pool[order[:k]]
    return out


class ItemVectorLinks:
    """Item links for a model with one vector per item in `item_factors_` (factor models, SASRec): the
    cosine of two items' vectors; what similar items and "because you showed interest in X" read.
    Mixed in before Recommender; a refit drops the cached norms (`_item_norms`)."""

    def _item_similarities(self, item_rows: np.ndarray) -> np.ndarray:
        """Cosine of item vectors (an item with an all-zero vector is similar to nothing)."""
        return self._unit_factors(np.asarray(item_rows)) @ self._unit_factors(slice(None)).T

    def _item_links(self, item_rows: np.ndarray, other_rows: np.ndarray) -> np.ndarray:
        """Cosine of a few items' vectors with a few others' only (an explanation reads a history, not
        the catalog)."""
        return self._unit_factors(np.asarray(item_rows)) @ self._unit_factors(np.asarray(other_rows)).T

    def _unit_factors(self, rows) -> np.ndarray:
        norms = self.__dict__.get("_item_norms")
        if norms is None:  # once per fit: explanations read a few rows on every request
            norms = np.linalg.norm(self.item_factors_, axis=1)
            norms[norms == 0] = np.inf
            self._item_norms = norms
        return self.item_factors_[rows] / norms[rows, None]


class Popularity(Recommender):
    """Most popular items: item score = sum of its column (interaction count or decayed weight).

    The non-personalized baseline and the fallback for new visitors and withheld consent. With
    `segments` (one label per user row of the matrix it is fitted on: a country, an acquisition
    channel, a customer segment) each segment also gets its own list, its members' item totals
    shrunk toward the overall shares: (segment total of i + shrinkage * share of i overall) /
    (segment total + shrinkage), so a segment with little evidence reads mostly the overall list.
    A user is scored with their segment's list; `segment_scores(label)` gives a segment's list for a
    request that names it (a visitor in a known context). Users without a segment (None/NaN) and
    unknown labels get the overall list.
    """

    def __init__(self, segments=None, shrinkage: float = 20.0):
        self.segments = segments
        self.shrinkage = shrinkage

    def fit(self, matrix) -> "Popularity":
        self.matrix_ = _as_csr(matrix)
        self.item_scores_ = np.asarray(self.matrix_.sum(axis=0), dtype=np.float32).ravel()
        self.n_items_ = self.matrix_.shape[1]
        self._no_segments()
        if self.segments is not None:
            self._fit_segments()
        return self

    def _no_segments(self) -> None:
        self._folded = None
        self.segment_labels_ = pd.Index([])
        self.user_segments_ = np.full(self.matrix_.shape[0], -1, dtype=np.int32)
        self.segment_scores_ = np.empty((0, self.n_items_), dtype=np.float32)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if "n_items_" in state and "user_segments_" not in state:  # fitted before segments existed
            self._no_segments()

    def _fit_segments(self) -> None:
        if not (np.isfinite(self.shrinkage) and self.shrinkage >= 0):
            raise RecommendModelError(f"shrinkage is {self.shrinkage!r}; pass a number >= 0 (e.g. 20)")
        labels = pd.Series(list(self.segments), dtype=object)
        if len(labels) != self.matrix_.shape[0]:
            raise RecommendModelError(
                f"segments has {len(labels)} labels for a matrix of {self.matrix_.shape[0]} users; pass one "
                "label per user row (None for a user without a segment)")
        codes, uniques = pd.factorize(labels, use_na_sentinel=True)
        self.segment_labels_ = pd.Index(uniques)
        self.user_segments_ = codes.astype(np.int32)
        grouped = sp.csr_matrix((np.ones(len(codes[codes >= 0]), dtype=np.float32),
                                 (codes[codes >= 0], np.flatnonzero(codes >= 0))),
                                shape=(len(uniques), self.matrix_.shape[0]))
        totals = np.asarray((grouped @ self.matrix_).toarray(), dtype=np.float64)
        shares = self.item_scores_.astype(np.float64) / max(float(self.item_scores_.sum()), 1e-12)
        blended = (totals + self.shrinkage * shares) / (totals.sum(axis=1, keepdims=True) + self.shrinkage + 1e-12)
        self.segment_scores_ = blended.astype(np.float32)

    def segment_position(self, label) -> int:
        """The row of `label` in `segment_scores_`, or -1 for a label the model was not fitted with.
        A text label also matches regardless of case and surrounding spaces ("de " finds "DE": a
        storefront's locale), unless two fitted labels differ only so."""
        self._check_fitted()
        try:
            position = self.segment_labels_.get_loc(label)
        except (KeyError, TypeError, pd.errors.InvalidIndexError):
            position = None
        if isinstance(position, (int, np.integer)):
            return int(position)
        if not isinstance(label, str):
            return -1
        return self._folded_labels().get(label.strip().casefold(), -1)

    def _folded_labels(self) -> dict[str, int]:
        """Case-folded text label -> row, for the labels no other label folds to."""
        folded = getattr(self, "_folded", None)
        if folded is None:
            keys = [str(v).strip().casefold() if isinstance(v, str) else None for v in self.segment_labels_]
            counts = pd.Series([k for k in keys if k is not None], dtype=object).value_counts()
            folded = {k: row for row, k in enumerate(keys) if k is not None and counts[k] == 1}
            self._folded = folded
        return folded

    def segment_scores(self, label) -> np.ndarray | None:
        """A segment's item scores (one per item), or None for a label the model was not fitted with."""
        position = self.segment_position(label)
        return self.segment_scores_[position] if position >= 0 else None

    def scores(self, user_rows) -> np.ndarray:
        rows = self._check_rows(user_rows)
        out = np.broadcast_to(self.item_scores_, (len(rows), self.n_items_)).copy()
        segment = self.user_segments_[rows]
        if (segment >= 0).any():  # segment shares, ranked within the user's own segment
            out[segment >= 0] = self.segment_scores_[segment[segment >= 0]]
        return out

    def _history_scores(self, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (history.shape[0], self.n_items_)).copy()


SIMILARITIES = ("cosine", "bm25")


def bm25_weight(matrix: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """Okapi BM25 weights of a users x items matrix, read as one document per item whose terms are
    its users: entry x (k1 + 1) / (k1 (1 - b + b len_i / mean len) + x) x idf_u, where len_i is the
    item's total and idf_u = log(n_items) - log(1 + items of user u). A user who touched
    everything says little about any two items; a very popular item's counts saturate."""
    coo = sp.coo_matrix(matrix, dtype=np.float64)
    n_items = coo.shape[1]
    idf = np.log(n_items) - np.log1p(np.bincount(coo.row, minlength=coo.shape[0]))
    lengths = np.asarray(coo.sum(axis=0)).ravel()
    norm = (1.0 - b) + b * lengths / max(lengths.mean(), 1e-12)
    data = coo.data * (k1 + 1.0) / (k1 * norm[coo.col] + coo.data) * idf[coo.row]
    return sp.csr_matrix((data, (coo.row, coo.col)), shape=coo.shape)


class ItemKNN(Recommender):
    """Item-based k-nearest neighbours (Sarwar et al. 2001; Deshpande & Karypis 2004).

    similarity="cosine": sim(i, j) = <x_i, x_j> / (|x_i| |x_j| + shrink), the cosine between item
    columns, shrunk towards 0 for items seen together rarely. similarity="bm25": sim(i, j) =
    <w_i, w_j> of the BM25-weighted columns (`bm25_weight` with k1, b; shrink unused), which
    discounts heavy users and saturates popular items. Each item keeps its `neighbors` most similar
    items; a user's score for item j sums sim(i, j) over the items i they interacted with that are
    neighbours of j.
    """

    def __init__(self, neighbors: int = 100, shrink: float = 10.0, similarity: str = "cosine",
                 k1: float = 1.2, b: float = 0.75):
        self.neighbors = neighbors
        self.shrink = shrink
        self.similarity = similarity
        self.k1 = k1
        self.b = b

    def fit(self, matrix) -> "ItemKNN":
        if not isinstance(self.neighbors, (int, np.integer)) or self.neighbors < 1:
            raise RecommendModelError(f"neighbors is {self.neighbors!r}; pass a positive integer (e.g. 100)")
        if not np.isfinite(self.shrink) or self.shrink < 0:
            raise RecommendModelError(f"shrink is {self.shrink!r}; pass a number >= 0 (e.g. 10)")
        if self.similarity not in SIMILARITIES:
            raise RecommendModelError(f"similarity is {self.similarity!r}; pass one of {SIMILARITIES}")
        if not (np.isfinite(self.k1) and self.k1 > 0) or not 0 <= self.b <= 1:
            raise RecommendModelError(f"k1={self.k1!r}, b={self.b!r}; pass k1 > 0 and b in [0, 1] (e.g. 1.2, 0.75)")
        self.matrix_ = _as_csr(matrix)
        similar = self._bm25_products() if self.similarity == "bm25" else self._shrunk_cosines()
        similar.setdiag(0.0)
        similar.eliminate_zeros()
        # row j of `similar` = candidate neighbours of j; keep the top ones, then score = X @ kept.T
        self.similarity_ = _keep_top_per_row(similar, self.neighbors).T.tocsr()
        self.n_items_ = self.matrix_.shape[1]
        return self

    def _shrunk_cosines(self) -> sp.csr_matrix:
        columns = self.matrix_.tocsc()
        norms = np.sqrt(np.asarray(columns.multiply(columns).sum(axis=0)).ravel()).astype(np.float32)
        cooccurrence = (columns.T @ columns).tocsr().astype(np.float32)
        # divide each stored co-occurrence by |x_i| |x_j| + shrink
        coo = cooccurrence.tocoo()
        similarity = coo.data / (norms[coo.row] * norms[coo.col] + np.float32(self.shrink) + np.float32(1e-12))
        return sp.csr_matrix((similarity, (coo.row, coo.col)), shape=cooccurrence.shape, dtype=np.float32)

    def _bm25_products(self) -> sp.csr_matrix:
        weighted = bm25_weight(self.matrix_, self.k1, self.b).tocsc()
        return (weighted.T @ weighted).tocsr().astype(np.float32)

    def scores(self, user_rows) -> np.ndarray:
        return self._history_scores(self._user_matrix(user_rows))

    def _history_scores(self, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray((history @ self.similarity_).toarray(), dtype=np.float32)

    def _item_similarities(self, item_rows: np.ndarray) -> np.ndarray:
        """Column j of `similarity_`: j's kept neighbours and their similarity; others -inf."""
        columns = self.similarity_[:, item_rows].T.tocsr()
        dense = np.full(columns.shape, -np.inf, dtype=np.float32)
        dense[np.repeat(np.arange(columns.shape[0]), np.diff(columns.indptr)), columns.indices] = columns.data
        return dense


def _keep_top_per_row(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Zero all but the `keep` largest entries of each CSR row (ties to the lower column)."""
    counts = np.diff(matrix.indptr)
    if counts.max(initial=0) <= keep:
        return matrix
    mask = np.ones(matrix.nnz, dtype=bool)
    for row in np.flatnonzero(counts > keep):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        order = np.lexsort((matrix.indices[start:end], -matrix.data[start:end]))
        mask[start + order[keep:]] = False
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    return sp.csr_matrix((matrix.data[mask], (rows[mask], matrix.indices[mask])), shape=matrix.shape)


def _spd_inverse(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite matrix by Cholesky (LAPACK potrf + potri), about half
    the work of an LU inverse. `matrix` is overwritten and its memory reused, so a 20k catalog needs
    one n x n array here, not three."""
    # the transpose of a symmetric C-ordered array is the same matrix in Fortran order: LAPACK works in place
    work = matrix.T if matrix.flags.c_contiguous else matrix
    potrf, potri = scipy.linalg.get_lapack_funcs(("potrf", "potri"), (work,))
    factor, info = potrf(work, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise RecommendModelError(
            f"X^T X + lambda_ I is not positive definite (LAPACK potrf info={info}); "
            "raise lambda_ or use dtype='float64'")
    upper, info = potri(factor, lower=False, overwrite_c=True)
    if info != 0:
        raise RecommendModelError(f"inverting X^T X + lambda_ I failed (LAPACK potri info={info}); raise lambda_")
    _mirror_upper(upper)
    return upper.T if not upper.flags.c_contiguous else upper  # symmetric: same values, C order


def _mirror_upper(square: np.ndarray, block: int = 1024) -> None:
    """Copy the upper triangle onto the lower one in place, a block of rows at a time (bounded memory)."""
    for start in range(0, square.shape[0], block):
        end = min(start + block, square.shape[0])
        square[start:end, :start] = square[:start, start:end].T
        diagonal = square[start:end, start:end]
        diagonal[...] = np.triu(diagonal) + np.triu(diagonal, 1).T


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, WWW 2019), closed form.

    B = I - P diag(1 / diag(P)) with P = (X^T X + lambda_ I)^-1, so diag(B) = 0; scores = X_u B.
    Dense item x item: memory is 4 (float32) or 8 (float64) bytes x n_items^2, so it refuses
    catalogs above `max_items` (about 1.6 GB at 20k items in float32). binarize: fit B on which items
    each user has (X > 0) and let the matrix's weights (recency, event kind) act only in the scores
    X_u B, so a weighted history ranks by what the customer did last without distorting B.
    """

    def __init__(self, lambda_: float = 500.0, dtype: str = "float32", max_items: int = 20_000,
                 binarize: bool = True):
        self.lambda_ = lambda_
        self.dtype = dtype
        self.max_items = max_items
        self.binarize = binarize

    def fit(self, matrix) -> "EASE":
        if not np.isfinite(self.lambda_) or self.lambda_ <= 0:
            raise RecommendModelError(f"lambda_ is {self.lambda_!r}; pass a positive L2 strength (e.g. 500)")
        if self.dtype not in ("float32", "float64"):
            raise RecommendModelError(f"dtype is {self.dtype!r}; pass 'float32' or 'float64'")
        self.matrix_ = _as_csr(matrix)
        n_items = self.matrix_.shape[1]
        if n_items > self.max_items:
            raise RecommendModelError(
                f"EASE needs a dense {n_items} x {n_items} matrix; that is above max_items={self.max_items}. "
                "Drop rare items first, or raise max_items if memory allows")
        fit_on = self.matrix_
        if self.binarize:  # which items go together; the weights (recency, event kind) act when scoring
            fit_on = self.matrix_.copy()
            fit_on.data[:] = 1.0
        gram = (fit_on.T @ fit_on).toarray().astype(self.dtype, copy=False)
        gram[np.diag_indices(n_items)] += self.lambda_
        precision = _spd_inverse(gram)  # gram's memory is reused
        del gram
        diagonal = np.diag(precision).copy()
        precision /= -diagonal  # column j divided by -P_jj
        precision[np.diag_indices(n_items)] = 0.0
        self.weights_ = precision  # C order, so sparse @ dense does not copy it per batch
        self.n_items_ = n_items
        return self

    def scores(self, user_rows) -> np.ndarray:
        return self._history_scores(self._user_matrix(user_rows))

    def _history_scores(self, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray(history.astype(self.weights_.dtype) @ self.weights_, dtype=np.float32)

    def _item_similarities(self, item_rows: np.ndarray) -> np.ndarray:
        """Column j of B: how strongly each other item predicts j (Steck 2019 reads B this way)."""
        return self.weights_[:, item_rows].T
