"""Store KPIs over the canonical tables, written in Ibis so DuckDB, Spark and the rest run the same query.

Each function returns a small Ibis table (one row, or one per currency or channel) whose last column
is the KPI, with the counts it is made of beside it so a reader can check it. `start` and `end`
(UTC, end excluded) limit the period. Sessions are the distinct non-null session ids of events.
`initiative_indicators` maps each storelift initiative to the KPIs that move first (leading) and
the business results that follow (lagging).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd

from ..errors import StoreliftError

ORDER_COMPLETED, PRODUCT_ADDED, PRODUCTS_SEARCHED = "Order Completed", "Product Added", "Products Searched"
RECOMMENDATION_SHOWN, PRODUCT_CLICKED = "Recommendation Shown", "Product Clicked"
EXPOSURE_KINDS, CLICK_KINDS = ("send", "impression"), ("click",)


class KpiError(StoreliftError):
    """A KPI's parameters are unusable."""

    exit_code = 2


def _period(table: ibis.Table, column: str, start: datetime | str | None, end: datetime | str | None) -> ibis.Table:
    if start is not None:
        table = table.filter(table[column] >= pd.Timestamp(start).to_pydatetime())
    if end is not None:
        table = table.filter(table[column] < pd.Timestamp(end).to_pydatetime())
    return table


def _rate(numerator, denominator):
    return numerator.cast("float64") / denominator.cast("float64").nullif(0.0)


def _sessions(events: ibis.Table, start, end) -> ibis.Table:
    """One row per session: session_id and flags for what happened in it."""
    e = _period(events.filter(events.session_id.notnull()), "occurred_at", start, end)
    return e.group_by("session_id").aggregate(
        has_order=(e.event == ORDER_COMPLETED).any(), has_cart=(e.event == PRODUCT_ADDED).any(),
        has_search=(e.event == PRODUCTS_SEARCHED).any())


def _session_share(sessions: ibis.Table, among, hit, names: tuple[str, str, str]) -> ibis.Table:
    base = sessions.filter(among) if among is not None else sessions
    total, hits, rate = names
    out = base.aggregate(**{total: base.count(), hits: hit(base).cast("int64").sum()})
    return out.mutate(**{hits: ibis.coalesce(out[hits], 0)}).mutate(
        **{rate: _rate(ibis._[hits], ibis._[total])})


def conversion_rate(events: ibis.Table, start=None, end=None) -> ibis.Table:
    """Share of sessions with an Order Completed event. Columns: sessions, converting_sessions,
    conversion_rate."""
    s = _sessions(events, start, end)
    return _session_share(s, None, lambda t: t.has_order, ("sessions", "converting_sessions", "conversion_rate"))


def cart_abandonment_rate(events: ibis.Table, start=None, end=None) -> ibis.Table:
    """Share of sessions that added a product to the cart but placed no order (Baymard's
    definition, by session). Columns: cart_sessions, abandoned_sessions, cart_abandonment_rate."""
    s = _sessions(events, start, end)
    return _session_share(s, s.has_cart, lambda t: ~t.has_order,
                          ("cart_sessions", "abandoned_sessions", "cart_abandonment_rate"))


def search_to_conversion(events: ibis.Table, start=None, end=None) -> ibis.Table:
    """Share of sessions with a product search that went on to an order. Columns: search_sessions,
    converting_search_sessions, search_to_conversion."""
    s = _sessions(events, start, end)
    return _session_share(s, s.has_search, lambda t: t.has_order,
                          ("search_sessions", "converting_search_sessions", "search_to_conversion"))


def _order_revenue(orders: ibis.Table, order_lines: ibis.Table, start, end) -> ibis.Table:
    o = _period(orders.filter(orders.status.isnull() | (orders.status != "cancelled")), "ordered_at", start, end)
    value = order_lines.group_by("order_id").aggregate(revenue=order_lines.amount.sum())
    j = o.left_join(value, o.order_id == value.order_id)
    return j.select(order_id=j.order_id, currency=j.currency, revenue=ibis.coalesce(j.revenue, 0.0))


def average_order_value(orders: ibis.Table, order_lines: ibis.Table, start=None, end=None) -> ibis.Table:
    """Revenue per order (line amounts; cancelled orders excluded), per currency. Columns:
    currency, orders, revenue, average_order_value."""
    r = _order_revenue(orders, order_lines, start, end)
    out = r.group_by("currency").aggregate(orders=r.count(), revenue=r.revenue.sum())
    return out.mutate(average_order_value=_rate(out.revenue, out.orders)).order_by("currency")


def revenue_per_session(events: ibis.Table, orders: ibis.Table, order_lines: ibis.Table, start=None,
                        end=None) -> ibis.Table:
    """Order revenue in the period over the sessions in the period, per currency. Columns:
    currency, sessions, revenue, revenue_per_session."""
    per_session = _sessions(events, start, end)
    sessions = per_session.aggregate(sessions=per_session.count())
    r = _order_revenue(orders, order_lines, start, end)
    money = r.group_by("currency").aggregate(revenue=r.revenue.sum())
    out = money.cross_join(sessions)
    return out.select("currency", "sessions", "revenue",
                      revenue_per_session=_rate(out.revenue, out.sessions)).order_by("currency")


def click_through_rate(touches: ibis.Table, start=None, end=None) -> ibis.Table:
    """Clicks over sends and impressions, per channel. Columns: channel, exposures, clicks,
    click_through_rate (null for a channel with clicks but no recorded exposures)."""
    t = _period(touches, "touched_at", start, end)
    out = t.group_by("channel").aggregate(exposures=t.kind.isin(list(EXPOSURE_KINDS)).cast("int64").sum(),
                                          clicks=t.kind.isin(list(CLICK_KINDS)).cast("int64").sum())
    return out.mutate(click_through_rate=_rate(out.clicks, out.exposures)).order_by("channel")


def recommendation_ctr(events: ibis.Table, start=None, end=None) -> ibis.Table:
    """Share of shown recommendation lists (Recommendation Shown, by decision_id) with at least one
    Product Clicked carrying the same decision_id. Columns: recommendations_shown,
    recommendations_clicked, recommendation_ctr."""
    e = _period(events.filter(events.decision_id.notnull()), "occurred_at", start, end)
    shown = e.filter(e.event == RECOMMENDATION_SHOWN).select(shown_id=ibis._.decision_id).distinct()
    clicked = e.filter(e.event == PRODUCT_CLICKED).select(clicked_id=ibis._.decision_id).distinct()
    j = shown.left_join(clicked, shown.shown_id == clicked.clicked_id)
    out = j.aggregate(recommendations_shown=j.count(),
                      recommendations_clicked=j.clicked_id.notnull().cast("int64").sum())
    out = out.mutate(recommendations_clicked=ibis.coalesce(out.recommendations_clicked, 0))
    return out.mutate(recommendation_ctr=_rate(out.recommendations_clicked, out.recommendations_shown))


def churn_rate(orders: ibis.Table, as_of: datetime | str, window_days: int = 90) -> ibis.Table:
    """Share of customers who ordered in the window before the last one and not in the last
    window_days before as_of. Columns: active_customers, churned_customers, churn_rate."""
    if window_days <= 0:
        raise KpiError(f"window_days={window_days}: pass a positive number of days, e.g. 90")
    end = pd.Timestamp(as_of)
    middle, begin = end - pd.Timedelta(days=window_days), end - pd.Timedelta(days=2 * window_days)
    known = orders.filter(orders.customer_id.notnull()
                          & (orders.status.isnull() | (orders.status != "cancelled")))
    before = _period(known, "ordered_at", begin, middle).select(a_customer=ibis._.customer_id).distinct()
    recent = _period(known, "ordered_at", middle, end).select(r_customer=ibis._.customer_id).distinct()
    j = before.left_join(recent, before.a_customer == recent.r_customer)
    out = j.aggregate(active_customers=j.count(), churned_customers=j.r_customer.isnull().cast("int64").sum())
    out = out.mutate(churned_customers=ibis.coalesce(out.churned_customers, 0))
    return out.mutate(churn_rate=_rate(out.churned_customers, out.active_customers))


INITIATIVE_INDICATORS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "recommendations": (("recommendation_ctr", "conversion_rate"),
                        ("average_order_value", "revenue_per_session", "incremental revenue per customer")),
    "search": (("search_to_conversion", "click_through_rate"), ("conversion_rate", "revenue_per_session")),
    "assistant": (("conversion_rate", "cart_abandonment_rate"), ("revenue_per_session",)),
    "campaigns": (("click_through_rate",), ("conversion_rate", "churn_rate", "incremental profit and ROI")),
    "churn_prevention": (("click_through_rate", "conversion_rate"), ("churn_rate", "customer lifetime value")),
    "pricing": (("conversion_rate", "cart_abandonment_rate"), ("average_order_value", "gross margin")),
    "content": (("click_through_rate", "search_to_conversion"), ("conversion_rate", "revenue_per_session")),
    "attribution_and_mix": (("click_through_rate", "marginal ROAS"), ("incremental revenue", "ROI")),
}


def initiative_indicators() -> pd.DataFrame:
    """Which KPIs lead (move within days of a change, so they steer it) and which lag (the
    business result, measured against a holdout) for each initiative. Columns: initiative,
    indicator, kind ("leading" or "lagging")."""
    rows = [{"initiative": name, "indicator": kpi, "kind": kind}
            for name, (leading, lagging) in INITIATIVE_INDICATORS.items()
            for kind, kpis in (("leading", leading), ("lagging", lagging)) for kpi in kpis]
    return pd.DataFrame(rows, columns=["initiative", "indicator", "kind"])
