"""Content-based and hybrid recommenders: what to show for products nobody has bought yet.

`ContentKNN` links items by their title, category and description (TF-IDF or MiniLM cosine), so a
new product is recommended to customers who liked similar ones from its first day. `Hybrid` blends
a collaborative model with it: each model's scores are scaled to [0, 1] per customer and summed with
weights, so an item with no interactions still gets the content part of its score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .embeddings import TEXT_ENCODERS, cosine_neighbors, text_vectors
from .models import ItemKNN, Recommender, RecommendModelError, _as_csr


class ContentKNN(ItemKNN):
    """Item-to-item similarity from product text: cosine of TF-IDF (words and word pairs) or of MiniLM
    sentence embeddings, top neighbours per item.

    texts: one string per item column of the matrix it will be fitted on (e.g. title + category +
    description from the products table); empty strings are allowed (such items link to nothing).
    encoder: 'tfidf' (exact words, no model to load) or 'minilm' (meaning; needs the recommend extra).
    """

    def __init__(self, texts: Sequence[str], neighbors: int = 50, min_similarity: float = 0.05,
                 encoder: str = "tfidf"):
        super().__init__(neighbors=neighbors, shrink=0.0)
        self.texts = texts
        self.min_similarity = min_similarity
        self.encoder = encoder

    def fit(self, matrix) -> "ContentKNN":
        self.matrix_ = _as_csr(matrix)
        texts = ["" if t is None else str(t) for t in self.texts]
        if len(texts) != self.matrix_.shape[1]:
            raise RecommendModelError(
                f"texts has {len(texts)} entries but the matrix has {self.matrix_.shape[1]} item columns; "
                "give one text per item column, in the item map's order")
        if not isinstance(self.neighbors, (int, np.integer)) or self.neighbors < 1:
            raise RecommendModelError(f"neighbors is {self.neighbors!r}; pass a positive integer (e.g. 50)")
        if self.encoder not in TEXT_ENCODERS:
            raise RecommendModelError(f"encoder is {self.encoder!r}; pass one of {', '.join(TEXT_ENCODERS)}")
        if not any(t.strip() for t in texts):
            raise RecommendModelError("every item text is empty; fill titles or descriptions in the products table")
        similarity = cosine_neighbors(text_vectors(texts, self.encoder), self.neighbors, self.min_similarity)
        self.similarity_ = similarity.T.tocsr()
        self.n_items_ = self.matrix_.shape[1]
        return self

    # scores, fold-in and item links are ItemKNN's, over the text similarity


def _unit_range(scores: np.ndarray) -> np.ndarray:
    """Each row scaled to [0, 1] by its own max (scores below 0 count as 0), so models of different
    scales can be added."""
    clipped = np.maximum(np.nan_to_num(scores, nan=0.0, neginf=0.0, posinf=0.0), 0.0)
    top = clipped.max(axis=1, keepdims=True)
    return np.divide(clipped, top, out=np.zeros_like(clipped), where=top > 0)


class Hybrid(Recommender):
    """A weighted sum of models' per-customer [0, 1]-scaled scores; every model is fitted on the same matrix.

    models: (model, weight) pairs, e.g. [(EASE(), 1.0), (ContentKNN(texts), 0.3)]. Item links (for
    similar items and explanations) blend the linking models the same way.
    """

    def __init__(self, models: Sequence[tuple[Recommender, float]]):
        self.models = models

    def fit(self, matrix) -> "Hybrid":
        if not self.models:
            raise RecommendModelError("models is empty; pass (model, weight) pairs such as [(EASE(), 1.0)]")
        for model, weight in self.models:
            if not isinstance(model, Recommender) or not np.isfinite(weight) or weight < 0:
                raise RecommendModelError(
                    f"models holds ({type(model).__name__}, {weight!r}); pass recommenders with weights >= 0")
        self.matrix_ = _as_csr(matrix)
        for model, _ in self.models:
            model.fit(self.matrix_)
        self.n_items_ = self.matrix_.shape[1]
        return self

    def scores(self, user_rows) -> np.ndarray:
        rows = self._check_rows(user_rows)
        return sum(weight * _unit_range(model.scores(rows)) for model, weight in self.models).astype(np.float32)

    def _history_scores(self, history: sp.csr_matrix) -> np.ndarray:
        return sum(weight * _unit_range(model.score_history(history))
                   for model, weight in self.models).astype(np.float32)

    def _item_similarities(self, item_rows: np.ndarray) -> np.ndarray:
        """The weighted sum of the linking models' item links, each scaled to [0, 1] per item."""
        linking = [(model, weight) for model, weight in self.models if hasattr(model, "_item_similarities")]
        if not linking:
            raise RecommendModelError("no model in this Hybrid links items; add ItemKNN, EASE or ContentKNN")
        return sum(weight * _unit_range(model._item_similarities(item_rows))
                   for model, weight in linking).astype(np.float32)
