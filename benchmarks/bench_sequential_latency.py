"""In-process latency of a served SASRec list (top-20 through the Personalizer) from a 100k-item catalog.

    .venv/bin/python benchmarks/bench_sequential_latency.py [--items 100000 --users 10000 --calls 2000]

What a storefront request costs when the served model is SASRec: the transformer reads the
customer's fitted sequence (or a visitor's session of 5 items, in order), then the next-item
scores are either computed for every item (no index) or searched in a faiss HNSW index over the
item vectors (what `recommend fit --model sasrec` saves from 10,000 items up); then the rules,
caps and reasons, as served. Beside it, in the same run, ALS through the same Personalizer with its
HNSW index: the reference for what a matrix model's list costs. Latency does not depend on what
the weights learned, so the models train one epoch on synthetic clustered sequences (seeded).
One thread for torch, numpy and faiss, as one request is served by one worker. Prints a markdown
table and writes benchmarks/out/sequential_latency.json.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy, torch and faiss load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import faiss  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from bench_recommend_latency import machine, rss_mb, summary, time_calls  # noqa: E402
from storelift.recommend import (  # noqa: E402
    ALS, InnerProductIndex, ItemCatalog, Personalizer, SASRec, interaction_matrix,
)

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "sequential_latency.json"
K = 20
SESSION_ITEMS = 5


def clustered_sequences(n_items: int, n_users: int, seed: int) -> list[np.ndarray]:
    """Each user walks 5-30 items, mostly of one of 500 taste clusters: realistic item reuse, not noise."""
    rng = np.random.default_rng(seed)
    cluster_of = rng.integers(0, 500, n_items)
    by_cluster = [np.flatnonzero(cluster_of == c) for c in range(500)]
    sequences = []
    for _ in range(n_users):
        own = by_cluster[rng.integers(500)]
        length = rng.integers(5, 31)
        picks = np.where(rng.random(length) < 0.8, own[rng.integers(0, len(own), length)],
                         rng.integers(0, n_items, length))
        sequences.append(picks.astype(np.int64))
    return sequences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    torch.set_num_threads(1)
    facts = {**machine(), "torch": torch.__version__}

    sequences = clustered_sequences(args.items, args.users, args.seed)
    items = pd.Index([f"P{i:06d}" for i in range(args.items)])
    users = pd.Index([f"C{u:06d}" for u in range(args.users)])
    rows = pd.DataFrame({"user_id": np.repeat(users, [len(s) for s in sequences]),
                         "item_id": items[np.concatenate(sequences)]})
    interactions = interaction_matrix(rows, binary=True, users=users, items=items)
    catalog = ItemCatalog.from_products(pd.DataFrame({"product_id": items}), items)
    print(f"# {args.items:,} items, {args.users:,} users, {interactions.matrix.nnz:,} interactions; "
          f"{facts['cpu_model']}, {facts['usable_cores']} cores, load {facts['load_average_at_start']}", flush=True)

    started = time.perf_counter()
    sasrec = SASRec(epochs=1, loss="sampled", negatives=1000, num_threads=1).fit(sequences, args.items)
    fits = {"SASRec": round(time.perf_counter() - started, 1)}
    started = time.perf_counter()
    als = ALS(factors=64, iterations=3, random_state=args.seed, num_threads=1).fit(interactions.matrix)
    fits["ALS"] = round(time.perf_counter() - started, 1)
    indexes = {name: InnerProductIndex("hnsw").fit(model.item_factors_) for name, model in
               (("SASRec", sasrec), ("ALS", als))}

    served = {
        ("SASRec", "every item"): Personalizer(sasrec, interactions, catalog),
        ("SASRec", "hnsw"): Personalizer(sasrec, interactions, catalog, index=indexes["SASRec"]),
        ("ALS", "hnsw"): Personalizer(als, interactions, catalog, index=indexes["ALS"]),
    }
    sample = np.random.default_rng(args.seed + 1).integers(0, args.users, args.warmup + args.calls)
    warmup, measured = sample[:args.warmup], sample[args.warmup:]
    results = []
    for (model, scoring), personalizer in served.items():
        calls = {
            "known customer": lambda u, p=personalizer: p.recommend_records(users[u], K),
            f"visitor, {SESSION_ITEMS}-item session": lambda u, p=personalizer: p.recommend_records(
                None, K, session_items=items[sequences[u][:SESSION_ITEMS]].tolist()),
        }
        for request, call in calls.items():
            wall, cpu, answers = time_calls(call, warmup, measured)
            assert all(len(a) == K for a in answers), "a list came back short"
            row = {"model": model, "scoring": scoring, "request": request, **summary(wall),
                   "cpu_median_ms": float(np.median(cpu) / 1e6)}
            results.append(row)
            print(f"{model:7s} {scoring:11s} {request:26s} median {row['median_ms']:.2f} ms, "
                  f"p99 {row['p99_ms']:.2f} ms", flush=True)

    print("\n| model | scoring | request | median ms | p90 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['model']} | {r['scoring']} | {r['request']} | {r['median_ms']:.2f} | {r['p90_ms']:.2f} | "
              f"{r['p99_ms']:.2f} | {r['max_ms']:.2f} |")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"machine": facts, "items": args.items, "users": args.users, "calls": args.calls,
                               "k": K, "fit_s": fits, "peak_rss_mb": round(rss_mb()), "results": results},
                              indent=1))
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
