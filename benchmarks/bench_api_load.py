"""Load on `storelift serve` over loopback: recommendation latency at fixed request rates, and the
durable event-ingest rate.

    .venv/bin/python benchmarks/bench_api_load.py [--rates 200 500 1000] [--seconds 20] [--workers 2]

The workspace (benchmarks/out/api-workspace, built once and reused) holds 1,000,000 customers and a
100,000-item catalog: an ALS-shaped model with 64 clustered factors per user and item, ten history
items per customer, its HNSW item index, and a personalization grant for every customer. The server
runs as `storelift serve` with N uvicorn workers on 127.0.0.1.

Recommendations: an open-loop client (asyncio, raw HTTP/1.1 keep-alive, 64 connections) sends
GET /v1/recommendations/{id}?k=20 at a fixed rate for --seconds after a 5 s warm-up; 90% of ids
are known customers drawn uniformly, 10% unknown visitors. Latency is measured from each request's
scheduled send time, so a stalled server cannot hide queueing (no coordinated omission). Every
answer other than 200 counts as an error. Ingest: 16 connections post batches of 100 Segment
events (--ingest-batch) with fresh messageIds as fast as acknowledgements come back; the rate counts acknowledged
(committed) events. Client and server share the machine's cores. Writes benchmarks/out/api_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE / "out" / "api-workspace"
N_CUSTOMERS, N_ITEMS, FACTORS, HISTORY = 1_000_000, 100_000, 64, 10


def customer_ids(n: int) -> list[str]:
    return [f"C{i:07d}" for i in range(n)]


def build_workspace(root: Path, customers: int, items: int, seed: int = 0) -> None:
    """A workspace with a saved factor model, its item index and everyone's personalization grant."""
    from storelift.artifacts import ITEM_INDEX_FILE, save_models
    from storelift.online import OnlineStore
    from storelift.recommend import ALS, InnerProductIndex, Interactions, ItemCatalog
    from storelift.workspace import Workspace

    rng = np.random.default_rng(seed)
    ws = Workspace.init(root)
    centers = rng.standard_normal((200, FACTORS)).astype(np.float32)
    item_cluster = rng.integers(0, len(centers), items)
    item_factors = centers[item_cluster] + 0.5 * rng.standard_normal((items, FACTORS)).astype(np.float32)
    user_cluster = rng.integers(0, len(centers), customers)
    user_factors = 0.1 * centers[user_cluster] + 0.05 * rng.standard_normal((customers, FACTORS)).astype(np.float32)
    by_cluster = pd.Series(np.arange(items)).groupby(item_cluster).apply(np.asarray)
    cols = np.concatenate([rng.choice(by_cluster[c], HISTORY) for c in user_cluster])
    matrix = sp.csr_matrix((np.ones(customers * HISTORY, np.float32),
                            (np.repeat(np.arange(customers), HISTORY), cols)), shape=(customers, items))
    matrix.sum_duplicates()
    model = ALS(factors=FACTORS)
    model.user_factors_, model.item_factors_, model.matrix_, model.n_items_ = user_factors, item_factors, matrix, items
    ids = pd.Index([f"P{i:06d}" for i in range(items)])
    interactions = Interactions(matrix, pd.Index(customer_ids(customers)), ids)
    products = pd.DataFrame({"product_id": ids, "title": [f"product {i}" for i in range(items)],
                             "category": [f"Home > Aisle {c}" for c in item_cluster],
                             "stock_quantity": np.where(rng.random(items) < 0.05, 0, 10)})
    catalog = ItemCatalog.from_products(products, ids)
    folder = save_models(ws.models_dir, "recommend-als-bench", {"model": model, "interactions": interactions,
                                                                 "catalog": catalog},
                         meta={"users": customers, "items": items, "synthetic": True})
    started = time.perf_counter()
    InnerProductIndex("hnsw").fit(item_factors).save(folder / ITEM_INDEX_FILE)
    print(f"  item index built in {time.perf_counter() - started:.0f} s", flush=True)
    with OnlineStore.open(None, ws.root) as store:
        store.import_consents(pd.DataFrame({"customer_id": customer_ids(customers), "purpose": "personalization",
                                            "granted": True, "recorded_at": pd.Timestamp("2024-01-01")}))
    ws.close()


# --- a lean HTTP/1.1 client --------------------------------------------------------------------

async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


def _request(method: str, path: str, key: str, body: bytes = b"") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Length: {len(body)}\r\n")
    if body:
        head += "Content-Type: application/json\r\n"
    return head.encode() + b"\r\n" + body


async def open_loop(port: int, key: str, paths, rate: float, seconds: float, connections: int = 64,
                    connect_gap_s: float = 0.005) -> dict:
    """Send GETs at `rate` per second for `seconds`; latency from each scheduled send time.

    The connections open `connect_gap_s` apart, as a fleet of storefront servers would, not in one
    burst: asyncio accepts every connection waiting on the socket at once, so a burst can land most of
    them on one worker."""
    queue: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def worker(number: int):
        await asyncio.sleep(number * connect_gap_s)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                scheduled, path = item
                try:
                    writer.write(_request("GET", path, key))
                    status, _ = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError):
                    status = 0
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                latencies.append(time.perf_counter() - scheduled)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    workers = [asyncio.create_task(worker(number)) for number in range(connections)]
    n = int(rate * seconds)
    start = time.perf_counter() + connections * connect_gap_s + 0.05
    for i in range(n):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((scheduled, next(paths)))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - start
    ms = np.array(latencies) * 1000
    errors = sum(count for status, count in statuses.items() if status != 200)
    return {"target_rps": rate, "sent": n, "achieved_rps": round(n / elapsed, 1), "p50_ms": float(np.median(ms)),
            "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max()), "errors": errors, "error_rate": errors / n,
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def _event_batch(n: int, rng) -> bytes:
    now = pd.Timestamp.now(tz="UTC").isoformat()
    batch = [{"type": "track", "event": "Product Viewed", "messageId": uuid.uuid4().hex,
              "userId": f"C{int(c):07d}", "timestamp": now,
              "properties": {"product_id": f"P{int(p):06d}", "price": 9.99}}
             for c, p in zip(rng.integers(0, N_CUSTOMERS, n), rng.integers(0, N_ITEMS, n))]
    return json.dumps({"batch": batch}).encode()


async def ingest(port: int, key: str, seconds: float, connections: int = 16, batch: int = 100,
                 connect_gap_s: float = 0.005) -> dict:
    """Closed loop: each connection posts the next batch when the last one is acknowledged. The
    connections open `connect_gap_s` apart before the clock starts (see `open_loop`)."""
    stored = duplicates = errors = requests = 0
    opened = []
    for _ in range(connections):
        opened.append(await asyncio.open_connection("127.0.0.1", port))
        await asyncio.sleep(connect_gap_s)
    deadline = time.perf_counter() + seconds

    async def worker(w: int):
        nonlocal stored, duplicates, errors, requests
        reader, writer = opened[w]
        local = np.random.default_rng(100 + w)
        while time.perf_counter() < deadline:
            writer.write(_request("POST", "/v1/events", key, _event_batch(batch, local)))
            status, body = await _read_response(reader)
            requests += 1
            if status in (200, 202):
                answer = json.loads(body)
                stored += answer.get("stored", 0)
                duplicates += answer.get("duplicates", 0)
            else:
                errors += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(connections)))
    elapsed = time.perf_counter() - started
    return {"seconds": round(elapsed, 1), "batch": batch, "connections": connections, "requests": requests,
            "events_stored": stored, "duplicates": duplicates, "errors": errors,
            "events_per_s": round(stored / elapsed)}


def run_client(coroutine):
    """Run the client on uvloop when installed (it comes with uvicorn[standard]): less of the shared
    CPU goes to the load generator."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def recommendation_paths(seed: int = 2):
    rng = np.random.default_rng(seed)
    while True:
        if rng.random() < 0.9:
            yield f"/v1/recommendations/C{int(rng.integers(N_CUSTOMERS)):07d}?k=20"
        else:
            yield f"/v1/recommendations/visitor-{int(rng.integers(10**9))}?k=20"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="*", default=[200, 500, 1000])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ingest-seconds", type=float, default=15.0)
    parser.add_argument("--ingest-batch", type=int, default=100, help="events per POST /v1/events (Segment: up to 500)")
    args = parser.parse_args()

    from storelift.api.launch import start_server
    from storelift.online import OnlineStore

    if not (WORKSPACE / "models" / "recommend-als-bench" / "manifest.json").exists():
        print(f"building {WORKSPACE} ({N_CUSTOMERS:,} customers, {N_ITEMS:,} items)", flush=True)
        started = time.perf_counter()
        build_workspace(WORKSPACE, N_CUSTOMERS, N_ITEMS)
        print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    with OnlineStore.open(None, WORKSPACE) as store:
        _, key = store.create_api_key("load-benchmark", ["read", "ingest"], rate_limit_per_s=1e6)
    started = time.perf_counter()
    server = start_server(WORKSPACE, workers=args.workers, timeout_s=600)
    port = int(server.url.rsplit(":", 1)[1])
    results = {"workers": args.workers, "customers": N_CUSTOMERS, "items": N_ITEMS,
               "start_s": round(time.perf_counter() - started, 1), "recommendations": [], "ingest": None}
    try:
        paths = recommendation_paths()
        run_client(open_loop(port, key, paths, 100, 5))  # warm-up, not reported
        for rate in args.rates:
            row = run_client(open_loop(port, key, paths, rate, args.seconds))
            results["recommendations"].append(row)
            print(f"  {rate:>6.0f} rps: p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms, "
                  f"errors {row['errors']} of {row['sent']}", flush=True)
        results["ingest"] = run_client(ingest(port, key, args.ingest_seconds, batch=args.ingest_batch))
        print(f"  ingest: {results['ingest']['events_per_s']:,} events/s durable "
              f"({results['ingest']['errors']} errors)", flush=True)
    finally:
        server.stop()
    out = HERE / "out" / ("api_load.json" if args.rates else f"api_ingest_batch{args.ingest_batch}.json")
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
