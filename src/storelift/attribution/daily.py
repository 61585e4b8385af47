"""The marketing-mix model's input from the canonical tables: revenue and spend per channel per day."""

from __future__ import annotations

import ibis
import pandas as pd


def daily_spend(touches: ibis.Table) -> ibis.Table:
    """Touch costs per UTC day and channel: date, channel, spend (Ibis, any engine)."""
    t = touches.filter(touches.cost.notnull())
    t = t.mutate(date=t.touched_at.date())
    return t.group_by(["date", "channel"]).aggregate(spend=t.cost.sum()).order_by(["date", "channel"])


def daily_revenue(orders: ibis.Table, order_lines: ibis.Table) -> ibis.Table:
    """Line revenue of non-cancelled orders per UTC day: date, revenue (Ibis, any engine)."""
    placed = orders.filter(orders.status.isnull() | (orders.status != "cancelled"))
    sales = order_lines.join(placed, "order_id")
    sales = sales.mutate(date=sales.ordered_at.date())
    return sales.group_by("date").aggregate(revenue=sales.amount.sum()).order_by("date")


def daily_media_frame(touches: ibis.Table, orders: ibis.Table, order_lines: ibis.Table) -> pd.DataFrame:
    """One row per day from the first to the last day with revenue or spend: date, revenue and one
    spend column per channel (0 on days without any), ready for MarketingMixModel.fit."""
    revenue = daily_revenue(orders, order_lines).execute()
    spend = daily_spend(touches).execute()
    revenue["date"] = pd.to_datetime(revenue["date"])
    spend["date"] = pd.to_datetime(spend["date"])
    seen = pd.concat([revenue["date"], spend["date"]])
    days = pd.DataFrame({"date": pd.date_range(seen.min(), seen.max(), freq="D")})
    wide = spend.pivot_table(index="date", columns="channel", values="spend", aggfunc="sum")
    wide.columns = [str(c) for c in wide.columns]
    out = days.merge(revenue, on="date", how="left").merge(wide.reset_index(), on="date", how="left")
    return out.fillna(0.0)
