"""Acquisition cohorts: how customers first acquired in a month (or week) keep buying afterwards."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from .rfm import CustomerDataError, check_order_columns, to_cents

PERIODS = {"month": "M", "week": "W"}
METRICS = ("retention", "active_customers", "orders", "revenue", "revenue_per_customer",
           "cumulative_revenue_per_customer")
LONG_COLUMNS = ("cohort", "period_index", "cohort_size", "active_customers", "orders", "revenue")
SECONDS_PER_WEEK = 7 * 86_400


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise CustomerDataError(f"period={period!r}; pass one of {', '.join(map(repr, PERIODS))}")


def _period_index(period: str, cohort: ibis.Value, start: ibis.Value) -> ibis.Value:
    """Whole periods from the cohort's period start to the activity period start."""
    if period == "month":
        return (start.year() * 12 + start.month()) - (cohort.year() * 12 + cohort.month())
    seconds = start.epoch_seconds() - cohort.epoch_seconds()
    return (seconds / SECONDS_PER_WEEK).round().cast("int64")


def cohort_activity(orders: ibis.Table, period: str = "month") -> ibis.Table:
    """Activity of each acquisition cohort in each period after it, one row per (cohort, period_index).

    orders: one row per order, as `customer_orders` returns.

    Columns: cohort (date: first day of the month, or Monday of the week, of each customer's first
    order), period_index (periods since acquisition, 0 = the acquisition period), cohort_size
    (customers acquired), active_customers (of them, buying in that period), orders, revenue (sum of
    value, to the cent). Periods in which nobody in the cohort bought have no row.
    """
    _check_period(period)
    check_order_columns(orders)
    unit = PERIODS[period]
    dated = orders.mutate(period_start=orders.ordered_at.truncate(unit))
    firsts = dated.group_by("customer_id").aggregate(cohort_start=dated.period_start.min())
    sizes = firsts.group_by("cohort_start").aggregate(cohort_size=firsts.customer_id.count().cast("int64"))
    joined = dated.join(firsts, "customer_id")
    joined = joined.mutate(period_index=_period_index(period, joined.cohort_start, joined.period_start).cast("int64"))
    activity = joined.group_by(["cohort_start", "period_index"]).aggregate(
        active_customers=joined.customer_id.nunique().cast("int64"),
        orders=joined.order_id.count().cast("int64"),
        revenue=to_cents(joined.value.sum()),
    )
    out = activity.join(sizes, "cohort_start")
    return out.select(
        cohort=out.cohort_start.date(), period_index=out.period_index, cohort_size=out.cohort_size,
        active_customers=out.active_customers, orders=out.orders, revenue=out.revenue,
    ).order_by(["cohort", "period_index"])


def _period_number(cohorts: pd.Series, period: str) -> np.ndarray:
    """An absolute period count for each cohort date, so cohorts can be lined up on one calendar."""
    stamps = pd.to_datetime(cohorts)
    if period == "month":
        return (stamps.dt.year * 12 + stamps.dt.month).to_numpy()
    return ((stamps - pd.Timestamp("1970-01-05")).dt.days // 7).to_numpy()


def retention_matrix(activity: pd.DataFrame, metric: str = "retention", period: str = "month") -> pd.DataFrame:
    """The cohort x period_index matrix of one metric from cohort_activity(...).execute().

    metric: retention (active share of the cohort), active_customers, orders, revenue,
    revenue_per_customer (revenue / cohort_size), cumulative_revenue_per_customer.
    Periods a cohort has lived through without buying are 0; periods after the last period in the
    data are NaN, so the matrix is the usual triangle. `period` must match cohort_activity's.
    """
    _check_period(period)
    if metric not in METRICS:
        raise CustomerDataError(f"metric={metric!r}; pass one of {', '.join(map(repr, METRICS))}")
    missing = [c for c in LONG_COLUMNS if c not in activity.columns]
    if missing:
        raise CustomerDataError(
            f"retention_matrix: the frame has no column(s) {', '.join(map(repr, missing))}; "
            "pass the executed output of cohort_activity(...).execute()")
    if activity.empty:
        raise CustomerDataError("retention_matrix: the activity frame has no rows; there are no orders to show")
    frame = activity.copy()
    frame["cohort"] = pd.to_datetime(frame["cohort"]).dt.date
    sizes = frame.groupby("cohort")["cohort_size"].first()
    counts = {"retention": "active_customers", "revenue_per_customer": "revenue",
              "cumulative_revenue_per_customer": "revenue"}
    source = counts.get(metric, metric)
    matrix = frame.pivot_table(index="cohort", columns="period_index", values=source, aggfunc="sum")
    numbers = _period_number(pd.Series(matrix.index), period)
    last = int((_period_number(frame["cohort"], period) + frame["period_index"].to_numpy()).max())
    matrix = matrix.reindex(columns=range(int(last - numbers.min()) + 1))
    lived = np.arange(matrix.shape[1])[None, :] <= (last - numbers)[:, None]
    values = np.where(lived, np.nan_to_num(matrix.to_numpy(dtype="float64"), nan=0.0), np.nan)
    if metric != source:
        values = values / sizes.reindex(matrix.index).to_numpy(dtype="float64")[:, None]
    if metric == "cumulative_revenue_per_customer":
        values = np.where(lived, np.nancumsum(values, axis=1), np.nan)
    out = pd.DataFrame(values, index=matrix.index, columns=matrix.columns)
    out.index.name, out.columns.name = "cohort", "period_index"
    return out
