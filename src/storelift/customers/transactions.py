"""Orders of identified customers with their value: the input every customer model starts from."""

from __future__ import annotations

import ibis
import pandas as pd


def customer_orders(orders: ibis.Table, order_lines: ibis.Table, refunds: ibis.Table | None = None,
                    refunds_before=None) -> ibis.Table:
    """One row per order of an identified customer (guest orders are left out).

    Columns: customer_id, order_id, ordered_at (UTC), currency, gross (sum of line amounts),
    refunded (refunds linked to the order), value (gross - refunded, at least 0).
    Cancelled orders are left out; orders with no priced lines have gross 0.
    refunds_before: count only refunds made before this time, so that scores as of a date do not
    see refunds that happened after it.
    """
    known = orders.filter(orders.customer_id.notnull() & (orders.status.isnull() | (orders.status != "cancelled")))
    lines = order_lines.group_by("order_id").aggregate(gross=order_lines.amount.sum())
    out = known.left_join(lines, "order_id").select(
        known.customer_id, known.order_id, known.ordered_at, known.currency,
        gross=ibis.coalesce(lines.gross, 0.0),
    )
    if refunds is None:
        return out.mutate(refunded=ibis.literal(0.0), value=out.gross)
    linked = refunds.filter(refunds.order_id.notnull())
    if refunds_before is not None:
        linked = linked.filter(linked.refunded_at < ibis.literal(pd.Timestamp(refunds_before).to_pydatetime(),
                                                                 type="timestamp"))
    back = linked.group_by("order_id").aggregate(refunded=linked.amount.sum())
    joined = out.left_join(back, "order_id")
    refunded = ibis.coalesce(joined.refunded, 0.0)
    return joined.select(
        "customer_id", "order_id", "ordered_at", "currency", "gross",
        refunded=refunded, value=ibis.greatest(joined.gross - refunded, 0.0),
    )
