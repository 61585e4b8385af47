"""SASRec's state after one sequence, computed in numpy from the trained weights: the serving path.

A request reads one short sequence; through torch that is about a hundred small operations whose
dispatch costs more than their arithmetic. The same network in numpy (inference only: no dropout,
no padding) costs a fraction of that and gives the same state to float32 precision (tested).
"""

from __future__ import annotations

import math

import numpy as np

LAYER_NORM_EPS = 1e-8  # as the network's LayerNorms


def numpy_weights(state_dict) -> dict[str, np.ndarray]:
    """The network's weights as float32 numpy arrays, by the state dict's names."""
    return {name: value.detach().cpu().numpy().astype(np.float32 if value.is_floating_point() else np.int64)
            for name, value in state_dict.items()}


def sequence_state(weights: dict[str, np.ndarray], tokens: np.ndarray, *, hidden: int, heads: int,
                   blocks: int) -> np.ndarray:
    """The final normed state at the newest position of one unpadded token sequence (item rows + 1)."""
    length = len(tokens)
    x = weights["items.weight"][tokens]
    if "features.weight" in weights:
        x = x + weights["features.weight"][weights["feature_codes"][tokens]]
    x = x * np.float32(math.sqrt(hidden)) + weights["positions.weight"][np.arange(length - 1, -1, -1)]
    blocked = np.triu(np.ones((length, length), dtype=bool), 1)  # a position sees itself and earlier ones
    size = hidden // heads
    for b in range(blocks):
        w = f"blocks.{b}."
        normed = _layer_norm(x, weights[w + "attention_norm.weight"], weights[w + "attention_norm.bias"])
        query = _linear(normed, weights, w + "query").reshape(length, heads, size).transpose(1, 0, 2)
        key_value = _linear(x, weights, w + "key_value")
        key = key_value[:, :hidden].reshape(length, heads, size).transpose(1, 0, 2)
        value = key_value[:, hidden:].reshape(length, heads, size).transpose(1, 0, 2)
        scores = query @ key.transpose(0, 2, 1) / np.float32(math.sqrt(size))
        scores[:, blocked] = -np.inf
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        attended = (scores @ value).transpose(1, 0, 2).reshape(length, hidden)
        x = normed + _linear(attended, weights, w + "project")
        normed = _layer_norm(x, weights[w + "feed_norm.weight"], weights[w + "feed_norm.bias"])
        inner = np.maximum(_linear(normed, weights, w + "feed.0"), 0.0)
        x = normed + _linear(inner, weights, w + "feed.3")
    return _layer_norm(x[-1], weights["final_norm.weight"], weights["final_norm.bias"])


def _linear(x: np.ndarray, weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    return x @ weights[name + ".weight"].T + weights[name + ".bias"]


def _layer_norm(x: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + np.float32(LAYER_NORM_EPS)) * scale + shift
