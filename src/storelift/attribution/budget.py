"""Budget reallocation: the split of a total budget over channels that maximizes the marketing-mix
model's predicted revenue, each channel kept within its bounds.

Each channel's spend is scaled as a whole (its daily pattern kept), so a channel's revenue is its
fitted response curve; the optimum is found by SLSQP from the current split and from a split
proportional to the bounds' midpoints, and is never worse than the current split when that is
feasible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from .mmm import MarketingMixModel
from .paths import AttributionError

ALLOCATION_COLUMNS = ["channel", "current_spend", "proposed_spend", "change", "min_spend", "max_spend",
                      "current_contribution", "proposed_contribution", "marginal_roas_at_proposed"]


@dataclass
class BudgetAllocation:
    """A proposed split of the budget: the per-channel table (ALLOCATION_COLUMNS) and the
    predicted revenue gain over the current split, in the currency of the revenue."""

    table: pd.DataFrame
    total_budget: float
    current_revenue: float
    proposed_revenue: float

    @property
    def predicted_gain(self) -> float:
        return self.proposed_revenue - self.current_revenue


def reallocate_budget(model: MarketingMixModel, total_budget: float | None = None,
                      bounds: dict[str, tuple[float, float]] | None = None,
                      relative_bounds: tuple[float, float] = (0.5, 1.5)) -> BudgetAllocation:
    """Split `total_budget` (default: the current total spend over the fitted period) to maximize
    the predicted revenue from media. `bounds` gives (min, max) total spend for named channels;
    other channels stay within `relative_bounds` times their current spend."""
    model._fitted()
    channels = model.channels_
    current = np.array([float(model.data_[c].sum()) for c in channels])
    if (current <= 0).any():
        idle = [c for c, s in zip(channels, current) if s <= 0]
        raise AttributionError(f"channels {idle} have no spend in the fitted period: their response is unknown, "
                               "drop them from channels=[...]")
    budget = float(current.sum() if total_budget is None else total_budget)
    if budget <= 0:
        raise AttributionError(f"total_budget={total_budget}: pass a positive budget")
    low_rel, high_rel = relative_bounds
    if not 0 <= low_rel <= high_rel:
        raise AttributionError(f"relative_bounds={relative_bounds}: pass (low, high) with 0 <= low <= high")
    lows, highs = current * low_rel, current * high_rel
    for name, (lo, hi) in (bounds or {}).items():
        if name not in channels:
            raise AttributionError(f"bounds names {name!r}, not a channel of the model ({', '.join(channels)})")
        if not 0 <= lo <= hi:
            raise AttributionError(f"bounds[{name!r}]=({lo}, {hi}): pass 0 <= min <= max")
        j = channels.index(name)
        lows[j], highs[j] = lo, hi
    if not lows.sum() - 1e-9 <= budget <= highs.sum() + 1e-9:
        raise AttributionError(f"total_budget={budget:,.2f} is outside what the bounds allow "
                               f"({lows.sum():,.2f} to {highs.sum():,.2f}): widen the bounds or change the budget")

    def revenue(spend: np.ndarray) -> float:
        return sum(model.channel_contribution(c, s / cur) for c, s, cur in zip(channels, spend, current))

    scale = budget
    objective = lambda x: -revenue(x * scale) / scale  # noqa: E731
    constraint = {"type": "eq", "fun": lambda x: x.sum() - budget / scale}
    box = list(zip(lows / scale, highs / scale))
    starts = [np.clip(current * budget / current.sum(), lows, highs) / scale,
              np.clip((lows + highs) / 2 * budget / ((lows + highs) / 2).sum(), lows, highs) / scale]
    best = None
    for start in starts:
        res = minimize(objective, start, method="SLSQP", bounds=box, constraints=[constraint],
                       options={"maxiter": 500, "ftol": 1e-12})
        feasible = abs(res.x.sum() - budget / scale) < 1e-6
        if feasible and (best is None or res.fun < best.fun):
            best = res
    if best is None:
        raise AttributionError("the optimizer found no split that meets the budget within the bounds; "
                               "widen the bounds")
    proposed = np.clip(best.x * scale, lows, highs)
    proposed *= budget / proposed.sum()
    base = np.array([model.channel_contribution(c) for c in channels])
    after = np.array([model.channel_contribution(c, s / cur) for c, s, cur in zip(channels, proposed, current)])
    if total_budget is None and after.sum() < base.sum():  # the current split is feasible: never propose worse
        proposed, after = current.copy(), base.copy()
    table = pd.DataFrame({
        "channel": channels, "current_spend": current, "proposed_spend": proposed, "change": proposed - current,
        "min_spend": lows, "max_spend": highs, "current_contribution": base, "proposed_contribution": after,
        "marginal_roas_at_proposed": [model._marginal_roas(c, s / cur) for c, s, cur in
                                      zip(channels, proposed, current)],
    }, columns=ALLOCATION_COLUMNS)
    return BudgetAllocation(table, budget, float(base.sum()), float(after.sum()))
