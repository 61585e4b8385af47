"""The product catalog and how a basket line picks a product.

Products are split over categories in proportion to demand; list prices are log-normal around the
category median with retail price endings. Within a category, popularity is Zipf-like (weight
1 / rank ** s) and products fall into price tiers, so a line picks its tier from the customer's
target unit price and then a product by popularity: big spenders buy premium items.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from .categories import (BRANDS_BY_DEPARTMENT, CATEGORIES, COLOURS, FEATURES_BY_DEPARTMENT, SEGMENTS,
                         VENDORS)
from .text import json_strings, numbered_ids, timestamps
from .truth import TruthParams, segment_category_probs

MIN_PER_CATEGORY = 8


@dataclass
class Catalog:
    """The products table plus the arrays baskets and events sample from."""

    table: pa.Table
    ids: pa.Array
    category: np.ndarray  # index into CATEGORIES
    price: np.ndarray
    n_tiers: int
    tier_floor: np.ndarray  # (categories, tiers): lowest list price in each tier
    group_keys: np.ndarray  # sorted group + within-group popularity CDF, for searchsorted sampling
    group_products: np.ndarray  # product index at each key
    event_fields: pa.Array  # '"product_id":..,"sku":..,"name":..,"category":..,"brand":..' per product
    query: pa.Array  # a JSON-quoted search query that finds the product

    def sample(self, rng: np.random.Generator, category: np.ndarray, target_price: np.ndarray) -> np.ndarray:
        """Pick one product per line: the tier holding `target_price`, then by popularity within it."""
        tier = (target_price[:, None] >= self.tier_floor[category, 1:]).sum(axis=1)
        group = category * self.n_tiers + tier
        pos = np.searchsorted(self.group_keys, group + rng.random(len(group)), side="right")
        return self.group_products[np.minimum(pos, len(self.group_products) - 1)]


def catalog_size(customers: int) -> int:
    """Products for a store of this size: about one per 200 customers, between 240 and 5,000."""
    return int(np.clip(customers // 200, 240, 5_000))


def _retail_price(x: np.ndarray) -> np.ndarray:
    """Round to retail endings: 7.49 / 7.99 under 10, 24.99 under 100, 119.99 above."""
    low = np.floor(x * 2) / 2 + 0.49
    mid = np.floor(x) + 0.99
    high = np.ceil(x / 5) * 5 - 0.01
    return np.round(np.where(x < 10, low, np.where(x < 100, mid, high)), 2)


def _title_case(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


def build_catalog(rng: np.random.Generator, n_products: int, start: date, params: TruthParams) -> Catalog:
    """Draw the catalog: counts per category, prices, costs, stock, texts and popularity."""
    shares = np.array([s.share for s in SEGMENTS])
    demand = shares @ segment_category_probs()
    counts = np.maximum(MIN_PER_CATEGORY, np.round(n_products * demand / demand.sum())).astype(int)
    category = np.repeat(np.arange(len(CATEGORIES)), counts)
    n = len(category)
    median = np.array([c.median_price for c in CATEGORIES])[category]
    sigma = np.array([c.price_sigma for c in CATEGORIES])[category]
    price = _retail_price(np.maximum(median * np.exp(sigma * rng.standard_normal(n)), 1.5))
    cost_ratio = np.array([c.cost_ratio for c in CATEGORIES])[category]
    cost = np.round(price * cost_ratio * rng.uniform(0.85, 1.15, n), 2)
    stock = np.where(rng.random(n) < 0.05, 0, rng.poisson(rng.gamma(2.0, 60.0, n)))
    start_epoch = (start - date(1970, 1, 1)).days * 86_400
    created = start_epoch - (rng.uniform(30, 1_000, n) * 86_400).astype(np.int64)

    ids = numbered_ids("P", np.arange(1, n + 1), 5)
    titles, descriptions, brands, vendors, skus, queries = [], [], [], [], [], []
    vendor_of_brand: dict[str, str] = {}
    for i, c in enumerate(category):
        cat = CATEGORIES[c]
        dept = cat.department
        brand = BRANDS_BY_DEPARTMENT[dept][rng.integers(len(BRANDS_BY_DEPARTMENT[dept]))]
        vendor = vendor_of_brand.setdefault(brand, VENDORS[len(vendor_of_brand) % len(VENDORS)])
        noun = cat.nouns[rng.integers(len(cat.nouns))]
        material = cat.materials[rng.integers(len(cat.materials))]
        adjective = cat.adjectives[rng.integers(len(cat.adjectives))]
        colour = COLOURS[rng.integers(len(COLOURS))]
        feature = FEATURES_BY_DEPARTMENT[dept][rng.integers(len(FEATURES_BY_DEPARTMENT[dept]))]
        title = _title_case(f"{adjective} {material} {noun}")
        if dept == "Fashion":
            title += f", {_title_case(colour)}"
        titles.append(f"{brand} {title}")
        descriptions.append(
            f"{adjective.capitalize()} {noun} in {material}, {feature}. "
            f"Part of the {brand} {cat.path.split(' > ')[-1].lower()} range, in {colour}. "
            f"A {['reliable', 'thoughtful', 'popular', 'great-value'][i % 4]} choice for "
            f"{['everyday use', 'gifting', 'the home', 'the season ahead'][rng.integers(4)]}.")
        brands.append(brand)
        vendors.append(vendor)
        skus.append(f"{brand[:3].upper()}-{i + 1:05d}")
        queries.append([noun, f"{material} {noun}", f"{adjective} {noun}", f"{brand.lower()} {noun}"]
                       [rng.integers(4)])
    table = pa.table({
        "product_id": ids,
        "title": pa.array(titles, pa.string()),
        "description": pa.array(descriptions, pa.string()),
        "category": pa.array([CATEGORIES[c].path for c in category], pa.string()),
        "brand": pa.array(brands, pa.string()),
        "vendor": pa.array(vendors, pa.string()),
        "price": pa.array(price),
        "cost": pa.array(cost),
        "currency": pa.array([params.currency] * n, pa.string()),
        "product_type": pa.array(["merchandise"] * n, pa.string()),
        "stock_quantity": pa.array(stock.astype(np.int64)),
        "created_at": timestamps(created),
    })
    event_fields = pa.array([
        f'"product_id":"{pid}","sku":"{sku}","name":{json.dumps(t)},'
        f'"category":{json.dumps(CATEGORIES[c].path)},"brand":{json.dumps(b)}'
        for pid, sku, t, c, b in zip(ids.to_pylist(), skus, titles, category, brands)], pa.string())

    # Popularity rank and price tier are both positions within the category.
    n_tiers = int(max(1, min(6, counts.min() // 4)))
    rank = np.empty(n, dtype=np.int64)
    tier = np.empty(n, dtype=np.int64)
    tier_floor = np.zeros((len(CATEGORIES), n_tiers))
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for c in range(len(CATEGORIES)):
        lo, hi = offsets[c], offsets[c + 1]
        rank[lo:hi] = rng.permutation(hi - lo)
        by_price = lo + np.argsort(price[lo:hi], kind="stable")
        tiers_here = (np.arange(hi - lo) * n_tiers) // (hi - lo)
        tier[by_price] = tiers_here
        tier_floor[c] = [price[by_price[tiers_here == t][0]] for t in range(n_tiers)]
    weight = 1.0 / (rank + 1.0) ** params.zipf_exponent
    group = category * n_tiers + tier
    order = np.lexsort((rank, group))
    w_sorted, g_sorted = weight[order], group[order]
    cum = np.cumsum(w_sorted)
    first = np.r_[True, g_sorted[1:] != g_sorted[:-1]]
    start_idx = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    before = np.where(start_idx > 0, cum[start_idx - 1], 0.0)
    last = np.r_[first[1:], True]
    group_total = np.zeros(len(CATEGORIES) * n_tiers)
    group_total[g_sorted[last]] = cum[last] - before[last]
    within = (cum - before) / group_total[g_sorted]
    within[last] = 1.0
    return Catalog(table, ids, category, price, n_tiers, tier_floor, g_sorted + within, order,
                   event_fields, json_strings(queries))
