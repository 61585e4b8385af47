"""Uplift modelling data from a randomized campaign: features, treatment flag, outcome (and the truth when known).

Two sources, both pure (frames in, frames out):
- the Hillstrom MineThatData e-mail test (one row per customer with its arm and outcomes);
- a store's own campaign: pre-send behaviour from orders, order lines and products as features, the
  randomized arms, and "ordered within the campaign window" as the outcome. On a synthetic store the
  ground truth's per-customer effect comes along, so recovered uplift can be checked against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .uplift import UpliftError

HILLSTROM_CONTROL = "No E-Mail"
HILLSTROM_ARMS = ("Mens E-Mail", "Womens E-Mail", HILLSTROM_CONTROL)
HILLSTROM_OUTCOMES = ("visit", "conversion", "spend")
_ZIP_CODES = {"Urban": "zip_urban", "Surburban": "zip_suburban", "Rural": "zip_rural"}
_CHANNELS = {"Phone": "channel_phone", "Web": "channel_web", "Multichannel": "channel_multichannel"}


@dataclass(frozen=True)
class UpliftData:
    """Aligned rows: features (customers x numeric features), treatment (1/0), outcome, and optionally
    true_uplift (the planted per-customer effect) and ids."""

    features: pd.DataFrame
    treatment: np.ndarray
    outcome: np.ndarray
    true_uplift: np.ndarray | None = None
    ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.outcome)

    def take(self, rows: np.ndarray) -> "UpliftData":
        """The subset at integer positions `rows`."""
        return UpliftData(self.features.iloc[rows].reset_index(drop=True), self.treatment[rows], self.outcome[rows],
                          None if self.true_uplift is None else self.true_uplift[rows],
                          None if self.ids is None else self.ids[rows])

    def split(self, test_size: float = 0.3, seed: int = 42, stratify: bool = True) -> tuple["UpliftData", "UpliftData"]:
        """Train and test parts; stratified by treatment x (outcome > 0) unless stratify=False."""
        if not 0 < test_size < 1:
            raise UpliftError(f"test_size is {test_size!r}; pass the test share in (0, 1), e.g. 0.3")
        strata = self.treatment.astype(int) * 2 + (self.outcome > 0) if stratify else None
        train, test = train_test_split(np.arange(len(self)), test_size=test_size, random_state=seed, stratify=strata)
        return self.take(np.sort(train)), self.take(np.sort(test))


def _require(frame: pd.DataFrame, columns: Sequence[str], parameter: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise UpliftError(f"{parameter} is a {type(frame).__name__}; pass a pandas DataFrame")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UpliftError(f"{parameter} has no column {missing[0]!r} (columns: {list(frame.columns)}); "
                          "pass the table with its canonical columns")


def hillstrom_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric features of the Hillstrom file: recency, history, mens, womens, newbie, one-hot zip and channel.

    history_segment is left out (a binning of history); categories are fixed, so any subset encodes alike.
    """
    _require(frame, ["recency", "history", "mens", "womens", "newbie", "zip_code", "channel"], "frame")
    out = frame[["recency", "history", "mens", "womens", "newbie"]].astype(np.float64).reset_index(drop=True)
    for column, names in (("zip_code", _ZIP_CODES), ("channel", _CHANNELS)):
        values = frame[column].astype(str).to_numpy()
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise UpliftError(f"column {column!r} holds {unknown[0]!r}; expected one of {sorted(names)}")
        for value, name in names.items():
            out[name] = (values == value).astype(np.float64)
    return out


def hillstrom_uplift_data(frame: pd.DataFrame, treated_arms: Sequence[str] = ("Womens E-Mail",),
                          control: str = HILLSTROM_CONTROL, target: str = "visit") -> UpliftData:
    """Rows of `treated_arms` (treatment 1) and `control` (0) with `target` as the outcome."""
    _require(frame, ["segment", target], "frame")
    if target not in HILLSTROM_OUTCOMES:
        raise UpliftError(f"target is {target!r}; pass one of {HILLSTROM_OUTCOMES}")
    arms = frame["segment"].astype(str)
    for arm in (*treated_arms, control):
        if arm not in set(arms):
            raise UpliftError(f"arm {arm!r} is not in column 'segment' (arms: {sorted(set(arms))})")
    if control in treated_arms or not treated_arms:
        raise UpliftError(f"treated_arms is {tuple(treated_arms)!r}; pass one or more arms other than {control!r}")
    keep = arms.isin([*treated_arms, control]).to_numpy()
    rows = frame.loc[keep]
    return UpliftData(hillstrom_features(rows), arms[keep].isin(treated_arms).to_numpy().astype(np.float64),
                      rows[target].to_numpy(dtype=np.float64), None, np.flatnonzero(keep))


def _naive_utc(ts) -> pd.Timestamp:
    ts = pd.Timestamp(ts)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def campaign_uplift_data(orders: pd.DataFrame, order_lines: pd.DataFrame, products: pd.DataFrame,
                         assignments: pd.DataFrame, sent_at, window_days: float) -> UpliftData:
    """Features from each assigned customer's orders before `sent_at`; outcome = ordered within the window.

    assignments: customer_id, treatment_arm ("treatment" / "control"; other rows are dropped), and
    optionally true_conversion_uplift (a synthetic store's ground_truth/customers.parquet fits as is).
    Features: order count, spend, recency and tenure in days, order rate, recent activity (30/90/365 days),
    spend share per product department, departments bought and the entropy of that mix.
    """
    _require(orders, ["order_id", "customer_id", "ordered_at"], "orders")
    _require(order_lines, ["order_id", "product_id", "amount"], "order_lines")
    _require(products, ["product_id", "category"], "products")
    _require(assignments, ["customer_id", "treatment_arm"], "assignments")
    if not (isinstance(window_days, (int, float)) and window_days > 0):
        raise UpliftError(f"window_days is {window_days!r}; pass the campaign window in days, e.g. 14")
    sent = _naive_utc(sent_at)
    end = sent + pd.Timedelta(days=float(window_days))
    assigned = assignments[assignments["treatment_arm"].isin(["treatment", "control"])].reset_index(drop=True)
    if assigned.empty:
        raise UpliftError("assignments has no row with treatment_arm 'treatment' or 'control'; "
                          "pass the campaign's arms")
    ids = assigned["customer_id"].astype(str)

    ordered_at = pd.to_datetime(orders["ordered_at"])
    if ordered_at.dt.tz is not None:
        ordered_at = ordered_at.dt.tz_convert("UTC").dt.tz_localize(None)
    orders = pd.DataFrame({"order_id": orders["order_id"].to_numpy(), "customer_id": orders["customer_id"].astype(str),
                           "ordered_at": ordered_at.to_numpy()})
    before = orders[(orders.ordered_at < sent) & orders.customer_id.isin(ids)]
    converted = set(orders.loc[(orders.ordered_at >= sent) & (orders.ordered_at < end), "customer_id"])

    department = products.set_index("product_id")["category"].astype(str).str.split(" > ").str[0]
    lines = order_lines[["order_id", "product_id", "amount"]].merge(before[["order_id", "customer_id", "ordered_at"]],
                                                                   on="order_id")
    lines["department"] = lines["product_id"].map(department).fillna("unknown")
    days_before = (sent - before.ordered_at).dt.total_seconds() / 86_400
    d = days_before.to_numpy()
    per_order = before.assign(days_before=d, last_30d=d <= 30, last_90d=d <= 90, last_365d=d <= 365)
    g = per_order.groupby("customer_id")
    features = pd.DataFrame({
        "orders": g.size(),
        "days_since_last_order": g.days_before.min(),
        "days_since_first_order": g.days_before.max(),
        "orders_last_30d": g.last_30d.sum(),
        "orders_last_90d": g.last_90d.sum(),
        "orders_last_365d": g.last_365d.sum(),
    })
    features["order_rate_per_year"] = features.orders / (features.days_since_first_order + 1) * 365
    line_days = (sent - lines.ordered_at).dt.total_seconds() / 86_400
    spend = lines.groupby("customer_id").amount.sum()
    features["spend"] = spend
    features["spend_last_90d"] = lines[line_days.to_numpy() <= 90].groupby("customer_id").amount.sum()
    features["mean_order_value"] = features.spend / features.orders
    mix = lines.pivot_table(index="customer_id", columns="department", values="amount", aggfunc="sum", fill_value=0.0)
    shares = mix.div(mix.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    features["departments_bought"] = (mix > 0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        features["department_entropy"] = -(shares * np.log(shares.where(shares > 0))).sum(axis=1)
    shares.columns = [f"share_{str(c).lower().replace(' ', '_')}" for c in shares.columns]
    features = features.join(shares).reindex(ids.to_numpy()).fillna(0.0).reset_index(drop=True).astype(np.float64)

    truth = (assigned["true_conversion_uplift"].to_numpy(dtype=np.float64)
             if "true_conversion_uplift" in assigned.columns else None)
    return UpliftData(features, (assigned["treatment_arm"] == "treatment").to_numpy().astype(np.float64),
                      ids.isin(converted).to_numpy().astype(np.float64), truth, ids.to_numpy())
