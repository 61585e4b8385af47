"""What each order contains: lines drawn from the customer's tastes, spend level and promotions.

Order value target z ~ Gamma(p, nu) (Gamma-Gamma); lines = 1 + Poisson(base + per_spend * z / E[z]).
Each line's category comes from the customer's tastes (favourite with probability
`favourite_share`, else their segment's) reweighted by how well its prices fit z / lines; the
product comes from the price tier holding that value and Zipf popularity. Quantity =
1 + Poisson(mean - 1) with mean = base_quantity * fill * (1 - d) ** -e, where fill tops a cheap
line up to its target value, d is the promotion discount and e the category's price elasticity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import StoreCalendar
from .catalog import Catalog
from .categories import CATEGORIES, DEPARTMENTS
from .truth import CustomerDraws, TruthParams, categorical, segment_category_probs

MAX_LINES = 8
CANDIDATES = 4
PRICE_FIT_SIGMA = 0.6
# A line is never worth less than one unit, so lines overshoot their target value on average;
# targets are shrunk by this factor so the realized mean order value at list price stays close to
# the Gamma-Gamma mean p * gamma / (q - 1) (checked in tests/synth/test_truth.py).
SPEND_CALIBRATION = 0.75
_BASE_Q = np.array([c.base_quantity for c in CATEGORIES])
_MEDIAN = np.array([c.median_price for c in CATEGORIES])
_ELASTICITY = np.array([c.elasticity for c in CATEGORIES])
_DEPT = np.array([DEPARTMENTS.index(c.department) for c in CATEGORIES])


@dataclass
class Lines:
    """One block's order lines, ordered by order then line number."""

    order: np.ndarray  # position of the order in the block
    line_number: np.ndarray
    product: np.ndarray
    category: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    discount: np.ndarray
    amount: np.ndarray
    lines_per_order: np.ndarray


def pick_categories(rng: np.random.Generator, draws: CustomerDraws, cust: np.ndarray, line_value: np.ndarray,
                    params: TruthParams) -> np.ndarray:
    """Category per line: taste (favourite or segment) reweighted by how well its prices fit the line value.

    Draws CANDIDATES categories from the customer's tastes and keeps one with probability proportional
    to a log-normal fit of the line value to the category's median price (sampling-importance-resampling).
    """
    n = len(cust)
    cands = np.empty((n, CANDIDATES), dtype=np.int64)
    probs = segment_category_probs()
    for j in range(CANDIDATES):
        from_segment = categorical(rng, probs, draws.segment[cust])
        cands[:, j] = np.where(rng.random(n) < params.favourite_share, draws.favourite[cust], from_segment)
    misfit = np.log(line_value[:, None] / (_MEDIAN[cands] * _BASE_Q[cands])) / PRICE_FIT_SIGMA
    weight = np.exp(-0.5 * misfit**2) + 1e-12
    cdf = np.cumsum(weight, axis=1)
    pick = (rng.random(n)[:, None] * cdf[:, -1:] >= cdf).sum(axis=1)
    return cands[np.arange(n), np.minimum(pick, CANDIDATES - 1)]


def draw_lines(rng: np.random.Generator, cal: StoreCalendar, catalog: Catalog, draws: CustomerDraws,
               order_customer: np.ndarray, order_day: np.ndarray, params: TruthParams) -> Lines:
    """Draw every line of the given orders."""
    n_orders = len(order_customer)
    z = rng.gamma(params.gg_p, 1 / draws.nu[order_customer])
    extra = params.extra_lines_base + params.extra_lines_per_spend * z / params.mean_orders_value
    k = np.minimum(1 + rng.poisson(extra), MAX_LINES)
    line_order = np.repeat(np.arange(n_orders), k)
    starts = np.cumsum(k) - k
    line_number = np.arange(len(line_order)) - np.repeat(starts, k) + 1
    cust = order_customer[line_order]
    n_lines = len(line_order)

    line_value = SPEND_CALIBRATION * z[line_order] / k[line_order]
    category = pick_categories(rng, draws, cust, line_value, params)
    q0 = _BASE_Q[category]
    target = line_value / q0
    product = catalog.sample(rng, category, target)
    price = catalog.price[product]

    depth = cal.discount(order_day[line_order], _DEPT[category])
    fill = np.clip(target / price, 1.0, 4.0)
    mean_q = q0 * fill * (1.0 - depth) ** -_ELASTICITY[category]
    quantity = (1 + rng.poisson(mean_q - 1.0)).astype(np.float64)
    gross = quantity * price
    discount = np.round(gross * depth, 2)
    amount = np.maximum(np.round(gross - discount, 2), 0.0)
    return Lines(line_order, line_number.astype(np.int64), product, category, quantity, price, discount,
                 amount, k)
