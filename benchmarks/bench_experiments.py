"""A/A false positives, peeking, and CUPED variance reduction of storelift's experiment readouts.

    .venv/bin/python benchmarks/bench_experiments.py [--runs 10000] [--days 14] [--users-per-day 2000]
        [--cuped-runs 2000] [--seed 0]

1. A/A: `runs` experiments whose arms draw from the same store (conversion 5%, order value
   lognormal), `users-per-day` new users per arm per day for `days` days. The fixed-horizon tests
   (two-proportion z, Welch t) are read once at the end; with daily peeking the same tests read at
   every day (stop at the first p < 0.05) are compared with the mSPRT's always-valid p-values.
2. Power: the same with a +10% relative lift in conversion, on fewer runs.
3. CUPED: store-like customers (gamma purchase rates, lognormal order values) with a pre-period of
   28, 91 or 364 days and a 28-day experiment; the variance of the lift estimate over `cuped-runs`
   A/A experiments with and without CUPED, against rho^2 from a separate million customers.
Prints markdown tables and writes benchmarks/out/experiments.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import scipy

from storelift.experiments import (always_valid_p_values, cuped_adjust, cuped_summary,
                                   two_proportion_test_from_counts, welch_test_from_stats)

OUT = Path(__file__).resolve().parent / "out" / "experiments.json"
ALPHA = 0.05
CONVERSION = 0.05
ORDER_VALUE_MU, ORDER_VALUE_SIGMA = 3.5, 0.9  # mean order value exp(3.5 + 0.405) = 49.7
LIFT = 0.10  # the relative lift the mSPRT mixing scale (tau) is set for


def simulate_days(runs: int, days: int, users: int, lift: float, rng: np.random.Generator) -> dict:
    """Cumulative per-arm sums at the end of each day: shape (runs, days) per arm, arm 0 control."""
    rate = np.array([CONVERSION, CONVERSION * (1 + lift)])
    buyers = rng.binomial(users, rate, size=(runs, days, 2))
    cell = np.repeat(np.arange(buyers.size), buyers.ravel())
    value = rng.lognormal(ORDER_VALUE_MU, ORDER_VALUE_SIGMA, cell.size)
    revenue = np.bincount(cell, weights=value, minlength=buyers.size).reshape(buyers.shape)
    squares = np.bincount(cell, weights=value ** 2, minlength=buyers.size).reshape(buyers.shape)
    n = users * np.arange(1, days + 1, dtype=np.float64)[None, :, None]
    total_buyers, total_revenue, total_squares = (np.cumsum(a, axis=1) for a in (buyers, revenue, squares))
    mean = total_revenue / n
    return {"n": np.broadcast_to(n, buyers.shape), "buyers": total_buyers, "revenue_mean": mean,
            "revenue_var": (total_squares - n * mean ** 2) / (n - 1)}


def rejections(sums: dict, tau: dict[str, float]) -> dict[str, dict[str, np.ndarray]]:
    """Per metric, the runs each procedure rejects (boolean per run)."""
    n, buyers = sums["n"], sums["buyers"]
    conversion = two_proportion_test_from_counts(buyers[..., 0], n[..., 0], buyers[..., 1], n[..., 1], ALPHA)
    revenue = welch_test_from_stats(sums["revenue_mean"][..., 0], sums["revenue_var"][..., 0], n[..., 0],
                                     sums["revenue_mean"][..., 1], sums["revenue_var"][..., 1], n[..., 1], ALPHA)
    shape = buyers.shape[:2]
    rate = buyers / n
    rate_var = rate * (1 - rate) * n / (n - 1)
    paths = {
        "conversion": (conversion.p_value.to_numpy().reshape(shape), rate[..., 1] - rate[..., 0],
                       rate_var[..., 0] / n[..., 0] + rate_var[..., 1] / n[..., 1]),
        "revenue per user": (revenue.p_value.to_numpy().reshape(shape),
                             sums["revenue_mean"][..., 1] - sums["revenue_mean"][..., 0],
                             sums["revenue_var"][..., 0] / n[..., 0] + sums["revenue_var"][..., 1] / n[..., 1]),
    }
    result = {}
    for metric, (p_fixed, difference, variance) in paths.items():
        always_valid = always_valid_p_values(difference, variance, tau[metric])
        below = always_valid < ALPHA
        result[metric] = {
            "fixed": p_fixed[:, -1] < ALPHA,
            "naive_peeking": (p_fixed < ALPHA).any(axis=1),
            "msprt": below[:, -1],
            "msprt_day": np.where(below.any(axis=1), below.argmax(axis=1) + 1, 0),
        }
    return result


def rate_row(hits: np.ndarray) -> dict:
    rate = float(hits.mean())
    half = 1.96 * np.sqrt(rate * (1 - rate) / hits.size)
    return {"rate": rate, "ci_low": max(rate - half, 0.0), "ci_high": rate + half}


def customers(count: int, pre_days: int, post_days: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Pre-period and experiment-period revenue of store-like customers (heterogeneous rate and basket)."""
    rate = rng.gamma(0.8, (4 / 365) / 0.8, count)  # 4 orders a year on average, very uneven
    basket = rng.lognormal(3.6, 0.5, count)  # the customer's typical order value
    out = []
    for days in (pre_days, post_days):
        orders = rng.poisson(rate * days)
        owner = np.repeat(np.arange(count), orders)
        value = basket[owner] * rng.lognormal(-0.18, 0.6, owner.size)
        out.append(np.bincount(owner, weights=value, minlength=count))
    return out[0], out[1]


def cuped_block(runs: int, units: int, pre_days: int, rng: np.random.Generator) -> dict:
    """Realized variance reduction of the lift estimate over A/A runs, against rho^2 of the population."""
    pre, post = customers(1_000_000, pre_days, 28, rng)
    rho = float(np.corrcoef(pre, post)[0, 1])
    arm = np.repeat(np.array(["control", "treatment"]), units // 2)
    plain, adjusted, reported = np.empty(runs), np.empty(runs), np.empty(runs)
    stats_plain, stats_cuped = [], []
    for run in range(runs):
        pre, post = customers(units, pre_days, 28, rng)
        frame = pd.DataFrame({"arm": arm, "pre": pre, "post": post})
        y = cuped_adjust(frame, "post", "pre", "arm")["post_cuped"].to_numpy()
        reported[run] = cuped_summary(frame, "post", "pre", "arm").variance_reduction.iloc[0]
        half = units // 2
        for values, store, keep in ((post, plain, stats_plain), (y, adjusted, stats_cuped)):
            c, t = values[:half], values[half:]
            store[run] = t.mean() - c.mean()
            keep.append((c.mean(), c.var(ddof=1), half, t.mean(), t.var(ddof=1), half))
    fpr = {}
    for name, rows in (("plain", stats_plain), ("cuped", stats_cuped)):
        columns = np.array(rows).T
        fpr[name] = float((welch_test_from_stats(*columns, alpha=ALPHA).p_value < ALPHA).mean())
    resample = rng.integers(0, runs, size=(1000, runs))  # bootstrap over runs for the realized reduction
    boot = 1 - adjusted[resample].var(axis=1, ddof=1) / plain[resample].var(axis=1, ddof=1)
    return {"pre_days": pre_days, "rho": rho, "rho_squared": rho ** 2,
            "realized_variance_reduction": float(1 - adjusted.var(ddof=1) / plain.var(ddof=1)),
            "realized_ci_low": float(np.quantile(boot, 0.025)), "realized_ci_high": float(np.quantile(boot, 0.975)),
            "mean_reported_variance_reduction": float(reported.mean()),
            "fpr_welch": fpr["plain"], "fpr_welch_cuped": fpr["cuped"]}


def markdown(rows: list[dict], columns: list[str]) -> str:
    def show(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(show(r[c]) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=14)
    ap.add_argument("--users-per-day", type=int, default=2_000, help="new users per arm per day")
    ap.add_argument("--power-runs", type=int, default=2_000)
    ap.add_argument("--cuped-runs", type=int, default=2_000)
    ap.add_argument("--cuped-units", type=int, default=2_000, help="customers per CUPED experiment (both arms)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()

    mean_order = np.exp(ORDER_VALUE_MU + ORDER_VALUE_SIGMA ** 2 / 2)
    tau = {"conversion": LIFT * CONVERSION, "revenue per user": LIFT * CONVERSION * mean_order}
    aa = rejections(simulate_days(args.runs, args.days, args.users_per_day, 0.0, rng), tau)
    peeking = []
    for metric, hit in aa.items():
        for procedure, label in (("fixed", f"fixed horizon, read once on day {args.days}"),
                                 ("naive_peeking", f"fixed-horizon test read every day ({args.days} looks)"),
                                 ("msprt", f"mSPRT always-valid p, every day ({args.days} looks)")):
            peeking.append({"metric": metric, "procedure": label, **rate_row(hit[procedure])})
    print(f"## A/A false-positive rate ({args.runs:,} runs, alpha {ALPHA})\n")
    print(markdown(peeking, ["metric", "procedure", "rate", "ci_low", "ci_high"]) + "\n")

    sums = simulate_days(args.runs, args.days, args.users_per_day, 0.0, np.random.default_rng(args.seed + 1))
    sensitivity = []
    for scale in (0.25, 0.5, 1.0, 2.0, 4.0):
        hit = rejections(sums, {k: v * scale for k, v in tau.items()})
        sensitivity.append({"tau_scale": scale, "tau_conversion": tau["conversion"] * scale,
                            "fpr_conversion": float(hit["conversion"]["msprt"].mean()),
                            "fpr_revenue": float(hit["revenue per user"]["msprt"].mean())})
    print("## mSPRT false-positive rate by mixing scale tau (A/A, every day)\n")
    print(markdown(sensitivity, ["tau_scale", "tau_conversion", "fpr_conversion", "fpr_revenue"]) + "\n")

    lifted = rejections(simulate_days(args.power_runs, args.days, args.users_per_day, LIFT, rng), tau)
    power = []
    for metric, hit in lifted.items():
        days = hit["msprt_day"][hit["msprt_day"] > 0]
        power.append({"metric": metric, "fixed_power": float(hit["fixed"].mean()),
                      "msprt_power": float(hit["msprt"].mean()),
                      "msprt_median_stop_day": float(np.median(days)) if days.size else float("nan")})
    print(f"## Power at +{LIFT:.0%} conversion ({args.power_runs:,} runs)\n")
    print(markdown(power, ["metric", "fixed_power", "msprt_power", "msprt_median_stop_day"]) + "\n")

    cuped = [cuped_block(args.cuped_runs, args.cuped_units, days, rng) for days in (28, 91, 364)]
    print(f"## CUPED on store-like revenue ({args.cuped_runs:,} A/A runs of {args.cuped_units:,} customers)\n")
    print(markdown(cuped, ["pre_days", "rho", "rho_squared", "realized_variance_reduction", "realized_ci_low",
                           "realized_ci_high", "mean_reported_variance_reduction", "fpr_welch",
                           "fpr_welch_cuped"]) + "\n")

    runtime = time.perf_counter() - started
    print(f"runtime {runtime:.1f} s", file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({
        "command": " ".join([".venv/bin/python", "benchmarks/bench_experiments.py", *sys.argv[1:]]),
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": "2 cores", "python": platform.python_version(), "numpy": np.__version__,
        "scipy": scipy.__version__, "runtime_s": round(runtime, 1),
        "settings": {**vars(args), "alpha": ALPHA, "conversion": CONVERSION, "mean_order_value": mean_order,
                     "tau": tau},
        "aa": peeking, "tau_sensitivity": sensitivity, "power": power, "cuped": cuped,
    }, indent=2))


if __name__ == "__main__":
    main()
