"""Where recommendation evidence comes from in the warehouse: purchases (order lines) and product events.

Both are Ibis expressions with the same columns, so they run on any engine and can be stacked:
user_id, item_id, event, occurred_at. Purchases carry event 'purchase' (see EVENT_WEIGHTS).
"""

from __future__ import annotations

import ibis
import pandas as pd

from .interactions import EVENT_WEIGHTS, RecommendDataError

EVIDENCE_COLUMNS = ("user_id", "item_id", "event", "occurred_at")


def customer_purchases(orders: ibis.Table, order_lines: ibis.Table, customer_id: str):
    """item_id, purchased_at of one customer's order lines (a DataFrame), read for that customer only:
    what the repurchase rule of a served list looks at."""
    bought = purchase_evidence(orders, order_lines)
    bought = bought.filter(bought.user_id == customer_id)
    return bought.select("item_id", purchased_at=bought.occurred_at).execute()


def purchase_evidence(orders: ibis.Table, order_lines: ibis.Table) -> ibis.Table:
    """One row per purchased order line of an identified customer (guest orders have no user)."""
    joined = order_lines.join(orders, "order_id")
    known = joined.filter(joined.customer_id.notnull() & joined.product_id.notnull())
    return known.select(
        user_id=known.customer_id, item_id=known.product_id,
        event=ibis.literal("purchase"), occurred_at=known.ordered_at.cast("timestamp"),
    )


def event_evidence(events: ibis.Table, names=None) -> ibis.Table:
    """Product events of identified customers whose name carries a weight (views, clicks, carts ...).

    Purchases are read from order lines instead, so 'Order Completed' events are left out here.
    """
    names = [n for n in (names or EVENT_WEIGHTS) if n not in ("purchase", "Order Completed")]
    chosen = events.filter(events.customer_id.notnull() & events.product_id.notnull()
                           & events.occurred_at.notnull() & events.event.isin(names))
    return chosen.select(user_id=chosen.customer_id, item_id=chosen.product_id, event=chosen.event,
                         occurred_at=chosen.occurred_at.cast("timestamp"))


def evidence(orders: ibis.Table, order_lines: ibis.Table, events: ibis.Table | None = None,
             before=None) -> ibis.Table:
    """Purchases and product events stacked, strictly before `before` when given."""
    out = purchase_evidence(orders, order_lines)
    if events is not None:
        out = out.union(event_evidence(events), distinct=False)
    if before is not None:
        out = out.filter(out.occurred_at < ibis.literal(pd.Timestamp(before).to_pydatetime(), type="timestamp"))
    return out


def first_touch_sequences(frame: pd.DataFrame) -> pd.DataFrame:
    """Per user, each item once at its first evidence, in time order: the leave-one-out input.

    Columns user_id, item_id, position (0 = the user's first item).
    """
    missing = [c for c in ("user_id", "item_id", "occurred_at") if c not in frame.columns]
    if missing:
        raise RecommendDataError(f"evidence lacks column(s) {missing}; build it with recommend.sources.evidence")
    ordered = frame.sort_values(["user_id", "occurred_at", "item_id"], kind="stable")
    first = ordered.drop_duplicates(["user_id", "item_id"], keep="first")
    out = first[["user_id", "item_id"]].reset_index(drop=True)
    out["position"] = out.groupby("user_id", sort=False).cumcount()
    return out
