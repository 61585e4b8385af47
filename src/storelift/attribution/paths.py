"""Customer paths: the channel touches before each conversion, or before a journey ends without one.

Every attribution model reads the same long table of path touches, built once in Ibis so it runs
on any engine. A conversion's path is the customer's touches in the lookback window before it
(and after their previous conversion); the touches after a customer's last conversion form one
open path that ended without a conversion, cut to the lookback window before its last touch.
"""

from __future__ import annotations

import ibis
import pandas as pd

from ..errors import StoreliftError

PATH_COLUMNS = ["path_id", "customer_id", "is_conversion", "revenue", "ends_at", "channel", "touch_id",
                "touched_at", "position", "touches", "days_before_end"]
RESULT_COLUMNS = ["channel", "conversions", "revenue", "share"]
OPEN_PREFIX = "open:"
DEFAULT_LOOKBACK_DAYS = 30.0


class AttributionError(StoreliftError):
    """Attribution or marketing-mix inputs or parameters are unusable."""

    exit_code = 2


def _table(frame: ibis.Table | pd.DataFrame) -> ibis.Table:
    return frame if isinstance(frame, ibis.Table) else ibis.memtable(frame)


def conversions_from_orders(orders: ibis.Table, order_lines: ibis.Table) -> ibis.Table:
    """Known customers' orders as conversions: conversion_id, customer_id, converted_at, revenue
    (sum of line amounts). Cancelled orders are not conversions."""
    value = order_lines.group_by("order_id").aggregate(revenue=order_lines.amount.sum())
    placed = orders.filter(orders.customer_id.notnull()
                           & (orders.status.isnull() | (orders.status != "cancelled")))
    joined = placed.left_join(value, placed.order_id == value.order_id)
    return joined.select(conversion_id=joined.order_id, customer_id=joined.customer_id,
                         converted_at=joined.ordered_at,
                         revenue=ibis.coalesce(joined.revenue, 0.0).cast("float64"))


def _path_rows(frame: ibis.Table, path_id, customer_id, is_conversion, revenue, ends_at, channel, touch_id,
               touched_at) -> ibis.Table:
    return frame.select(path_id=path_id.cast("string"), customer_id=customer_id.cast("string"),
                        is_conversion=is_conversion.cast("boolean"), revenue=revenue.cast("float64"),
                        ends_at=ends_at.cast("timestamp"), channel=channel.cast("string"),
                        touch_id=touch_id.cast("string"), touched_at=touched_at.cast("timestamp"))


def touch_paths(touches: ibis.Table | pd.DataFrame, conversions: ibis.Table | pd.DataFrame,
                lookback_days: float = DEFAULT_LOOKBACK_DAYS, kinds: tuple[str, ...] | None = None,
                customers: ibis.Table | pd.DataFrame | None = None) -> ibis.Table | pd.DataFrame:
    """One row per touch of each path (one row with a null channel for a path with no touch).

    touches: canonical touches (touch_id, customer_id, channel, kind, touched_at); conversions:
    conversion_id, customer_id, converted_at, revenue (see `conversions_from_orders`). `kinds`
    keeps only those touch kinds (e.g. ("click",)). `customers` (a customer_id column) adds an
    empty, non-converting path for each customer with no touch and no conversion, which lets
    Shapley attribution see the conversion rate of customers no channel reached.

    Columns: path_id (the conversion id, or "open:" + customer id), customer_id, is_conversion,
    revenue (0 for open paths), ends_at (conversion time, or the open path's last touch), channel,
    touch_id, touched_at, position (0-based, by time), touches (in the path), days_before_end.
    Returns pandas when the inputs are pandas, else an Ibis expression.
    """
    if lookback_days <= 0:
        raise AttributionError(f"lookback_days={lookback_days}: pass a positive number of days, e.g. 30")
    as_pandas = isinstance(touches, pd.DataFrame) or isinstance(conversions, pd.DataFrame)
    t = _table(touches)
    missing = {"touch_id", "customer_id", "channel", "touched_at"} - set(t.columns)
    missing |= {"conversion_id", "customer_id", "converted_at", "revenue"} - set(_table(conversions).columns)
    if missing:
        raise AttributionError(f"missing columns {sorted(missing)}: touches need touch_id, customer_id, channel, "
                               "touched_at; conversions need conversion_id, customer_id, converted_at, revenue "
                               "(build them with conversions_from_orders)")
    t = t.filter(t.customer_id.notnull())
    if kinds:
        t = t.filter(t.kind.isin(list(kinds)))
    t = t.select("touch_id", "customer_id", "channel", "touched_at")
    c = _table(conversions)
    c = c.select(c_id=c.conversion_id.cast("string"), c_customer=c.customer_id.cast("string"),
                 c_at=c.converted_at.cast("timestamp"), c_revenue=c.revenue.cast("float64"))
    c = c.mutate(c_previous=c.c_at.lag().over(group_by=c.c_customer, order_by=[c.c_at, c.c_id]))
    window = ibis.interval(seconds=int(round(lookback_days * 86_400)))

    hit = t.join(c, (t.customer_id == c.c_customer) & (t.touched_at <= c.c_at) & (t.touched_at > c.c_at - window)
                 & (c.c_previous.isnull() | (t.touched_at > c.c_previous)))
    converting = _path_rows(hit, hit.c_id, hit.customer_id, ibis.literal(True), hit.c_revenue, hit.c_at,
                            hit.channel, hit.touch_id, hit.touched_at)
    hit_ids = hit.select(h_id=hit.c_id).distinct()
    bare = c.anti_join(hit_ids, c.c_id == hit_ids.h_id)
    no_string, no_time = ibis.null().cast("string"), ibis.null().cast("timestamp")
    untouched = _path_rows(bare, bare.c_id, bare.c_customer, ibis.literal(True), bare.c_revenue, bare.c_at,
                           no_string, no_string, no_time)

    last = c.group_by("c_customer").aggregate(last_at=c.c_at.max())
    after = t.left_join(last, t.customer_id == last.c_customer)
    after = after.filter(after.last_at.isnull() | (after.touched_at > after.last_at))
    after = after.mutate(end_at=after.touched_at.max().over(group_by=after.customer_id))
    after = after.filter(after.touched_at > after.end_at - window)
    open_paths = _path_rows(after, ibis.literal(OPEN_PREFIX) + after.customer_id, after.customer_id,
                            ibis.literal(False), ibis.literal(0.0), after.end_at, after.channel, after.touch_id,
                            after.touched_at)
    parts = [converting, untouched, open_paths]
    if customers is not None:
        people = _table(customers).select(p_customer=ibis._.customer_id.cast("string")).distinct()
        seen = t.select(s_customer=t.customer_id).union(c.select(s_customer=c.c_customer)).distinct()
        idle = people.anti_join(seen, people.p_customer == seen.s_customer)
        parts.append(_path_rows(idle, ibis.literal(OPEN_PREFIX) + idle.p_customer, idle.p_customer,
                                ibis.literal(False), ibis.literal(0.0), no_time, no_string, no_string, no_time))
    rows = ibis.union(*parts)
    order = ibis.window(group_by=rows.path_id, order_by=[rows.touched_at, rows.touch_id])
    rows = rows.mutate(
        position=ibis.cases((rows.channel.notnull(), ibis.row_number().over(order)), else_=ibis.null()).cast("int64"),
        touches=rows.channel.count().over(group_by=rows.path_id).cast("int64"),
        days_before_end=((rows.ends_at.epoch_seconds() - rows.touched_at.epoch_seconds()) / 86_400.0)
        .cast("float64"))
    rows = rows.select(*PATH_COLUMNS).order_by("path_id", "position")
    return rows.execute() if as_pandas else rows


def check_paths(paths: pd.DataFrame) -> pd.DataFrame:
    """The path table with the columns attribution needs, or an error saying how to build it."""
    needed = {"path_id", "is_conversion", "revenue", "channel", "position", "touches"}
    missing = needed - set(paths.columns)
    if missing:
        raise AttributionError(f"paths lack columns {sorted(missing)}: build the table with "
                               "storelift.attribution.touch_paths(touches, conversions)")
    return paths


def channels_of(paths: pd.DataFrame) -> list[str]:
    """Every channel seen in any path, sorted, so all models report the same rows."""
    return sorted(paths["channel"].dropna().astype(str).unique().tolist())


def attribution_result(credit: pd.DataFrame, channels: list[str]) -> pd.DataFrame:
    """The shared result shape from per-channel conversions and revenue: channel, conversions
    (attributed), revenue (attributed), share (of all attributed conversions; sums to 1)."""
    out = credit.groupby("channel")[["conversions", "revenue"]].sum().reindex(channels, fill_value=0.0)
    total = out["conversions"].sum()
    out["share"] = out["conversions"] / total if total != 0 else 0.0
    out = out.reset_index().rename(columns={"index": "channel"})
    return out[RESULT_COLUMNS].sort_values(["conversions", "channel"], ascending=[False, True],
                                           ignore_index=True)
