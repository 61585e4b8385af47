"""Recency-frequency-monetary summaries in the form the BG/NBD and Gamma-Gamma models read.

Purchases are first collapsed to one per customer per calendar day (UTC), as Fader, Hardie & Lee
(2005) do with CDNOW; "frequency" counts repeat purchase days, not orders.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from ..errors import StoreliftError
from .rfm import to_cents

SECONDS_PER_DAY = 86_400

SUMMARY_COLUMNS = {
    "customer_id": "Customer.",
    "frequency": "Repeat purchase days in the calibration period (purchase days minus one).",
    "recency": "Last minus first purchase day in the calibration period, in time units.",
    "T": "calibration_end minus the first purchase day, in time units (the customer's age).",
    "monetary_value": "Mean value of the repeat purchase days (first day excluded); 0 when frequency is 0.",
    "frequency_holdout": "Purchase days after calibration_end up to holdout_end (only with holdout_end).",
    "value_holdout": "Total value bought in the holdout period (only with holdout_end).",
    "duration_holdout": "holdout_end minus calibration_end, in time units (only with holdout_end).",
}


class SummaryError(StoreliftError, ValueError):
    """The orders or the period boundaries cannot make a summary."""


def _day_number(when) -> int:
    """Days since 1970-01-01 (UTC) of a date, datetime or timestamp string."""
    stamp = pd.Timestamp(when)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int(stamp.normalize().value // (SECONDS_PER_DAY * 10**9))


def rfm_summary(orders: ibis.Table, calibration_end: dt.date | str, holdout_end: dt.date | str | None = None,
                time_unit_days: float = 7.0) -> ibis.Table:
    """One row per customer whose first purchase is on or before calibration_end (columns: SUMMARY_COLUMNS).

    orders: customer_id, ordered_at (UTC timestamp), value, e.g. from `customer_orders`. Both period
    ends are inclusive calendar days: calibration is every day up to calibration_end, the holdout the
    days after it up to holdout_end. Portable Ibis: runs on DuckDB, PySpark and other backends.
    """
    missing = [c for c in ("customer_id", "ordered_at", "value") if c not in orders.columns]
    if missing:
        raise SummaryError(f"orders lack column(s) {missing}; pass the output of customer_orders "
                           "(customer_id, ordered_at, value)")
    if not time_unit_days > 0:
        raise SummaryError(f"time_unit_days={time_unit_days!r} must be positive (7 for weeks, 1 for days)")
    cal_day = _day_number(calibration_end)
    hold_day = None if holdout_end is None else _day_number(holdout_end)
    if hold_day is not None and hold_day <= cal_day:
        raise SummaryError(f"holdout_end {holdout_end} must be after calibration_end {calibration_end}")
    last_day = cal_day if hold_day is None else hold_day

    known = orders.filter(orders.customer_id.notnull() & orders.ordered_at.notnull())
    day = (known.ordered_at.epoch_seconds() // SECONDS_PER_DAY).cast("int64")
    daily = (known.mutate(day=day, value=ibis.coalesce(known.value.cast("float64"), 0.0))
             .filter(lambda t: t.day <= last_day)
             .group_by(["customer_id", "day"]).aggregate(value=lambda t: t.value.sum()))

    calib = daily.filter(daily.day <= cal_day)
    # one row per customer-day, so the first day's value is the value at the minimum day (no self-join)
    per = calib.group_by("customer_id").aggregate(
        first_day=calib.day.min(),
        last_day=calib.day.max(),
        days=calib.day.count(),
        total_value=calib.value.sum(),
        first_value=calib.value.argmin(calib.day),
    )
    # to the cent: a difference of float sums must not leave 1e-13 where the repeat value is 0
    per = per.mutate(repeat_value=ibis.greatest(to_cents(per.total_value - per.first_value), 0.0))
    unit = float(time_unit_days)
    frequency = (per.days - 1).cast("int64")
    out = per.select(
        "customer_id",
        frequency=frequency,
        recency=(per.last_day - per.first_day).cast("float64") / unit,
        T=(ibis.literal(cal_day, "int64") - per.first_day).cast("float64") / unit,
        monetary_value=(frequency > 0).ifelse(per.repeat_value / frequency.cast("float64"), 0.0),
    )
    if hold_day is None:
        return out.order_by("customer_id")

    hold = daily.filter(daily.day > cal_day)
    after = hold.group_by("customer_id").aggregate(frequency_holdout=hold.day.count(), value_holdout=hold.value.sum())
    joined = out.left_join(after, "customer_id")
    return joined.select(
        out.customer_id, out.frequency, out.recency, out.T, out.monetary_value,
        frequency_holdout=ibis.coalesce(joined.frequency_holdout, 0).cast("int64"),
        value_holdout=ibis.coalesce(joined.value_holdout, 0.0).cast("float64"),
        duration_holdout=ibis.literal((hold_day - cal_day) / unit, "float64"),
    ).order_by("customer_id")


def rfm_summary_frame(orders: pd.DataFrame, calibration_end, holdout_end=None,
                      time_unit_days: float = 7.0) -> pd.DataFrame:
    """`rfm_summary` over a pandas DataFrame (run on Ibis' default in-process backend)."""
    frame = orders[["customer_id", "ordered_at", "value"]].copy()
    frame["customer_id"] = frame["customer_id"].astype(str)
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64")
    table = ibis.memtable(frame)
    return rfm_summary(table, calibration_end, holdout_end, time_unit_days).execute()
