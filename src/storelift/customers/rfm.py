"""RFM analysis: recency, frequency and monetary quintile scores, named segments, Pareto and grid views.

Scores follow Hughes' RFM method (Hughes 1994, "Strategic Database Marketing"): customers are
ranked on each of recency, frequency and spend and split into five equal-sized groups, 5 best.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from ..errors import StoreliftError

ORDER_COLUMNS = ("customer_id", "order_id", "ordered_at", "value")
SECONDS_PER_DAY = 86_400


class CustomerDataError(StoreliftError, ValueError):
    """Customer order data cannot be analysed as given (a column is missing, or there are no rows)."""


@dataclass(frozen=True)
class SegmentRule:
    """A named RFM segment: the R score range and FM score range it covers, and what to do about it."""

    name: str
    rule: str
    r_range: tuple[int, int]
    fm_range: tuple[int, int]
    action: str

    def covers(self, r_score: int, fm_score: int) -> bool:
        return self.r_range[0] <= r_score <= self.r_range[1] and self.fm_range[0] <= fm_score <= self.fm_range[1]


# FM score = (F + M) / 2 rounded half up, 1..5. The ranges tile the 5 x 5 grid of R and FM, so
# each of the 125 R-F-M cells falls in exactly one segment.
SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("Champions", "bought very recently, buy often and spend the most", (5, 5), (4, 5),
                "Reward them; ask for reviews and referrals; early access to new products."),
    SegmentRule("Loyal", "buy often and spend well, recently enough", (3, 4), (4, 5),
                "Upsell higher-value products; loyalty programme; ask for reviews."),
    SegmentRule("Potential loyalists", "recent customers with average frequency and spend", (4, 5), (2, 3),
                "Offer membership or loyalty; recommend related products."),
    SegmentRule("New", "bought very recently for the first time or two, small spend", (5, 5), (1, 1),
                "Onboard them; welcome series; help with the first repeat order."),
    SegmentRule("Promising", "recent shoppers who have not bought much yet", (4, 4), (1, 1),
                "Build brand awareness; free trials or a first-repeat incentive."),
    SegmentRule("Need attention", "average recency, frequency and spend", (3, 3), (3, 3),
                "Limited-time offers; recommendations based on past purchases."),
    SegmentRule("About to sleep", "below-average recency, low frequency and spend", (3, 3), (1, 2),
                "Share popular products and limited discounts; reconnect before they lapse."),
    SegmentRule("At risk", "spent well and bought often, but long ago", (1, 2), (3, 4),
                "Personalised win-back e-mails; renewals; helpful resources."),
    SegmentRule("Can't lose", "made the biggest and most frequent purchases, but long ago", (1, 2), (5, 5),
                "Win them back with new products and strong offers; talk to them."),
    SegmentRule("Hibernating", "last purchase long ago, few orders and low spend", (2, 2), (1, 2),
                "Offer relevant products and special discounts; recreate brand value."),
    SegmentRule("Lost", "lowest recency, frequency and spend", (1, 1), (1, 2),
                "Revive interest with a reach-out campaign, otherwise leave them be."),
)


def segment_rules_frame() -> pd.DataFrame:
    """SEGMENT_RULES as a table: segment, rule, r_min, r_max, fm_min, fm_max, action."""
    return pd.DataFrame([
        {"segment": s.name, "rule": s.rule, "r_min": s.r_range[0], "r_max": s.r_range[1],
         "fm_min": s.fm_range[0], "fm_max": s.fm_range[1], "action": s.action}
        for s in SEGMENT_RULES
    ])


def fm_score(f_score: int, m_score: int) -> int:
    """The combined frequency-and-spend score: (F + M) / 2 rounded half up."""
    return (f_score + m_score + 1) // 2


def segment_for(r_score: int, f_score: int, m_score: int) -> str:
    """The segment name of one R-F-M cell."""
    fm = fm_score(f_score, m_score)
    for rule in SEGMENT_RULES:
        if rule.covers(r_score, fm):
            return rule.name
    raise ValueError(f"R={r_score}, F={f_score}, M={m_score} is not a cell of the 1..5 RFM grid")


def rfm_cells() -> pd.DataFrame:
    """All 125 cells: r_score, f_score, m_score, rfm_cell, fm_score, segment."""
    rows = [(r, f, m) for r in range(5, 0, -1) for f in range(5, 0, -1) for m in range(5, 0, -1)]
    frame = pd.DataFrame(rows, columns=["r_score", "f_score", "m_score"])
    frame["rfm_cell"] = [f"{r}-{f}-{m}" for r, f, m in rows]
    frame["fm_score"] = [fm_score(f, m) for _, f, m in rows]
    frame["segment"] = [segment_for(r, f, m) for r, f, m in rows]
    return frame


def check_order_columns(orders: ibis.Table, needed: tuple[str, ...] = ORDER_COLUMNS) -> None:
    """Raise CustomerDataError naming any missing column, or an ordered_at that is not a timestamp."""
    missing = [c for c in needed if c not in orders.columns]
    if missing:
        raise CustomerDataError(
            f"orders has no column(s) {', '.join(map(repr, missing))}; pass the customer orders table "
            f"({', '.join(needed)}), e.g. storelift.customers.customer_orders(orders, order_lines, refunds)")
    if "ordered_at" in needed and not orders.ordered_at.type().is_timestamp():
        raise CustomerDataError(
            f"orders column 'ordered_at' is {orders.ordered_at.type()}, not a timestamp; "
            "cast it first, e.g. orders.mutate(ordered_at=orders.ordered_at.cast('timestamp'))")


def as_timestamp(as_of) -> pd.Timestamp:
    """as_of (a date, datetime, Timestamp or ISO string) as a naive UTC Timestamp; a date means its midnight."""
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise CustomerDataError(f"as_of={as_of!r} is not a date or time; pass e.g. '2024-01-01'") from exc
    if ts is pd.NaT:
        raise CustomerDataError("as_of is missing; pass the date the analysis is made at, e.g. '2024-01-01'")
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _days_between(later: ibis.Value, earlier: ibis.Value) -> ibis.Value:
    """Days from earlier to later, at whole-second resolution so every engine agrees."""
    seconds = later.truncate("s").epoch_seconds() - earlier.truncate("s").epoch_seconds()
    return seconds.cast("float64") / SECONDS_PER_DAY


def to_cents(amount: ibis.Value) -> ibis.Value:
    """Money rounded half up to the cent by IEEE arithmetic, so DuckDB and Spark round alike
    (their round() differ on halves: one rounds the binary value, the other its decimal text)."""
    return (amount.cast("float64") * 100 + 0.5).floor().cast("float64") / 100


def _check_has_orders_before(orders: ibis.Table, as_of: pd.Timestamp) -> None:
    stats = orders.aggregate(rows=orders.count(), first=orders.ordered_at.min()).execute()
    if int(stats["rows"].iloc[0]) == 0:
        raise CustomerDataError("orders has no rows; load orders first (storelift ingest) or check the filter")
    first = pd.Timestamp(stats["first"].iloc[0])
    if first >= as_of:
        raise CustomerDataError(
            f"as_of={as_of} is not after the first order ({first}); pass an as_of later than {first}")


def _quintile(key: ibis.Value, rows: ibis.Value) -> ibis.Value:
    """1..5 by key ascending (5 = highest key), from the minimum rank: equal keys share a score.

    Without ties the five groups differ in size by at most one; a tie (for example the many one-order
    customers) stays whole in the quintile its first member reaches, as with pandas' rank(method="min").
    `rows` is the number of customers scored.
    """
    rank = ibis.rank().over(order_by=key)  # 0-based; equal keys get the lowest rank
    return ((rank * 5) // rows).cast("int64") + 1


def _segment_expr(r: ibis.Value, f: ibis.Value, m: ibis.Value) -> ibis.Value:
    fm = ((f + m + 1) / 2).floor().cast("int64")
    branches = [((r >= s.r_range[0]) & (r <= s.r_range[1]) & (fm >= s.fm_range[0]) & (fm <= s.fm_range[1]), s.name)
                for s in SEGMENT_RULES]
    return ibis.cases(*branches)


def rfm_table(orders: ibis.Table, as_of, check: bool = True) -> ibis.Table:
    """One row per customer with an order before as_of: RFM values, quintile scores and segment.

    orders: one row per order, as `customer_orders` returns (order lines would count as orders).

    Columns: customer_id, first_order_at, last_order_at, recency_days (as_of - last order, days),
    tenure_days (as_of - first order), frequency (orders), monetary (sum of value, to the cent),
    mean_order_value (monetary / frequency), r_score, f_score, m_score (1..5, 5 = most recent / frequent / highest
    spend), rfm_cell ("R-F-M"), rfm_score (R + F + M), segment (see SEGMENT_RULES).
    Scores are quintiles of the minimum rank: equal values share a score (every engine gives the
    same scores), so with many ties the groups are not equal in size. `check` runs one query to reject empty data or an as_of before all orders.
    """
    check_order_columns(orders)
    as_of_ts = as_timestamp(as_of)
    as_of_lit = ibis.literal(as_of_ts.to_pydatetime(), type="timestamp")
    if check:
        _check_has_orders_before(orders, as_of_ts)
    seen = orders.filter(orders.ordered_at < as_of_lit)
    per = seen.group_by("customer_id").aggregate(
        first_order_at=seen.ordered_at.min(),
        last_order_at=seen.ordered_at.max(),
        frequency=seen.order_id.count().cast("int64"),  # one row per order (as customer_orders gives)
        monetary=to_cents(seen.value.sum()),
    )
    per = per.mutate(
        recency_days=_days_between(as_of_lit, per.last_order_at),
        tenure_days=_days_between(as_of_lit, per.first_order_at),
        mean_order_value=per.monetary / per.frequency,
    )
    rows = per.customer_id.count().over(ibis.window())
    scored = per.mutate(
        r_score=_quintile(per.last_order_at, rows),
        f_score=_quintile(per.frequency, rows),
        m_score=_quintile(per.monetary, rows),
    )
    r, f, m = scored.r_score, scored.f_score, scored.m_score
    out = scored.mutate(
        rfm_cell=r.cast("string").concat("-", f.cast("string"), "-", m.cast("string")),
        rfm_score=r + f + m,
        segment=_segment_expr(r, f, m),
    )
    return out.select(
        "customer_id", "first_order_at", "last_order_at", "recency_days", "tenure_days", "frequency",
        "monetary", "mean_order_value", "r_score", "f_score", "m_score", "rfm_cell", "rfm_score", "segment",
    )


def _require(frame: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CustomerDataError(
            f"{where}: the frame has no column(s) {', '.join(map(repr, missing))}; "
            "pass the executed output of rfm_table(...).execute()")


def segment_summary(rfm: pd.DataFrame) -> pd.DataFrame:
    """Per segment, in SEGMENT_RULES order: customers, share, revenue, revenue_share,
    mean_recency_days, mean_frequency, mean_monetary, action. Empty segments have 0 customers."""
    _require(rfm, ["segment", "recency_days", "frequency", "monetary"], "segment_summary")
    grouped = rfm.groupby("segment").agg(
        customers=("segment", "size"), revenue=("monetary", "sum"), mean_recency_days=("recency_days", "mean"),
        mean_frequency=("frequency", "mean"), mean_monetary=("monetary", "mean"),
    )
    names = [s.name for s in SEGMENT_RULES]
    out = grouped.reindex(names).rename_axis("segment").reset_index()
    out["customers"] = out["customers"].fillna(0).astype("int64")
    out["revenue"] = out["revenue"].fillna(0.0)
    total_customers, total_revenue = out["customers"].sum(), out["revenue"].sum()
    out["share"] = out["customers"] / total_customers if total_customers else 0.0
    out["revenue_share"] = out["revenue"] / total_revenue if total_revenue else 0.0
    out["action"] = [s.action for s in SEGMENT_RULES]
    return out[["segment", "customers", "share", "revenue", "revenue_share", "mean_recency_days",
                "mean_frequency", "mean_monetary", "action"]]


def rfm_grid(rfm: pd.DataFrame) -> pd.DataFrame:
    """The 5 x 5 R x F grid for a heatmap: r_score, f_score, customers, mean_monetary (NaN when empty)."""
    _require(rfm, ["r_score", "f_score", "monetary"], "rfm_grid")
    grouped = rfm.groupby(["r_score", "f_score"]).agg(customers=("monetary", "size"),
                                                       mean_monetary=("monetary", "mean"))
    cells = pd.MultiIndex.from_product([range(5, 0, -1), range(1, 6)], names=["r_score", "f_score"])
    out = grouped.reindex(cells).reset_index()
    out["customers"] = out["customers"].fillna(0).astype("int64")
    return out


def _spend(values) -> np.ndarray:
    spend = np.asarray(values, dtype="float64")
    if spend.ndim != 1 or spend.size == 0:
        raise CustomerDataError("values is empty; pass one spend figure per customer, e.g. rfm['monetary']")
    if np.isnan(spend).any():
        raise CustomerDataError("values has missing entries; fill or drop them first, e.g. values.fillna(0)")
    if (spend < 0).any():
        raise CustomerDataError("values has negative spend; clip refunds at zero first, e.g. values.clip(lower=0)")
    if spend.sum() <= 0:
        raise CustomerDataError("values sum to zero, so there is no revenue to share out")
    return spend


def pareto_curve(values, points: int = 101) -> pd.DataFrame:
    """Revenue concentration: customer_share (top customers first, 0..1) and revenue_share (cumulative).

    `points` evenly spaced customer shares; between whole customers the curve is interpolated.
    """
    if points < 2:
        raise CustomerDataError(f"points={points}; pass at least 2 points")
    spend = np.sort(_spend(values))[::-1]
    xs = np.arange(spend.size + 1) / spend.size
    ys = np.concatenate([[0.0], np.cumsum(spend) / spend.sum()])
    ys[-1] = 1.0
    grid = np.linspace(0.0, 1.0, points)
    return pd.DataFrame({"customer_share": grid, "revenue_share": np.interp(grid, xs, ys)})


def top_share(values, top: float = 0.2) -> float:
    """Revenue share of the top `top` fraction of customers (0.2: the '80/20' figure)."""
    if not 0.0 < top <= 1.0:
        raise CustomerDataError(f"top={top}; pass a fraction of customers in (0, 1], e.g. 0.2")
    spend = np.sort(_spend(values))[::-1]
    xs = np.arange(spend.size + 1) / spend.size
    ys = np.concatenate([[0.0], np.cumsum(spend) / spend.sum()])
    return float(min(1.0, np.interp(top, xs, ys)))


def as_of_default(orders: ibis.Table) -> dt.datetime:
    """The day after the last order: a sensible as_of when scoring everything that has happened."""
    check_order_columns(orders, ("ordered_at",))
    last = orders.ordered_at.max().execute()
    if last is None or pd.isna(last):
        raise CustomerDataError("orders has no rows; load orders first (storelift ingest) or check the filter")
    return (pd.Timestamp(last).normalize() + pd.Timedelta(days=1)).to_pydatetime()
