"""Why a customer's lifetime value is what it is: reasons in words per customer, and what drives CLV overall.

Every number quoted comes from the fitted BG/NBD and Gamma-Gamma models' own methods (via
`customer_lifetime_value`), so a reason never disagrees with the score. A "purchase" is a day with an
order, as in the summary the models read (`rfm_summary`). Global drivers are partial dependence
(Friedman 2001): one input is set to a quantile of its spread for every sampled repeat buyer, the
others are held, and the mean CLV is read off. The median is kept beside it because the two can
disagree: for a customer silent for months, more repeat purchases make a drop-out likelier (BG/NBD),
so extra frequency raises the mean CLV while the dormant median customer's CLV falls.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bgnbd import BetaGeo
from .clv import customer_lifetime_value
from .clv_fit import ModelDataError
from .gamma_gamma import GammaGamma

CLV_REASON_COLUMNS = {
    "customer_id": "Customer (or the summary's index when it has no customer_id column).",
    "frequency": "Repeat purchases (days with an order after the first) before the cut-off.",
    "age_days": "Days from the first purchase to the cut-off (the model's T).",
    "days_since_last": "Days from the last purchase to the cut-off (T minus recency).",
    "p_alive": "BG/NBD P(alive) at the cut-off.",
    "expected_purchases": "BG/NBD expected purchases over the horizon (not discounted).",
    "average_order_value": "The customer's mean repeat-purchase value (NaN without a repeat purchase).",
    "expected_order_value": "Gamma-Gamma conditional expected order value: the average shrunk toward the store mean.",
    "population_order_value": "Gamma-Gamma mean order value of the whole population (the store mean).",
    "discount_factor": "Discounted over undiscounted expected purchases (NaN when none are expected).",
    "clv": "Discounted lifetime value over the horizon.",
    "reason_1": "Purchase history and P(alive), in words.",
    "reason_2": "Average order value and its shrinkage by the spend model, in words.",
    "reason_3": "How the CLV is put together, in words.",
    "clv_reasons": "reason_1..reason_3 joined with '; '.",
}

DRIVER_INPUTS = {
    "frequency": "repeat purchases",
    "days_since_last": "days since the last purchase",
    "active_days": "days from the first to the last purchase",
    "average_order_value": "average repeat-purchase value",
}

PARTIAL_DEPENDENCE_COLUMNS = {
    "input": "The input moved: a key of DRIVER_INPUTS.",
    "description": "The input in words.",
    "quantile": "Quantile of the input among the sampled repeat buyers.",
    "value": "The input's value at that quantile (purchases, days or currency).",
    "median_clv": "Median CLV of the sample with every customer's input set to `value`, others held.",
    "mean_clv": "Mean CLV of the same: the partial dependence.",
}

DRIVER_COLUMNS = {
    "input": "The input moved: a key of DRIVER_INPUTS.",
    "description": "The input in words.",
    "low": "Value at low_quantile.",
    "high": "Value at high_quantile.",
    "low_quantile": "0.25, or 0.1 when the quartiles coincide.",
    "high_quantile": "0.75, or 0.9 when the quartiles coincide.",
    "mean_clv_low": "Mean CLV with the input at `low` for everyone (the partial dependence).",
    "mean_clv_high": "Mean CLV with the input at `high` for everyone.",
    "change": "mean_clv_high minus mean_clv_low: the response of mean CLV to one inter-quantile step.",
    "median_change": "The same step's change in median CLV.",
    "direction": "'raises CLV', 'lowers CLV' or 'no effect' on the mean as the input grows.",
}


def _repeats(n: int) -> str:
    return f"{n} repeat purchase" + ("" if n == 1 else "s")


def _history_reason(repeat: bool, n: int, age: float, since: float, p_alive: float) -> str:
    """Purchase history and the P(alive) it gives."""
    if not repeat:
        return (f"one purchase, {age:.0f} days before the cut-off, and no repeat yet: P(alive) {p_alive:.2f} "
                "(the model lets customers drop out only after a repeat purchase)")
    return (f"{_repeats(n)} in the {age:.0f} days since the first, the last {since:.0f} days before the cut-off: "
            f"P(alive) {p_alive:.2f}")


def _spend_reason(repeat: bool, n: int, own: float, verb: str, value: float, population: float) -> str:
    """The customer's average order value and where the spend model moves it."""
    if not repeat:
        return f"no repeat purchase to learn spend from: valued at the store mean {value:.2f} (spend model)"
    return (f"average repeat purchase {own:.2f}, {verb} {value:.2f} by the spend model "
            f"(store mean {population:.2f}, {_repeats(n)})")


def _value_reason(value: float, purchases: float, discount: float, clv: float, horizon_months: int) -> str:
    """Expected purchases x expected order value x discounting = CLV."""
    count = f"{purchases:.2f}" if purchases < 1 else f"{purchases:.1f}"
    head = f"expected {count} purchases in the next {horizon_months} months x {value:.2f}"
    if discount == discount:  # not NaN
        return f"{head} x {discount:.2f} discounting = CLV {clv:.2f}"
    return f"{head} = CLV {clv:.2f}"


def _check_summary(summary: pd.DataFrame) -> None:
    missing = [c for c in ("frequency", "recency", "T", "monetary_value") if c not in summary.columns]
    if missing:
        raise ModelDataError(f"summary lacks column(s) {missing}; build it with storelift.customers.rfm_summary "
                             "as of the scoring date")


def _ids(summary: pd.DataFrame) -> np.ndarray:
    return summary["customer_id"].to_numpy() if "customer_id" in summary.columns else summary.index.to_numpy()


def _model_values(bgnbd: BetaGeo, gg: GammaGamma, summary: pd.DataFrame, clv: pd.DataFrame | None,
                  horizon_months: int, monthly_discount_rate: float, time_unit_days: float) -> pd.DataFrame:
    """p_alive, expected_purchases, expected_order_value and clv per summary row, from the models."""
    if clv is None:
        # n_draws=0: the point values only, no interval (which would cost a dozen more evaluations)
        return customer_lifetime_value(bgnbd, gg, summary, horizon_months, monthly_discount_rate, time_unit_days,
                                       interval="bootstrap", n_draws=0).reset_index(drop=True)
    missing = [c for c in ("customer_id", "p_alive", "expected_purchases", "clv") if c not in clv.columns]
    if missing:
        raise ModelDataError(f"clv lacks column(s) {missing}; pass the output of customer_lifetime_value "
                             "or customer_scores rows")
    ids = pd.Index(_ids(summary))
    found = clv.drop_duplicates("customer_id", keep="last").set_index("customer_id")
    absent = ~ids.isin(found.index)
    if absent.any():
        raise ModelDataError(f"clv has no row for customer {ids[absent][0]!r} of the summary; "
                             "pass the CLV of the same customers")
    out = found.loc[ids, ["p_alive", "expected_purchases", "clv"]].reset_index()
    out["expected_order_value"] = gg.conditional_expected_order_value(summary).to_numpy()
    return out


def clv_reasons(bgnbd: BetaGeo, gg: GammaGamma, summary: pd.DataFrame, clv: pd.DataFrame | None = None, *,
                horizon_months: int = 12, monthly_discount_rate: float = 0.01,
                time_unit_days: float = 7.0) -> pd.DataFrame:
    """Per-customer CLV reasons in words with the numbers behind them (columns: CLV_REASON_COLUMNS).

    summary: the rfm_summary rows the models score (frequency, recency, T, monetary_value in
    time_unit_days units). clv: the same customers' customer_lifetime_value output (or customer_scores
    rows) to quote instead of recomputing; horizon_months then only names its horizon.
    """
    _check_summary(summary)
    values = _model_values(bgnbd, gg, summary, clv, horizon_months, monthly_discount_rate, time_unit_days)
    x = summary["frequency"].to_numpy(float)
    recency, age = (summary[c].to_numpy(float) * time_unit_days for c in ("recency", "T"))
    since = age - recency
    own = np.where(x > 0, summary["monetary_value"].to_numpy(float), np.nan)
    p_alive, purchases, value, total = (values[c].to_numpy(float)
                                        for c in ("p_alive", "expected_purchases", "expected_order_value", "clv"))
    population = gg.mean_order_value()
    with np.errstate(divide="ignore", invalid="ignore"):
        discount = np.where(purchases * value > 0, total / (purchases * value), np.nan)
    repeat = x > 0

    # the numbers above are whole-array operations; only the wording is assembled row by row
    verb = np.select([value < own - 0.005, value > own + 0.005], ["shrunk to", "raised to"], "kept at").tolist()
    counts = x.astype("int64").tolist()
    repeat_list, value_list = repeat.tolist(), value.tolist()
    out = pd.DataFrame({
        "customer_id": _ids(summary),
        "frequency": x.astype("int64"),
        "age_days": age,
        "days_since_last": since,
        "p_alive": p_alive,
        "expected_purchases": purchases,
        "average_order_value": own,
        "expected_order_value": value,
        "population_order_value": population,
        "discount_factor": discount,
        "clv": total,
        "reason_1": [_history_reason(*r) for r in zip(repeat_list, counts, age.tolist(), since.tolist(),
                                                       p_alive.tolist())],
        "reason_2": [_spend_reason(*r, population) for r in zip(repeat_list, counts, own.tolist(), verb, value_list)],
        "reason_3": [_value_reason(*r, horizon_months) for r in zip(value_list, purchases.tolist(), discount.tolist(),
                                                                     total.tolist())],
    })
    out["clv_reasons"] = out["reason_1"] + "; " + out["reason_2"] + "; " + out["reason_3"]
    return out


def _moved(base: pd.DataFrame, name: str, value: float, time_unit_days: float) -> pd.DataFrame:
    """The sample with one input set to `value` for everyone and the others held. The day inputs split the
    age T into the active span (recency) and the silence since (T - recency), so no move leaves [0, T]."""
    frame = base.copy()
    if name == "frequency":
        frame["frequency"] = value
    elif name == "average_order_value":
        frame["monetary_value"] = value
    elif name == "days_since_last":
        frame["T"] = frame["recency"] + value / time_unit_days
    elif name == "active_days":
        since = frame["T"] - frame["recency"]
        frame["recency"] = value / time_unit_days
        frame["T"] = frame["recency"] + since
    return frame


def clv_partial_dependence(bgnbd: BetaGeo, gg: GammaGamma, summary: pd.DataFrame, *, horizon_months: int = 12,
                           monthly_discount_rate: float = 0.01, time_unit_days: float = 7.0,
                           quantiles=(0.1, 0.25, 0.5, 0.75, 0.9), sample: int = 5_000,
                           random_state: int = 0) -> pd.DataFrame:
    """Median and mean CLV as each input moves across its spread (columns: PARTIAL_DEPENDENCE_COLUMNS).

    Only repeat buyers are used (up to `sample` of them): a one-time buyer has no recency or average
    order value to move. Grid values are observed values (the inverted-CDF quantile).
    """
    _check_summary(summary)
    repeat = summary[summary["frequency"] > 0]
    if repeat.empty:
        raise ModelDataError("no repeat buyer in the summary: CLV drivers need customers with frequency > 0")
    if len(repeat) > sample:
        repeat = repeat.sample(sample, random_state=random_state)
    columns = ["frequency", "recency", "T", "monetary_value", *(bgnbd.covariates or [])]
    base = repeat[columns].astype({c: float for c in ("frequency", "recency", "T", "monetary_value")})
    base = base.reset_index(drop=True)
    observed = {
        "frequency": base["frequency"].to_numpy(),
        "days_since_last": ((base["T"] - base["recency"]) * time_unit_days).to_numpy(),
        "active_days": (base["recency"] * time_unit_days).to_numpy(),
        "average_order_value": base["monetary_value"].to_numpy(),
    }
    grid, frames = [], []
    for name, spread in observed.items():
        for q, value in zip(quantiles, np.quantile(spread, quantiles, method="inverted_cdf")):
            grid.append((name, DRIVER_INPUTS[name], float(q), float(value)))
            frames.append(_moved(base, name, float(value), time_unit_days))
    # one call over every grid point: customer_lifetime_value evaluates each distinct row once
    stacked = pd.concat(frames, ignore_index=True)
    clv = customer_lifetime_value(bgnbd, gg, stacked, horizon_months, monthly_discount_rate, time_unit_days,
                                  interval="bootstrap", n_draws=0)["clv"].to_numpy()
    per_point = clv.reshape(len(grid), len(base))
    out = pd.DataFrame(grid, columns=["input", "description", "quantile", "value"])
    out["median_clv"] = np.median(per_point, axis=1)
    out["mean_clv"] = per_point.mean(axis=1)
    return out


def drivers_from_partial_dependence(partial: pd.DataFrame) -> pd.DataFrame:
    """The response of mean CLV to one inter-quartile step per input, largest first (columns: DRIVER_COLUMNS).

    When an input's quartiles coincide (e.g. most repeat buyers have 1 repeat purchase) the 10th and
    90th percentiles are used instead, when the grid has them.
    """
    rows = []
    for name, part in partial.groupby("input", sort=False):
        at = part.set_index("quantile")
        low_q, high_q = 0.25, 0.75
        if {0.25, 0.75} <= set(at.index) and at.at[0.25, "value"] == at.at[0.75, "value"] \
                and {0.1, 0.9} <= set(at.index):
            low_q, high_q = 0.1, 0.9
        if not {low_q, high_q} <= set(at.index):
            low_q, high_q = float(at.index.min()), float(at.index.max())
        low, high = at.loc[low_q], at.loc[high_q]
        change = float(high["mean_clv"] - low["mean_clv"])
        moved = high["value"] != low["value"]
        direction = "no effect" if not moved or abs(change) < 1e-12 else "raises CLV" if change > 0 else "lowers CLV"
        rows.append({"input": name, "description": str(low["description"]), "low": float(low["value"]),
                     "high": float(high["value"]), "low_quantile": low_q, "high_quantile": high_q,
                     "mean_clv_low": float(low["mean_clv"]), "mean_clv_high": float(high["mean_clv"]),
                     "change": change, "median_change": float(high["median_clv"] - low["median_clv"]),
                     "direction": direction})
    out = pd.DataFrame(rows, columns=list(DRIVER_COLUMNS))
    return out.reindex(out["change"].abs().sort_values(ascending=False).index).reset_index(drop=True)


def clv_drivers(bgnbd: BetaGeo, gg: GammaGamma, summary: pd.DataFrame, **partial_dependence) -> pd.DataFrame:
    """Global CLV drivers (columns: DRIVER_COLUMNS); keyword arguments go to clv_partial_dependence."""
    return drivers_from_partial_dependence(clv_partial_dependence(bgnbd, gg, summary, **partial_dependence))
