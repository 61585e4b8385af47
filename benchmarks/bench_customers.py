"""Batch scoring at scale: RFM + clusters + CLV + churn for every customer of a synthetic store.

    python benchmarks/bench_customers.py --customers 1000000 [--data DIR] [--keep]

The store is generated in a child process (not timed, not in the peak memory), its orders,
order_lines and refunds are copied into a fresh DuckDB warehouse (timed as "load"), then one
`score_customers` run scores everyone as of the day after the store's last day and the result is
written to customer_scores (timed as "score" and "write"). Peak memory is this process's maximum
resident set size, which includes DuckDB's memory (it runs in-process).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from storelift.customers import customer_orders, score_customers
from storelift.warehouse import Warehouse

OUT = Path(__file__).resolve().parent / "out"
AS_OF = "2025-01-01"  # the generator's default window ends 2024-12-31


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(folder: Path, customers: int, seed: int) -> None:
    from storelift.synth import generate_store

    generate_store(folder, customers=customers, seed=seed, events=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=None, help="store folder to reuse or create")
    ap.add_argument("--keep", action="store_true", help="keep the generated store and warehouse")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 2GB (default: DuckDB's own)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="storelift-bench-customers-"))
    data = args.data or work / "store"
    if not (data / "orders.parquet").exists():
        t0 = time.perf_counter()
        child = multiprocessing.get_context("spawn").Process(target=generate, args=(data, args.customers, args.seed))
        child.start()
        child.join()
        print(f"generated {args.customers:,} customers in {time.perf_counter() - t0:.1f} s (child process)",
              file=sys.stderr)

    options = f"?memory_limit={args.memory_limit}" if args.memory_limit else ""
    wh = Warehouse(f"duckdb://{work / 'warehouse.duckdb'}{options}")
    wh.ensure_tables()
    t0 = time.perf_counter()
    for name in ("orders", "order_lines", "refunds"):
        wh.con.create_table(name, wh.con.read_parquet(data / f"{name}.parquet"), overwrite=True)
    load_s = time.perf_counter() - t0
    counts = {name: wh.count(name) for name in ("orders", "order_lines", "refunds")}
    print(f"loaded {counts} in {load_s:.1f} s", file=sys.stderr)

    t0 = time.perf_counter()
    orders = customer_orders(wh.table("orders"), wh.table("order_lines"), wh.table("refunds"), refunds_before=AS_OF)
    result = score_customers(orders, AS_OF, progress=lambda stage: print(f"  {stage} at {time.perf_counter() - t0:.1f} s",
                                                                        file=sys.stderr, flush=True))
    score_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    wh.insert("customer_scores", result.scores)
    write_s = time.perf_counter() - t1
    peak = peak_rss_mb()

    s = result.scores
    summary = {
        "customers_generated": args.customers, "duckdb_memory_limit": args.memory_limit, "customers_scored": len(s), **counts,
        "load_seconds": round(load_s, 1), "score_seconds": round(score_s, 1), "write_seconds": round(write_s, 1),
        "end_to_end_seconds": round(score_s + write_s, 1), "peak_rss_mb": round(peak),
        "stage_seconds": result.seconds, "notes": result.notes,
        "explained_customers": int(s["churn_reasons"].notna().sum()),
        "clusters": int(result.clusters.k_), "top20_share": round(result.top20_share, 4),
        "bgnbd": result.bgnbd.params_.round(5).to_dict() if result.bgnbd is not None else None,
        "gamma_gamma": result.gamma_gamma.params_.round(5).to_dict() if result.gamma_gamma is not None else None,
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "customers.json").write_text(json.dumps(summary, indent=2, default=str))
    print(pd.Series(result.seconds, name="seconds").to_string())
    print(f"RESULT bench_customers customers={len(s)} orders={counts['orders']} score_s={score_s:.1f} "
          f"write_s={write_s:.1f} peak_rss_mb={peak:.0f} explained={summary['explained_customers']}")
    wh.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
