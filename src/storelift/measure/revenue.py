"""Revenue aggregates over the canonical tables, written once in Ibis so every engine runs them."""

from __future__ import annotations

import ibis


def revenue_by_month(orders: ibis.Table, order_lines: ibis.Table, refunds: ibis.Table | None = None,
                     by: tuple[str, ...] = ("country",)) -> ibis.Table:
    """Gross sales, refunds and net revenue per calendar month (UTC) and the `by` order columns.

    Columns: month (first day, a date), the `by` columns, currency, orders, units, gross,
    refunded, net. Money is rounded to cents so every engine reports the same figures.
    """
    keys = [*by, "currency"]
    sales = order_lines.join(orders, "order_id")
    sales = sales.mutate(month=sales.ordered_at.truncate("M").date())
    gross = sales.group_by(["month", *keys]).aggregate(
        orders=sales.order_id.nunique(), units=sales.quantity.sum(), gross=sales.amount.sum(),
    )
    if refunds is None:
        return gross.mutate(gross=gross.gross.round(2), refunded=ibis.literal(0.0), net=gross.gross.round(2)) \
            .order_by(["month", *keys])
    # refunds count in the month they happen, under their order's attributes when linked
    attrs = orders.select("order_id", *by)
    r = refunds.left_join(attrs, "order_id")
    r = r.mutate(month=r.refunded_at.truncate("M").date())
    back = r.group_by(["month", *keys]).aggregate(refunded=r.amount.sum())
    joined = gross.outer_join(back, ["month", *keys])
    cols = {k: ibis.coalesce(joined[k], joined[f"{k}_right"]) for k in ["month", *keys]}
    out = joined.select(
        **cols,
        orders=joined.orders.fill_null(0), units=joined.units.fill_null(0),
        gross=joined.gross.fill_null(0).round(2), refunded=joined.refunded.fill_null(0).round(2),
    )
    return out.mutate(net=(out.gross - out.refunded).round(2)).order_by(["month", *keys])
