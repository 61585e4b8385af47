"""Outcomes joined back to decisions: which orders each decision led to, and their revenue.

An order that carries a decision id (the storefront passed it through checkout) belongs to that
decision. An order without one belongs to the customer's latest decision made before it within
the attribution window (by default 7 days). Every other order belongs to no decision. This is the
table experiments read: per arm of an initiative, orders and revenue per decision or customer.
"""

from __future__ import annotations

import ibis

DEFAULT_WINDOW_DAYS = 7.0


def decision_outcomes(decisions: ibis.Table, orders: ibis.Table, order_lines: ibis.Table,
                      window_days: float = DEFAULT_WINDOW_DAYS) -> ibis.Table:
    """One row per decision: its columns decision_id, decided_at, customer_id, initiative, placement,
    arm, has_consent, then orders (count), revenue (sum of the orders' line amounts), orders_by_id
    (orders that carried the decision id) and orders_in_window (attributed by the window)."""
    value = order_lines.group_by("order_id").aggregate(revenue=order_lines.amount.sum())
    placed = orders.left_join(value, "order_id").select(
        "order_id", "customer_id", "ordered_at", "decision_id", revenue=ibis.coalesce(value.revenue, 0.0))
    by_id = placed.filter(placed.decision_id.notnull()).select(
        "order_id", "decision_id", "revenue", by_id=ibis.literal(1), in_window=ibis.literal(0))
    d = decisions.select(d_id="decision_id", d_customer="customer_id", d_at="decided_at")
    loose = placed.filter(placed.decision_id.isnull() & placed.customer_id.notnull())
    window = ibis.interval(seconds=int(round(window_days * 86_400)))
    near = loose.join(d, (loose.customer_id == d.d_customer) & (d.d_at <= loose.ordered_at)
                      & (loose.ordered_at < d.d_at + window))
    latest = ibis.row_number().over(group_by=near.order_id, order_by=[ibis.desc(near.d_at), ibis.desc(near.d_id)])
    near = near.mutate(pick=latest).filter(lambda t: t.pick == 0)
    in_window = near.select("order_id", decision_id=near.d_id, revenue=near.revenue, by_id=ibis.literal(0),
                            in_window=ibis.literal(1))
    attributed = by_id.union(in_window)
    per_decision = attributed.group_by("decision_id").aggregate(
        orders=attributed.order_id.count(), revenue=attributed.revenue.sum(),
        orders_by_id=attributed.by_id.sum(), orders_in_window=attributed.in_window.sum())
    base = decisions.select("decision_id", "decided_at", "customer_id", "initiative", "placement", "arm",
                            "has_consent")
    joined = base.left_join(per_decision, base.decision_id == per_decision.decision_id)
    return joined.select(
        *[base[c] for c in base.columns],
        orders=ibis.coalesce(joined.orders, 0), revenue=ibis.coalesce(joined.revenue, 0.0).round(2),
        orders_by_id=ibis.coalesce(joined.orders_by_id, 0), orders_in_window=ibis.coalesce(joined.orders_in_window, 0),
    ).order_by("decided_at", "decision_id")
