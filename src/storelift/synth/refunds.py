"""Returns: some lines come back 3 to 28 days after the order, at category-specific rates.

A returned line refunds part or all of its units pro rata; returns that would land after the
window's end have not happened yet and are left out. Order status follows from what was returned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .baskets import Lines
from .categories import CATEGORIES

REASONS = ("wrong size", "changed mind", "damaged in transit", "not as described", "arrived late",
           "found a better price", "faulty")
REASON_WEIGHTS = {  # by department: fit issues dominate fashion, faults dominate electronics
    "Fashion": (0.45, 0.2, 0.08, 0.15, 0.05, 0.05, 0.02),
    "Electronics": (0.0, 0.2, 0.15, 0.15, 0.05, 0.1, 0.35),
}
DEFAULT_WEIGHTS = (0.0, 0.35, 0.2, 0.2, 0.1, 0.1, 0.05)
_RATE = np.array([c.return_rate for c in CATEGORIES])
_REASON_PROBS = np.array([REASON_WEIGHTS.get(c.department, DEFAULT_WEIGHTS) for c in CATEGORIES])


@dataclass
class Refunds:
    """One block's returns (line position, quantity, amount, day, reason) and order statuses."""

    line: np.ndarray
    quantity: np.ndarray
    amount: np.ndarray
    day: np.ndarray
    reason: np.ndarray  # index into REASONS
    order_status: np.ndarray  # per order: completed, partially_refunded or refunded


def draw_refunds(rng: np.random.Generator, lines: Lines, order_day: np.ndarray, window_days: float) -> Refunds:
    """Draw which lines are returned, how many units, when and why."""
    n_lines = len(lines.order)
    returned = rng.random(n_lines) < _RATE[lines.category]
    day = order_day[lines.order] + rng.uniform(3, 28, n_lines)
    line = np.flatnonzero(returned & (day < window_days))
    q = lines.quantity[line]
    ret_q = 1 + rng.binomial((q - 1).astype(np.int64), 0.3)
    amount = np.round(lines.amount[line] * ret_q / q, 2)
    probs = _REASON_PROBS / _REASON_PROBS.sum(axis=1, keepdims=True)
    cdf = np.cumsum(probs, axis=1)[lines.category[line]]
    reason = np.minimum((rng.random(len(line))[:, None] >= cdf).sum(axis=1), len(REASONS) - 1)

    n_orders = len(lines.lines_per_order)
    full = np.bincount(lines.order[line], weights=(ret_q == q), minlength=n_orders)
    some = np.bincount(lines.order[line], minlength=n_orders)
    status = np.where(full == lines.lines_per_order, "refunded",
                      np.where(some > 0, "partially_refunded", "completed")).astype(object)
    return Refunds(line, ret_q.astype(np.float64), amount, day[line], reason, status)
