"""Time-windowed customer features and future labels at a cutoff: the inputs of churn and spend models.

Features use only orders placed strictly before the cutoff, labels only orders in
[cutoff, cutoff + horizon), so a model trained on them cannot see the future it predicts.
Everything is portable Ibis: the same expressions run on DuckDB and PySpark.
"""

from __future__ import annotations

from datetime import date, datetime

import ibis
import pandas as pd

from ..errors import StoreliftError
from ..warehouse import fetch

ORDER_COLUMNS = ("customer_id", "order_id", "ordered_at", "gross", "refunded", "value")
DEFAULT_WINDOWS_DAYS = (30, 90, 180, 365)
SECONDS_PER_DAY = 86_400.0


class CustomerModelError(StoreliftError, ValueError):
    """Customer features or a customer model cannot be built from the data or parameters given."""


FEATURE_DESCRIPTIONS: dict[str, str] = {
    "recency_days": "days since the last order",
    "tenure_days": "days since the first order",
    "orders_total": "orders placed so far",
    "value_total": "total spend so far",
    "mean_order_value": "average order value",
    "refund_share": "share of gross spend refunded",
    "last_gap_days": "days between the last two orders",
    "mean_gap_days": "average days between orders",
    "std_gap_days": "spread (std) of days between orders",
    "distinct_order_days": "distinct days with an order",
}


def window_feature_names(windows_days=DEFAULT_WINDOWS_DAYS) -> list[str]:
    """Names of the per-window columns, in output order."""
    names = []
    for w in windows_days:
        names += [f"orders_{w}d", f"value_{w}d", f"orders_trend_{w}d"]
    return names


def feature_names(windows_days=DEFAULT_WINDOWS_DAYS) -> list[str]:
    """Every feature column customer_features returns (customer_id excluded), in output order."""
    head = ["recency_days", "tenure_days", "orders_total", "value_total", "mean_order_value", "refund_share",
            "last_gap_days", "mean_gap_days", "std_gap_days", "distinct_order_days"]
    return head + window_feature_names(windows_days)


def describe_feature(name: str) -> str:
    """Plain words for a feature column, including the per-window ones."""
    if name in FEATURE_DESCRIPTIONS:
        return FEATURE_DESCRIPTIONS[name]
    kind, _, rest = name.rpartition("_")
    if name.startswith("orders_trend_"):
        w = name.removeprefix("orders_trend_").removesuffix("d")
        return f"orders in the last {w} days vs the {w} days before (ratio, +1 smoothed)"
    if kind in ("orders", "value") and rest.endswith("d"):
        return f"{'orders' if kind == 'orders' else 'spend'} in the last {rest[:-1]} days"
    raise KeyError(f"unknown feature {name!r}")


def to_timestamp(when, parameter: str = "cutoff") -> pd.Timestamp:
    """A naive UTC pd.Timestamp from a date, datetime, string or Timestamp (aware ones are converted to UTC)."""
    if isinstance(when, (str, date, datetime, pd.Timestamp)):
        try:
            stamp = pd.Timestamp(when)
        except (ValueError, TypeError) as exc:
            raise CustomerModelError(f"{parameter}={when!r} is not a date; pass e.g. '2024-06-30'") from exc
        if stamp is pd.NaT:
            raise CustomerModelError(f"{parameter} is missing; pass a date such as '2024-06-30'")
        if stamp.tzinfo is not None:
            stamp = stamp.tz_convert("UTC").tz_localize(None)
        return stamp
    raise CustomerModelError(f"{parameter}={when!r} is not a date; pass a date, datetime or 'YYYY-MM-DD' string")


def check_orders(orders: ibis.Table, parameter: str = "orders") -> None:
    """Raise a CustomerModelError naming the missing columns when orders is not a customer_orders table."""
    if not isinstance(orders, ibis.Table):
        raise CustomerModelError(
            f"{parameter} is a {type(orders).__name__}, not an Ibis table; wrap a DataFrame with ibis.memtable(df) "
            "or pass storelift.customers.customer_orders(...)")
    missing = [c for c in ORDER_COLUMNS if c not in orders.columns]
    if missing:
        raise CustomerModelError(
            f"{parameter} lacks column(s) {', '.join(missing)}; it needs {', '.join(ORDER_COLUMNS)} "
            "(build it with storelift.customers.customer_orders(orders, order_lines, refunds))")


def check_windows(windows_days) -> tuple[int, ...]:
    windows = tuple(int(w) for w in windows_days)
    if not windows or any(w <= 0 for w in windows) or len(set(windows)) != len(windows):
        raise CustomerModelError(
            f"windows_days={tuple(windows_days)!r} must be distinct positive day counts, e.g. (30, 90, 180, 365)")
    return windows


def _ts_literal(stamp: pd.Timestamp):
    return ibis.literal(stamp.to_pydatetime(), type="timestamp")


def _epoch_seconds(stamp: pd.Timestamp) -> int:
    return int((stamp - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1))


def customer_features(orders: ibis.Table, cutoff, windows_days=DEFAULT_WINDOWS_DAYS) -> ibis.Table:
    """One row per customer with an order strictly before cutoff: customer_id and feature_names(windows_days).

    Days are fractional, measured back from cutoff. Columns are described by describe_feature:
    recency_days, tenure_days, orders_total, value_total, mean_order_value (value_total / orders_total),
    refund_share (refunded / gross, 0 when gross is 0), last_gap_days (null with one order),
    mean_gap_days and std_gap_days (between consecutive orders; null with one order, std null with two),
    distinct_order_days (UTC days), and per window w: orders_{w}d and value_{w}d in [cutoff - w, cutoff),
    orders_trend_{w}d = (orders in the last w days + 1) / (orders in the w days before those + 1).
    """
    check_orders(orders)
    windows = check_windows(windows_days)
    stamp = to_timestamp(cutoff)
    cutoff_s = _epoch_seconds(stamp)
    past = orders.filter(orders.ordered_at < _ts_literal(stamp))
    seconds = past.ordered_at.epoch_seconds().cast("int64")
    past = past.mutate(
        age_days=(ibis.literal(cutoff_s) - seconds).cast("float64") / SECONDS_PER_DAY,
        order_s=seconds,
    )
    metrics = {
        "recency_days": past.age_days.min(),
        "tenure_days": past.age_days.max(),
        "orders_total": past.order_id.count(),
        "value_total": past.value.sum().cast("float64"),
        "gross_total": past.gross.sum().cast("float64"),
        "refunded_total": past.refunded.sum().cast("float64"),
    }
    for w in windows:
        recent = past.age_days < w
        before = (past.age_days >= w) & (past.age_days < 2 * w)
        metrics[f"orders_{w}d"] = ibis.ifelse(recent, 1, 0).sum().cast("int64")
        metrics[f"value_{w}d"] = ibis.ifelse(recent, past.value, 0.0).sum().cast("float64")
        metrics[f"_orders_before_{w}d"] = ibis.ifelse(before, 1, 0).sum().cast("int64")
    agg = past.group_by("customer_id").aggregate(**metrics).join(_gap_features(past), "customer_id")
    derived = {
        "orders_total": agg.orders_total.cast("int64"),
        "distinct_order_days": agg.distinct_order_days.cast("int64"),
        "mean_order_value": agg.value_total / agg.orders_total.cast("float64"),
        "refund_share": ibis.ifelse(agg.gross_total > 0, agg.refunded_total / agg.gross_total, 0.0),
    }
    for w in windows:
        derived[f"orders_trend_{w}d"] = (agg[f"orders_{w}d"] + 1).cast("float64") / (
            agg[f"_orders_before_{w}d"] + 1).cast("float64")
    agg = agg.mutate(**derived)
    return agg.select("customer_id", *feature_names(windows))


def _gap_features(past: ibis.Table) -> ibis.Table:
    """last_gap_days, mean_gap_days, std_gap_days and distinct_order_days per customer of `past`.

    The window runs over two narrow columns only (a window carries every column it is given through
    its sort). It is ordered by time alone: tied orders give a zero gap whichever comes first, so the
    gaps, the last gap (the row with no successor) and the day changes do not depend on tie order.
    """
    times = past.select("customer_id", "order_s")
    in_time = ibis.window(group_by=times.customer_id, order_by=times.order_s)
    previous_s = times.order_s.lag().over(in_time)
    times = times.mutate(
        gap_days=(times.order_s - previous_s).cast("float64") / SECONDS_PER_DAY,
        is_last=times.order_s.lead().over(in_time).isnull(),
        new_day=ibis.ifelse(previous_s.isnull() | ((previous_s // 86_400) != (times.order_s // 86_400)), 1, 0),
    )
    return times.group_by("customer_id").aggregate(
        last_gap_days=times.gap_days.max(where=times.is_last),
        mean_gap_days=times.gap_days.mean(),
        std_gap_days=times.gap_days.std(how="sample"),
        distinct_order_days=times.new_day.sum(),
    )


LABEL_COLUMNS = ("customer_id", "has_purchase", "future_orders", "future_value", "days_to_next_purchase")


def future_labels(orders: ibis.Table, cutoff, horizon_days: float) -> ibis.Table:
    """Outcomes in [cutoff, cutoff + horizon_days) for each customer with an order before cutoff.

    Columns: customer_id, has_purchase (bool), future_orders (int), future_value (float, 0 when none),
    days_to_next_purchase (fractional days from cutoff to the first order in the window; null when none).
    """
    check_orders(orders)
    if not horizon_days or horizon_days <= 0:
        raise CustomerModelError(f"horizon_days={horizon_days!r} must be a positive number of days, e.g. 90")
    start = to_timestamp(cutoff)
    end = start + pd.Timedelta(days=horizon_days)
    known = orders.filter(orders.ordered_at < _ts_literal(start)).select("customer_id").distinct()
    window = orders.filter((orders.ordered_at >= _ts_literal(start)) & (orders.ordered_at < _ts_literal(end)))
    seconds = window.ordered_at.epoch_seconds().cast("int64")
    window = window.mutate(days_from_cutoff=(seconds - _epoch_seconds(start)).cast("float64") / SECONDS_PER_DAY)
    outcome = window.group_by("customer_id").aggregate(
        future_orders=window.order_id.count(),
        future_value=window.value.sum().cast("float64"),
        days_to_next_purchase=window.days_from_cutoff.min(),
    )
    joined = known.left_join(outcome, "customer_id")
    orders_in = ibis.coalesce(joined.future_orders, 0).cast("int64")
    return joined.select(
        known.customer_id,
        has_purchase=orders_in > 0,
        future_orders=orders_in,
        future_value=ibis.coalesce(joined.future_value, 0.0),
        days_to_next_purchase=joined.days_to_next_purchase,
    )


def training_frame(orders: ibis.Table, as_of, horizon_days: float, windows_days=DEFAULT_WINDOWS_DAYS,
                   n_cutoffs: int = 1, cutoff_step_days: float | None = None) -> pd.DataFrame:
    """Labelled rows for training: features before each cutoff and outcomes in [cutoff, cutoff + horizon).

    Cutoffs are as_of - horizon_days - k * cutoff_step_days for k = 0 .. n_cutoffs - 1, so every label
    window ends by as_of and no order on or after as_of is read. Columns: cutoff, customer_id,
    feature_names(windows_days), then LABEL_COLUMNS (customer_id not repeated). Cutoffs with no
    earlier order are left out; rows are sorted by cutoff (latest first) and customer_id.
    """
    check_orders(orders)
    if int(n_cutoffs) < 1:
        raise CustomerModelError(f"n_cutoffs={n_cutoffs!r} must be at least 1")
    step = float(cutoff_step_days or horizon_days)
    if step <= 0:
        raise CustomerModelError(f"cutoff_step_days={cutoff_step_days!r} must be a positive number of days")
    end = to_timestamp(as_of, "as_of")
    seen = orders.filter(orders.ordered_at < _ts_literal(end))
    frames = []
    for k in range(int(n_cutoffs)):
        cutoff = end - pd.Timedelta(days=float(horizon_days)) - pd.Timedelta(days=k * step)
        feats = customer_features(seen, cutoff, windows_days)
        labels = future_labels(seen, cutoff, horizon_days)
        rows = fetch(feats.join(labels, "customer_id"))
        if rows.empty:
            continue
        rows.insert(0, "cutoff", cutoff)
        frames.append(rows.sort_values("customer_id", kind="stable"))
    if not frames:
        return pd.DataFrame(columns=["cutoff", "customer_id", *feature_names(windows_days), *LABEL_COLUMNS[1:]])
    return pd.concat(frames, ignore_index=True)
