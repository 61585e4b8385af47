"""BG/NBD fit speed and agreement: storelift's BetaGeo vs lifetimes' BetaGeoFitter on the same data.

    .venv/bin/python benchmarks/bench_clv.py --customers 1000000 [--penalty 0.0]

Simulates the BG/NBD process in continuous time (CDNOW's published parameters), fits both, prints
a markdown table and writes benchmarks/out/clv.json; then fits the full CDNOW cohort.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from storelift.customers.bgnbd import BetaGeo
from storelift.customers.clv_data import rfm_summary_frame
from storelift.customers.gamma_gamma import GammaGamma

HERE = Path(__file__).resolve().parent
PEER_PYTHON = HERE / ".venv-lifetimes" / "bin" / "python"
CDNOW = HERE.parents[1] / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def simulate(n: int, seed: int) -> pd.DataFrame:
    """Continuous-time BG/NBD: ages uniform in 27..39 weeks, so the (frequency, recency, T) rows are mostly distinct."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n)
    p = rng.beta(TRUTH["a"], TRUTH["b"], n)
    T = rng.uniform(27.0, 39.0, n)
    m = rng.poisson(lam * T)
    x = np.minimum(m, rng.geometric(p))
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(m - x + 1, 1)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--penalty", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rfm = simulate(args.customers, args.seed)
    distinct = len(rfm.drop_duplicates()) / len(rfm)

    start = time.perf_counter()
    ours = BetaGeo(penalty=args.penalty).fit(rfm)
    ours_s = time.perf_counter() - start

    peer = {"params": None, "fit_seconds": None, "wall_seconds": None}
    if PEER_PYTHON.exists():
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "rfm.parquet"
            rfm.to_parquet(path)
            start = time.perf_counter()
            out = subprocess.run([str(PEER_PYTHON), str(HERE / "lifetimes_peer.py"), str(path),
                                  "--penalty", str(args.penalty)], capture_output=True, text=True)
            wall = time.perf_counter() - start
        if out.returncode == 0:
            peer = json.loads(out.stdout.strip().splitlines()[-1]) | {"wall_seconds": wall}
        else:
            print("lifetimes failed:", out.stderr[-2000:])
    else:
        print(f"{PEER_PYTHON} is absent: run bash benchmarks/setup_lifetimes_venv.sh")

    result = {"customers": args.customers, "distinct_share": distinct, "penalty": args.penalty,
              "storelift": {"params": ours.params_.to_dict(), "fit_seconds": ours_s,
                            "diagnostics": ours.diagnostics_, "distinct_rows": ours.n_distinct_rows_},
              "lifetimes": peer, "truth": TRUTH}
    lines = ["| | r | alpha | a | b | fit time (s) |", "|---|---|---|---|---|---|",
             "| truth | " + " | ".join(f"{TRUTH[k]:.4f}" for k in TRUTH) + " | |",
             "| storelift | " + " | ".join(f"{ours.params_[k]:.4f}" for k in TRUTH) + f" | {ours_s:.2f} |"]
    if peer["params"]:
        diff = max(abs(ours.params_[k] - peer["params"][k]) for k in TRUTH)
        ratio = peer["fit_seconds"] / ours_s
        result |= {"max_abs_param_diff": diff, "speed_ratio": ratio}
        lines.append("| lifetimes 0.11.3 | " + " | ".join(f"{peer['params'][k]:.4f}" for k in TRUTH)
                     + f" | {peer['fit_seconds']:.2f} (process wall {peer['wall_seconds']:.1f}) |")
        lines.append(f"\nmax |param diff| = {diff:.2e}; lifetimes fit time / storelift fit time = {ratio:.1f}x")
    print(f"{args.customers:,} customers, {distinct:.1%} distinct (frequency, recency, T) rows\n")
    print("\n".join(lines))

    if CDNOW.exists():
        master = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
        orders = pd.DataFrame({"customer_id": master.customer_id, "value": master.dollar_value,
                               "ordered_at": pd.to_datetime(master.date, format="%Y%m%d")})
        summary = rfm_summary_frame(orders, "1997-09-30", "1998-06-30")
        start = time.perf_counter()
        bg, gg = BetaGeo().fit(summary), GammaGamma().fit(summary)
        seconds = time.perf_counter() - start
        result["cdnow_full"] = {"customers": len(summary), "bgnbd": bg.params_.to_dict(), "gamma_gamma": gg.params_.to_dict(),
                                "fit_seconds": seconds}
        print(f"\nCDNOW full cohort ({len(summary):,} customers, calibration to 1997-09-30): "
              + ", ".join(f"{k}={v:.4f}" for k, v in pd.concat([bg.params_, gg.params_]).items())
              + f" ({seconds:.2f} s)")
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "clv.json").write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
