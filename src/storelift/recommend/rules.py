"""Business rules on a ranked candidate list: exclusions, stock, diversity caps and vendor balance.

Rules are pure functions of item columns (positions in the model's item map) and a catalog, so every
model's list passes through the same ones. `ItemCatalog` holds what they need per item column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .interactions import RecommendDataError


@dataclass(frozen=True)
class ItemCatalog:
    """Per item column: title, category, brand, vendor and whether it can be sold now."""

    items: pd.Index
    title: np.ndarray
    category: np.ndarray
    brand: np.ndarray
    vendor: np.ndarray
    in_stock: np.ndarray  # bool; True when stock is unknown

    @classmethod
    def from_products(cls, products: pd.DataFrame, items: pd.Index) -> "ItemCatalog":
        """Line the products table up with a model's item map; unknown items get empty attributes.

        An item is out of stock only when products.stock_quantity is known and <= 0.
        """
        if "product_id" not in products.columns:
            raise RecommendDataError(
                f"products lack column 'product_id'; have {list(products.columns)}; pass the products table")
        table = products.drop_duplicates("product_id", keep="last").set_index("product_id").reindex(pd.Index(items))

        def text(column: str) -> np.ndarray:
            if column not in table.columns:
                return np.full(len(items), None, dtype=object)
            values = table[column].astype(object)
            return values.where(values.notna(), None).to_numpy(dtype=object)

        stock = table["stock_quantity"] if "stock_quantity" in table.columns else pd.Series(np.nan, index=table.index)
        in_stock = ~(pd.to_numeric(stock, errors="coerce") <= 0).to_numpy()
        return cls(pd.Index(items), text("title"), text("category"), text("brand"), text("vendor"), in_stock)

    def label(self, column: int) -> str:
        """The item's title, or its id when the catalog has no title."""
        title = self.title[column]
        return str(title) if title is not None else str(self.items[column])


@dataclass(frozen=True)
class RecommendationRules:
    """What may be shown. repurchase_days: a bought item returns after this many days (None: never);
    exclude_seen: drop items the user already interacted with in the fitted data; caps limit how many
    items of one category / brand / vendor a list holds (None: no cap)."""

    repurchase_days: float | None = None
    exclude_seen: bool = True
    exclude_out_of_stock: bool = True
    max_per_category: int | None = None
    max_per_brand: int | None = None
    max_per_vendor: int | None = None

    def __post_init__(self):
        if self.repurchase_days is not None and not (np.isfinite(self.repurchase_days) and self.repurchase_days >= 0):
            raise RecommendDataError(
                f"repurchase_days is {self.repurchase_days!r}; pass a number of days >= 0, or None to never repeat")
        for name in ("max_per_category", "max_per_brand", "max_per_vendor"):
            cap = getattr(self, name)
            if cap is not None and (not isinstance(cap, (int, np.integer)) or cap < 1):
                raise RecommendDataError(f"{name} is {cap!r}; pass a positive integer or None for no cap")


def recently_bought(purchases: pd.DataFrame | None, items: pd.Index, now, repurchase_days: float | None) -> np.ndarray:
    """Item columns bought inside the repurchase window before `now` (every bought item when it is None).

    purchases: columns item_id and purchased_at; items the model does not know are ignored.
    """
    if purchases is None or len(purchases) == 0:
        return np.empty(0, dtype=np.int64)
    missing = [c for c in ("item_id", "purchased_at") if c not in purchases.columns]
    if missing:
        raise RecommendDataError(f"purchases lack column(s) {missing}; pass item_id and purchased_at per bought item")
    chosen = purchases
    if repurchase_days is not None:
        when = pd.to_datetime(purchases["purchased_at"])
        stamp = pd.Timestamp(now)
        if getattr(when.dt, "tz", None) is not None and stamp.tzinfo is None:
            stamp = stamp.tz_localize(when.dt.tz)
        chosen = purchases[when > stamp - pd.Timedelta(days=float(repurchase_days))]
    columns = items.get_indexer(pd.Index(chosen["item_id"]))
    return np.unique(columns[columns >= 0]).astype(np.int64)


def apply_caps(order: np.ndarray, catalog: ItemCatalog, rules: RecommendationRules, k: int) -> np.ndarray:
    """Walk `order` (item columns, best first) and keep the first k that respect the per-attribute caps."""
    caps = [(catalog.category, rules.max_per_category), (catalog.brand, rules.max_per_brand),
            (catalog.vendor, rules.max_per_vendor)]
    caps = [(values, cap) for values, cap in caps if cap is not None]
    if not caps:
        return order[:k]
    counts: list[dict] = [{} for _ in caps]
    kept: list[int] = []
    for column in order:
        keys = [values[column] for values, _ in caps]
        if any(key is not None and seen.get(key, 0) >= cap for key, seen, (_, cap) in zip(keys, counts, caps)):
            continue
        for key, seen in zip(keys, counts):
            if key is not None:
                seen[key] = seen.get(key, 0) + 1
        kept.append(int(column))
        if len(kept) == k:
            break
    return np.asarray(kept, dtype=np.int64)


def exposure_share(recommendations: pd.DataFrame, catalog: ItemCatalog, by: str = "vendor") -> pd.DataFrame:
    """Share of recommended slots per vendor / brand / category beside its share of the catalog.

    recommendations: one row per shown item with an item_row column. Columns: <by>, exposure_share,
    catalog_share, ratio (exposure / catalog; 1 = proportional).
    """
    if by not in ("vendor", "brand", "category"):
        raise RecommendDataError(f"by is {by!r}; pass 'vendor', 'brand' or 'category'")
    values = pd.Series(getattr(catalog, by), dtype=object).fillna("(unknown)")
    shown = values.iloc[recommendations["item_row"].to_numpy()].value_counts(normalize=True)
    listed = values.value_counts(normalize=True)
    out = pd.DataFrame({"exposure_share": shown, "catalog_share": listed}).fillna(0.0)
    out["ratio"] = out["exposure_share"] / out["catalog_share"]
    out.index.name = by
    return out.sort_values("exposure_share", ascending=False).reset_index()
