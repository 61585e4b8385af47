"""In-process latency of top-20 recommendations for one user at a time from a 100k-item catalog.

    .venv/bin/python benchmarks/bench_recommend_latency.py [--items 100000 --users 100000 --calls 5000]

Synthetic factors, seeded: items and users are 64-d vectors around 500 shared centres (so the
catalog has taste clusters, not uniform noise), items with log-normal lengths (popular items have
long factor vectors). Each user's history is ~20 items of their own cluster, excluded from every
answer. One thread for numpy (OpenBLAS) and faiss (OpenMP), as one request is served by one worker.

Each method answers `--calls` random users one by one (perf_counter_ns around each call, after a
warm-up): exact = numpy matrix-vector product + argpartition (InnerProductIndex kind="exact"),
hnsw = faiss HNSW graph, inner-product metric, at several ef_search values. `search` returns
arrays; `recommend` is FactorRetriever.recommend, the same answer as a DataFrame. Recall@20 is
measured against the exact answers for the same users. Goal: p99 < 2 ms. Prints a markdown table
and writes benchmarks/out/recommend_latency.json.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"  # before numpy and faiss load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import faiss  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from storelift.recommend import FactorRetriever  # noqa: E402

HERE = Path(__file__).resolve().parent
OUT = HERE / "out" / "recommend_latency.json"
K = 20
GOAL_P99_MS = 2.0


def machine() -> dict:
    cpu = "unknown"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu_model": cpu, "logical_cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "load_average_at_start": os.getloadavg(), "python": platform.python_version(),
            "numpy": np.__version__, "faiss": faiss.__version__, "threads": 1}


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def synthetic_factors(n_items: int, n_users: int, dim: int, seed: int):
    """Clustered item and user factors and a ~20-item in-cluster history per user (CSR users x items)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(500, dim)).astype(np.float32)
    item_cluster = rng.integers(0, len(centres), n_items)
    items = centres[item_cluster] + 0.6 * rng.normal(size=(n_items, dim)).astype(np.float32)
    items *= rng.lognormal(0.0, 0.4, size=(n_items, 1)).astype(np.float32)
    user_cluster = rng.integers(0, len(centres), n_users)
    users = centres[user_cluster] + 0.8 * rng.normal(size=(n_users, dim)).astype(np.float32)
    scale = np.float32(1 / np.sqrt(dim))
    # history: 20 draws (with replacement, so a few users get 19) from the items of the user's cluster
    by_cluster = np.argsort(item_cluster, kind="stable")
    starts = np.searchsorted(item_cluster[by_cluster], np.arange(len(centres)))
    counts = np.bincount(item_cluster, minlength=len(centres))
    draws = rng.random((n_users, 20))
    picks = by_cluster[starts[user_cluster, None] + (draws * counts[user_cluster, None]).astype(np.int64)]
    history = sp.csr_matrix((np.ones(picks.size, dtype=np.float32), (np.repeat(np.arange(n_users), 20), picks.ravel())),
                            shape=(n_users, n_items))
    history.sum_duplicates()
    return items * scale, users * scale, history


def time_calls(call, warmup_users: np.ndarray, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    """Wall time (perf_counter_ns) and this thread's CPU time of each call; CPU time leaves out the
    time the thread waited for a core, which on a shared machine is most of the tail."""
    for user in warmup_users:
        call(user)
    wall = np.empty(len(users), dtype=np.int64)
    cpu = np.empty(len(users), dtype=np.int64)
    answers = []
    for position, user in enumerate(users):
        cpu_start = time.thread_time_ns()
        start = time.perf_counter_ns()
        answer = call(user)
        wall[position] = time.perf_counter_ns() - start
        cpu[position] = time.thread_time_ns() - cpu_start
        answers.append(answer)
    return wall, cpu, answers


def summary(latencies_ns: np.ndarray) -> dict:
    ms = latencies_ns / 1e6
    return {"median_ms": float(np.median(ms)), "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)), "max_ms": float(ms.max()), "mean_ms": float(ms.mean())}


def recall_at_k(found: list[np.ndarray], truth: list[np.ndarray]) -> float:
    return float(np.mean([len(np.intersect1d(f[f >= 0], t[t >= 0])) / max(1, (t >= 0).sum())
                          for f, t in zip(found, truth)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--calls", type=int, default=5_000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--ef", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--M", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)

    facts = machine()
    items, users, history = synthetic_factors(args.items, args.users, args.dim, args.seed)
    model = type("Factors", (), {"user_factors_": users, "item_factors_": items})()
    sample = np.random.default_rng(args.seed + 1).integers(0, args.users, args.warmup + args.calls)
    warmup, measured = sample[:args.warmup], sample[args.warmup:]
    print(f"# {args.items:,} items x {args.dim} d, {args.users:,} users, history {history.nnz / args.users:.1f} "
          f"items/user; {facts['cpu_model']}, {facts['usable_cores']} cores, load {facts['load_average_at_start']}",
          flush=True)

    builds = {}
    retrievers = {}
    for kind in ("exact", "hnsw"):
        start = time.perf_counter()
        retrievers[kind] = FactorRetriever(kind=kind, M=args.M, ef_construction=args.ef_construction).fit(model)
        seconds = time.perf_counter() - start
        index = retrievers[kind].index_
        # the serialized size is the index's memory: the float32 vectors, plus the graph for hnsw
        builds[kind] = {"build_s": round(seconds, 2),
                        "index_mb": round(faiss.serialize_index(index.index_).size / 2**20, 1),
                        "rss_after_build_mb": round(rss_mb())}
        if kind == "hnsw":
            builds[kind].update(M=args.M, ef_construction=args.ef_construction)
        print(f"built {kind}: {builds[kind]}", flush=True)

    def history_of(user):
        return [history.indices[history.indptr[user]:history.indptr[user + 1]]]

    def search_call(index):
        return lambda user: index.search(users[user], K, exclude=history_of(user))[0][0]

    def recommend_call(retriever):
        return lambda user: retriever.recommend(user, K, exclude=history)

    runs = [("exact", None, "search", search_call(retrievers["exact"].index_))]
    hnsw = retrievers["hnsw"].index_
    for ef in args.ef:
        runs.append(("hnsw", ef, "search", search_call(hnsw)))
    runs.append(("exact", None, "recommend", recommend_call(retrievers["exact"])))
    runs.append(("hnsw", 64 if 64 in args.ef else args.ef[0], "recommend", recommend_call(retrievers["hnsw"])))

    rows = []
    exact_answers = None
    for kind, ef, api, call in runs:
        if ef is not None:
            hnsw.ef_search = ef
        latencies, cpu, answers = time_calls(call, warmup, measured)
        if api == "recommend":
            answers = [frame.item_row.to_numpy() for frame in answers]
        if kind == "exact" and api == "search":
            exact_answers = answers
        row = {"method": kind, "ef_search": ef, "api": api, "calls": len(latencies), **summary(latencies),
               "cpu_median_ms": float(np.median(cpu) / 1e6), "cpu_p99_ms": float(np.percentile(cpu, 99) / 1e6),
               "recall_at_20": recall_at_k(answers, exact_answers)}
        rows.append(row)
        print(f"  {kind} ef={ef} {api}: median {row['median_ms']:.3f} ms, p99 {row['p99_ms']:.3f} ms, "
              f"cpu p99 {row['cpu_p99_ms']:.3f} ms, recall@20 {row['recall_at_20']:.4f}", flush=True)

    facts["load_average_at_end"] = os.getloadavg()
    table = ["| method | ef_search | api | median ms | p90 ms | p99 ms | max ms | CPU median ms | CPU p99 ms "
             "| recall@20 | p99 < 2 ms |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        table.append(f"| {row['method']} | {row['ef_search'] or '-'} | {row['api']} | {row['median_ms']:.3f} | "
                     f"{row['p90_ms']:.3f} | {row['p99_ms']:.3f} | {row['max_ms']:.2f} | {row['cpu_median_ms']:.3f} | "
                     f"{row['cpu_p99_ms']:.3f} | {row['recall_at_20']:.4f} | "
                     f"{'yes' if row['p99_ms'] < GOAL_P99_MS else 'no'} |")
    print("\n" + "\n".join(table))
    result = {"items": args.items, "users": args.users, "dim": args.dim, "k": K, "calls": args.calls,
              "warmup": args.warmup, "seed": args.seed, "history_items_per_user": history.nnz / args.users,
              "machine": facts, "builds": builds, "latency": rows,
              "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {OUT}")


if __name__ == "__main__":
    main()
