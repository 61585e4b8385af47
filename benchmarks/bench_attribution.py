"""Attribution and marketing-mix recovery against planted truth, plus an ROI readout on the synthetic store.

    .venv/bin/python benchmarks/bench_attribution.py [--customers 200000] [--seeds 3] [--days 730] [--store-customers 50000]

1. Attribution: simulate_touch_paths plants an increment to P(conversion) per channel and records
   which channel caused each conversion; every model is scored by its error in each channel's
   share of the conversions channels caused (max absolute error and total variation), per seed.
2. Marketing mix: simulate_marketing_mix (2 years, daily, 5 channels) with known adstock, Hill
   saturation and ROAS, per seed; MarketingMixModel's ROAS, marginal ROAS and decay against the
   truth, and the budget reallocation's predicted gain next to its gain under the true response.
3. ROI: the synthetic store's randomized e-mail campaign; the holdout readout of conversion in the
   campaign window against the generator's true average treatment effect.
Prints markdown tables and writes benchmarks/out/attribution.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from storelift.attribution import MarketingMixModel, compare_attribution, reallocate_budget, share_errors, touch_paths
from storelift.measure.roi import roi_readout, treatment_readout, window_outcomes
from storelift.synth import generate_store
from storelift.synth.marketing_mix import simulate_marketing_mix, simulate_touch_paths

HERE = Path(__file__).resolve().parent
RULES = ["first_touch", "last_touch", "linear", "time_decay", "position_based"]


def markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        cells = [f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, (int, np.integer))
                 else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def attribution_recovery(customers: int, seeds: int) -> dict:
    per_seed, shares = [], None
    for seed in range(seeds):
        t0 = time.perf_counter()
        sim = simulate_touch_paths(customers=customers, seed=seed)
        t1 = time.perf_counter()
        paths = touch_paths(sim.touches, sim.conversions, lookback_days=30, customers=sim.customers)
        t2 = time.perf_counter()
        results = compare_attribution(paths)
        t3 = time.perf_counter()
        errors = share_errors(results, sim.truth).assign(seed=seed)
        per_seed.append(errors)
        print(f"seed {seed}: simulate {t1 - t0:.1f} s, paths {t2 - t1:.1f} s ({paths.path_id.nunique():,} paths, "
              f"{len(sim.touches):,} touches, {len(sim.conversions):,} conversions), models {t3 - t2:.1f} s")
        if seed == 0:
            wide = results.pivot(index="channel", columns="model", values="share")
            truth = sim.truth.set_index("channel")
            shares = pd.concat([truth[["conversion_lift", "reached", "share"]].rename(columns={"share": "true_share"}),
                                wide[["shapley", "markov", *RULES]]], axis=1).reset_index()
    errors = pd.concat(per_seed)
    summary = errors.groupby("model", sort=False).agg(
        max_abs_share_error_mean=("max_abs_share_error", "mean"),
        max_abs_share_error_worst=("max_abs_share_error", "max"),
        total_variation_mean=("total_variation", "mean")).reset_index()
    print("\nShares of caused conversions, seed 0:\n")
    print(markdown(shares))
    print(f"\nShare errors over {seeds} seeds ({customers:,} customers each):\n")
    print(markdown(summary))
    return {"customers": customers, "seeds": seeds, "shares_seed0": shares.to_dict("records"),
            "errors": summary.to_dict("records"), "errors_per_seed": errors.to_dict("records")}


def _true_contribution(row: pd.Series, spend: np.ndarray) -> float:
    from scipy.signal import lfilter
    stock = lfilter([1.0], [1.0, -row.adstock_decay], spend)
    r = (stock / row.half_saturation) ** row.hill_shape
    return float(row.coefficient * (r / (1 + r)).sum())


def mmm_fit(days: int, seed: int) -> tuple:
    sim = simulate_marketing_mix(days=days, seed=seed)
    t0 = time.perf_counter()
    model = MarketingMixModel().fit(sim.daily)
    fit_s = time.perf_counter() - t0
    got = model.channel_summary().set_index("channel")
    truth = sim.truth.set_index("channel")
    table = pd.DataFrame({
        "channel": truth.index, "true_roas": truth.roas.to_numpy(), "roas": got.roas.loc[truth.index].to_numpy(),
        "roas_rel_error": (got.roas / truth.roas - 1).loc[truth.index].to_numpy(),
        "true_marginal_roas": truth.marginal_roas.to_numpy(),
        "marginal_roas": got.marginal_roas.loc[truth.index].to_numpy(),
        "true_decay": truth.adstock_decay.to_numpy(), "decay": got.adstock_decay.loc[truth.index].to_numpy()})
    return sim, model, table, fit_s


def mmm_recovery(days: int, seeds: int) -> dict:
    runs = []
    for seed in range(seeds):
        sim, model, table, fit_s = mmm_fit(days, seed)
        runs.append({"seed": seed, "fit_seconds": fit_s, "r2": model.r2_, "cv_error": model.cv_error_,
                     "channels": table.to_dict("records")})
        print(f"MMM seed {seed}: fit {fit_s:.1f} s, R^2 {model.r2_:.3f}, CV error {model.cv_error_:.3f}, "
              f"max |ROAS error| {table.roas_rel_error.abs().max():.1%}")
        if seed == 0:
            first = (sim, model, table, fit_s)
    sim, model, table, fit_s = first
    truth = sim.truth.set_index("channel")
    print(f"\nMarketing-mix model, {days} days, seed 0: fit {fit_s:.1f} s, R^2 {model.r2_:.3f}\n")
    print(markdown(table))
    errors = pd.DataFrame([{"seed": r["seed"], **{c["channel"]: c["roas_rel_error"] for c in r["channels"]}}
                           for r in runs]).set_index("seed")
    summary = pd.DataFrame({"channel": errors.columns, "mean_abs_roas_error": errors.abs().mean().to_numpy(),
                            "worst_abs_roas_error": errors.abs().max().to_numpy()})
    print(f"\nROAS relative error over {seeds} seeds:\n")
    print(markdown(summary))
    plan = reallocate_budget(model)
    proposed = plan.table.set_index("channel")
    true_now = sum(_true_contribution(truth.loc[c], sim.daily[c].to_numpy()) for c in truth.index)
    true_after = sum(_true_contribution(truth.loc[c], sim.daily[c].to_numpy() * proposed.loc[c, "proposed_spend"]
                                        / proposed.loc[c, "current_spend"]) for c in truth.index)
    realloc = proposed.reset_index()[["channel", "current_spend", "proposed_spend", "change"]]
    print(f"\nBudget reallocation, seed 0 (same total, each channel 0.5x-1.5x): predicted gain "
          f"{plan.predicted_gain:,.0f}; gain under the true response {true_after - true_now:,.0f}\n")
    print(markdown(realloc, 0))
    return {"days": days, "seeds": seeds, "runs": runs, "roas_error_summary": summary.to_dict("records"),
            "reallocation_seed0": realloc.to_dict("records"), "predicted_gain": plan.predicted_gain,
            "true_gain": true_after - true_now}


def roi_on_store(customers: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        generate_store(root, customers=customers, seed=seed, events=False)
        truth = pd.read_parquet(root / "ground_truth" / "customers.parquet")
        params = json.loads((root / "ground_truth" / "truth.json").read_text())
        tables = {n: ibis.memtable(pd.read_parquet(root / f"{n}.parquet"))
                  for n in ("orders", "order_lines", "products")}
        touches = pd.read_parquet(root / "touches.parquet")
        eligible = truth[truth.is_campaign_eligible]
        arms = ibis.memtable(pd.DataFrame({"customer_id": eligible.customer_id, "arm": eligible.treatment_arm}))
        sent = pd.Timestamp(params["campaign"]["sent_at"].rstrip("Z"))
        end = sent + pd.Timedelta(days=params["campaign"]["window_days"])
        outcomes = window_outcomes(arms, tables["orders"], tables["order_lines"], sent, end,
                                   products=tables["products"]).execute()
        cost = float(touches.loc[touches.campaign == params["campaign"]["name"], "cost"].sum())
        elapsed = time.perf_counter() - t0
    readout = treatment_readout(outcomes, ["converted", "revenue", "margin"], control="control")
    roi_row = roi_readout(outcomes, cost=cost, profit_metric="margin", control="control")
    true_ate = params["realized"]["average_treatment_effect_on_conversion"]
    conv = readout.set_index("metric").loc["converted"]
    print(f"\nROI readout, synthetic store of {customers:,} customers (seed {seed}, {elapsed:.1f} s): true effect on "
          f"conversion {true_ate:.4f}; estimate {conv.lift:.4f} [{conv.lift_low:.4f}, {conv.lift_high:.4f}] "
          f"-> {'inside' if conv.lift_low < true_ate < conv.lift_high else 'OUTSIDE'} the 95% interval\n")
    print(markdown(readout[["metric", "treatment_units", "control_units", "treatment_mean", "control_mean", "lift",
                            "lift_low", "lift_high", "p_value"]], 4))
    print(f"\nE-mail send cost {cost:,.2f}; ROI on margin:\n")
    print(markdown(roi_row, 2))
    return {"customers": customers, "seed": seed, "true_ate_conversion": true_ate,
            "readout": readout.to_dict("records"), "roi": roi_row.to_dict("records"),
            "inside_interval": bool(conv.lift_low < true_ate < conv.lift_high)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--store-customers", type=int, default=50_000)
    args = parser.parse_args()
    start = time.perf_counter()
    out = {"attribution": attribution_recovery(args.customers, args.seeds),
           "marketing_mix": mmm_recovery(args.days, args.seeds),
           "roi": roi_on_store(args.store_customers, seed=0)}
    out["wall_seconds"] = time.perf_counter() - start
    out["command"] = (f".venv/bin/python benchmarks/bench_attribution.py --customers {args.customers} "
                      f"--seeds {args.seeds} --days {args.days} --store-customers {args.store_customers}")
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "attribution.json").write_text(json.dumps(out, indent=2, default=float) + "\n")
    print(f"\nwall time {out['wall_seconds']:.1f} s; wrote benchmarks/out/attribution.json")


if __name__ == "__main__":
    main()
