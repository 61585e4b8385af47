"""Return on investment: total cost of ownership, scenarios, and incremental profit measured against a holdout.

ROI = (net profit - cost) / cost, where net profit is the profit the initiative brought in over the
horizon and cost is its total cost of ownership over the same horizon. Worked example: cost
$120,000 and six-month net profit $420,000 give (420,000 - 120,000) / 120,000 = 2.5, i.e. 250%.
Measured, not assumed: `treatment_readout` estimates the incremental revenue, margin or conversion
per customer from treatment vs holdout (Welch's t interval), and `roi_readout` carries that
interval through to ROI, which is monotone in the incremental profit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from ..errors import StoreliftError

COMPONENTS = ("software", "implementation", "integration", "training", "maintenance", "people")
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
READOUT_COLUMNS = ["metric", "treatment_units", "control_units", "treatment_mean", "control_mean", "lift",
                   "lift_low", "lift_high", "relative_lift", "p_value", "incremental_total", "incremental_low",
                   "incremental_high"]


class RoiError(StoreliftError):
    """ROI inputs or parameters are unusable."""

    exit_code = 2


@dataclass(frozen=True)
class CostItem:
    """One cost of an initiative: a one-off amount, or an amount due every month, quarter or year."""

    name: str
    component: str  # one of COMPONENTS
    amount: float
    recurrence: str = "one_off"  # one_off, monthly, quarterly or annual

    def over(self, months: float) -> float:
        """What the item costs over a horizon of `months` (a recurring item is due at the start of
        each period that begins inside the horizon)."""
        if self.recurrence == "one_off":
            return self.amount
        return self.amount * float(np.ceil(months / PERIOD_MONTHS[self.recurrence] - 1e-9))


def _check_items(items: Iterable[CostItem]) -> list[CostItem]:
    items = list(items)
    for item in items:
        if item.component not in COMPONENTS:
            raise RoiError(f"cost item {item.name!r}: component {item.component!r} is not one of "
                           f"{', '.join(COMPONENTS)}")
        if item.recurrence != "one_off" and item.recurrence not in PERIOD_MONTHS:
            raise RoiError(f"cost item {item.name!r}: recurrence {item.recurrence!r} is not one of one_off, "
                           f"{', '.join(PERIOD_MONTHS)}")
        if item.amount < 0:
            raise RoiError(f"cost item {item.name!r}: amount {item.amount} is negative; costs are positive")
    return items


def total_cost_of_ownership(items: Iterable[CostItem], months: float) -> pd.DataFrame:
    """Cost per component over the horizon. Columns: component, one_off, recurring, total
    (every component listed, zero when it has no item)."""
    if months <= 0:
        raise RoiError(f"months={months}: pass a positive horizon, e.g. 6")
    rows = {c: {"component": c, "one_off": 0.0, "recurring": 0.0} for c in COMPONENTS}
    for item in _check_items(items):
        rows[item.component]["one_off" if item.recurrence == "one_off" else "recurring"] += item.over(months)
    out = pd.DataFrame(list(rows.values()))
    out["total"] = out["one_off"] + out["recurring"]
    return out


def roi(net_profit: float, cost: float) -> float:
    """(net_profit - cost) / cost: 2.5 means the initiative returned its cost plus 250%."""
    if not cost > 0:
        raise RoiError(f"cost={cost}: ROI needs a positive cost (the total cost of ownership)")
    return (net_profit - cost) / cost


@dataclass(frozen=True)
class Scenario:
    """A case for the ROI: net profit over the horizon and a multiplier on the planned cost."""

    name: str
    net_profit: float
    cost_multiplier: float = 1.0


def default_scenarios(expected_net_profit: float, spread: float = 0.5,
                      pessimistic_cost_overrun: float = 0.2) -> list[Scenario]:
    """Pessimistic (profit x (1 - spread), cost overrun), expected, optimistic (profit x (1 + spread))."""
    return [Scenario("pessimistic", expected_net_profit * (1 - spread), 1 + pessimistic_cost_overrun),
            Scenario("expected", expected_net_profit),
            Scenario("optimistic", expected_net_profit * (1 + spread))]


def roi_scenarios(cost: float | Iterable[CostItem], scenarios: Sequence[Scenario], months: float) -> pd.DataFrame:
    """ROI per scenario. cost: a total, or cost items (totalled over `months`). Columns: scenario,
    net_profit, cost, net_gain (net_profit - cost), roi, payback_months (cost / monthly profit;
    null when the profit is not positive)."""
    if months <= 0:
        raise RoiError(f"months={months}: pass a positive horizon, e.g. 6")
    base = float(cost) if isinstance(cost, (int, float)) else float(
        total_cost_of_ownership(cost, months)["total"].sum())
    rows = []
    for s in scenarios:
        c = base * s.cost_multiplier
        monthly = s.net_profit / months
        rows.append({"scenario": s.name, "net_profit": s.net_profit, "cost": c, "net_gain": s.net_profit - c,
                     "roi": roi(s.net_profit, c), "payback_months": c / monthly if monthly > 0 else np.nan})
    return pd.DataFrame(rows, columns=["scenario", "net_profit", "cost", "net_gain", "roi", "payback_months"])


def _arms(outcomes: pd.DataFrame, arm_column: str, treatment: str, control: str | None) -> tuple[str, str]:
    if arm_column not in outcomes.columns:
        raise RoiError(f"outcomes have no column {arm_column!r}: pass arm_column= the column naming each unit's arm")
    arms = set(outcomes[arm_column].dropna().astype(str))
    if treatment not in arms:
        raise RoiError(f"no unit is in arm {treatment!r} (arms: {sorted(arms)}); pass treatment=")
    if control is None:
        others = sorted(arms - {treatment})
        if len(others) != 1:
            raise RoiError(f"arms are {sorted(arms)}: pass control= the holdout arm to compare with")
        control = others[0]
    elif control not in arms:
        raise RoiError(f"no unit is in arm {control!r} (arms: {sorted(arms)}); pass control=")
    return treatment, control


def treatment_readout(outcomes: pd.DataFrame, metrics: Sequence[str] = ("revenue",), arm_column: str = "arm",
                      treatment: str = "treatment", control: str | None = None, confidence: float = 0.95,
                      method: str = "welch") -> pd.DataFrame:
    """Incremental outcome per unit (customer) of treatment over control, with a confidence interval.

    outcomes: one row per unit with the arm column and numeric metric columns (e.g. converted,
    revenue, margin). method "welch" uses Welch's t with Welch-Satterthwaite degrees of freedom;
    "normal" the normal approximation. incremental_* = lift x treatment units: what the treatment
    added over its own customers. Columns: READOUT_COLUMNS.
    """
    if not 0 < confidence < 1:
        raise RoiError(f"confidence={confidence}: pass a level between 0 and 1, e.g. 0.95")
    if method not in ("welch", "normal"):
        raise RoiError(f"method={method!r}: use 'welch' or 'normal'")
    treatment, control = _arms(outcomes, arm_column, treatment, control)
    arm = outcomes[arm_column].astype(str)
    rows = []
    for metric in metrics:
        if metric not in outcomes.columns:
            raise RoiError(f"outcomes have no column {metric!r}; metrics are columns of per-unit outcomes")
        values = pd.to_numeric(outcomes[metric], errors="coerce").astype(float)
        a, b = values[arm == treatment].dropna().to_numpy(), values[arm == control].dropna().to_numpy()
        if len(a) < 2 or len(b) < 2:
            raise RoiError(f"metric {metric!r}: each arm needs at least 2 units with a value "
                           f"({len(a)} treatment, {len(b)} control)")
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        se = float(np.sqrt(va + vb))
        lift = float(a.mean() - b.mean())
        if method == "welch" and se > 0:
            df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
            dist = stats.t(df)
        else:
            dist = stats.norm()
        q = float(dist.ppf(0.5 + confidence / 2))
        p = float(2 * dist.sf(abs(lift) / se)) if se > 0 else (0.0 if lift != 0 else 1.0)
        lo, hi = lift - q * se, lift + q * se
        n = len(a)
        rows.append({"metric": metric, "treatment_units": n, "control_units": len(b),
                     "treatment_mean": float(a.mean()), "control_mean": float(b.mean()), "lift": lift,
                     "lift_low": lo, "lift_high": hi,
                     "relative_lift": lift / b.mean() if b.mean() != 0 else np.nan, "p_value": p,
                     "incremental_total": lift * n, "incremental_low": lo * n, "incremental_high": hi * n})
    return pd.DataFrame(rows, columns=READOUT_COLUMNS)


def roi_readout(outcomes: pd.DataFrame, cost: float, profit_metric: str = "margin", arm_column: str = "arm",
                treatment: str = "treatment", control: str | None = None, confidence: float = 0.95,
                method: str = "welch", units: int | None = None) -> pd.DataFrame:
    """ROI measured against the holdout, with its interval: incremental profit = lift in
    `profit_metric` per unit x units (default: the treatment arm's size, or the number of
    customers the initiative will reach). Columns: metric, units, incremental_profit,
    incremental_profit_low, incremental_profit_high, cost, roi, roi_low, roi_high."""
    row = treatment_readout(outcomes, [profit_metric], arm_column, treatment, control, confidence, method).iloc[0]
    n = int(row["treatment_units"] if units is None else units)
    profit, lo, hi = row["lift"] * n, row["lift_low"] * n, row["lift_high"] * n
    return pd.DataFrame([{"metric": profit_metric, "units": n, "incremental_profit": profit,
                          "incremental_profit_low": lo, "incremental_profit_high": hi, "cost": float(cost),
                          "roi": roi(profit, cost), "roi_low": roi(lo, cost), "roi_high": roi(hi, cost)}])


def window_outcomes(arms: ibis.Table, orders: ibis.Table, order_lines: ibis.Table, start: datetime | str,
                    end: datetime | str, products: ibis.Table | None = None) -> ibis.Table:
    """Per-customer outcomes in [start, end) for customers with an arm (Ibis, any engine).

    arms: customer_id, arm (e.g. the assignments table). Columns: customer_id, arm, converted
    (1 if any order in the window), orders, revenue (line amounts), and margin (revenue less
    quantity x product cost; a product without a cost counts as zero cost) when products are given.
    Cancelled orders do not count."""
    lo, hi = pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime()
    placed = orders.filter((orders.ordered_at >= lo) & (orders.ordered_at < hi) & orders.customer_id.notnull()
                           & (orders.status.isnull() | (orders.status != "cancelled")))
    lines = order_lines.join(placed.select("order_id", "customer_id"), "order_id")
    if products is not None:
        cost = products.select(p_id=products.product_id, unit_cost=products.cost)
        lines = lines.left_join(cost, lines.product_id == cost.p_id)
        lines = lines.mutate(margin=lines.amount - lines.quantity * ibis.coalesce(lines.unit_cost, 0.0))
    money = {"revenue": lines.amount.sum()}
    if products is not None:
        money["margin"] = lines.margin.sum()
    per_customer = lines.group_by("customer_id").aggregate(**money)
    counts = placed.group_by("customer_id").aggregate(orders=placed.count())
    a = arms.select(a_customer=arms.customer_id, arm=arms.arm)
    j = a.left_join(counts, a.a_customer == counts.customer_id)
    j = j.select(customer_id=j.a_customer, arm=j.arm, orders=ibis.coalesce(j.orders, 0))
    k = j.left_join(per_customer, j.customer_id == per_customer.customer_id)
    columns = {"customer_id": k.customer_id, "arm": k.arm,
               "converted": (k.orders > 0).cast("int64"), "orders": k.orders,
               "revenue": ibis.coalesce(k.revenue, 0.0)}
    if products is not None:
        columns["margin"] = ibis.coalesce(k.margin, 0.0)
    return k.select(**columns).order_by("customer_id")
