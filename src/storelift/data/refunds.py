"""Linking refunds to the orders they reverse, when the source does not say which order it was."""

from __future__ import annotations

import ibis

from ..warehouse import Warehouse


def refund_links(refunds: ibis.Table, orders: ibis.Table, order_lines: ibis.Table) -> ibis.Table:
    """For each unlinked refund, the latest earlier order of the same customer with the same product.

    Columns: refund_id, linked_order_id. Refunds without a customer or product stay unlinked:
    guessing between strangers' orders would be worse than saying we do not know.
    """
    open_refunds = refunds.filter(
        refunds.order_id.isnull() & refunds.customer_id.notnull() & refunds.product_id.notnull()
    ).select("refund_id", r_customer="customer_id", r_product="product_id", r_time="refunded_at")
    sales = order_lines.join(orders, "order_id").select(
        s_order=order_lines.order_id, s_customer=orders.customer_id,
        s_product=order_lines.product_id, s_time=orders.ordered_at,
    )
    cand = open_refunds.join(
        sales,
        [
            open_refunds.r_customer == sales.s_customer,
            open_refunds.r_product == sales.s_product,
            sales.s_time <= open_refunds.r_time,
        ],
    )
    window = ibis.window(group_by=cand.refund_id, order_by=[ibis.desc(cand.s_time), ibis.desc(cand.s_order)])
    ranked = cand.mutate(rank=ibis.row_number().over(window))
    return ranked.filter(ranked["rank"] == 0).select("refund_id", linked_order_id=ranked.s_order)


def link_refunds(warehouse: Warehouse) -> int:
    """Fill refunds.order_id where `refund_links` finds the order; returns how many were linked."""
    refunds = warehouse.table("refunds")
    links = refund_links(refunds, warehouse.table("orders"), warehouse.table("order_lines"))
    found = int(links.count().execute())
    if found == 0:
        return 0
    joined = refunds.left_join(links, "refund_id")
    columns = {c: joined[c] for c in refunds.columns}
    columns["order_id"] = ibis.coalesce(joined.order_id, joined.linked_order_id)
    warehouse.replace("refunds", joined.select(**columns))
    return found
