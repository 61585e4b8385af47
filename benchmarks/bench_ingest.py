"""Ingest throughput and peak memory.

    python benchmarks/bench_ingest.py online-retail            # the real UCI file from ../shared/data
    python benchmarks/bench_ingest.py order-lines --rows 10000000

Each case runs in a fresh workspace in this process; peak memory is the process's maximum
resident set size (ru_maxrss), so run one case per invocation. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STORELIFT_SHARED_DATA", REPO.parent / "shared" / "data"))


def write_order_lines(path: Path, rows: int, seed: int = 0, block: int = 1_000_000) -> None:
    """A canonical order_lines.csv of `rows` lines (about 2.5 lines per order), written in blocks."""
    rng = np.random.default_rng(seed)
    writer = None
    done = 0
    order = 0
    while done < rows:
        n = min(block, rows - done)
        per_order = rng.integers(1, 5, size=n)  # lines in each new order; trimmed to n lines below
        order_ids = np.repeat(np.arange(order, order + n), per_order)[:n]
        starts = np.r_[0, np.flatnonzero(np.diff(order_ids)) + 1]
        line_number = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n])) + 1
        order = int(order_ids[-1]) + 1
        qty = rng.integers(1, 6, size=n)
        price = np.round(rng.lognormal(2.5, 0.8, size=n), 2)
        table = pa.table({
            "order_id": pa.array(np.char.add("o", order_ids.astype(str))),
            "line_number": line_number,
            "product_id": pa.array(np.char.add("p", rng.integers(0, 100_000, size=n).astype(str))),
            "quantity": qty,
            "unit_price": price,
            "discount_amount": np.zeros(n),
            "amount": np.round(qty * price, 2),
        })
        if writer is None:
            writer = pacsv.CSVWriter(str(path), table.schema)
        writer.write_table(table)
        done += n
    writer.close()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(case: str, rows: int, chunk_rows: int) -> dict:
    warnings.filterwarnings("ignore")
    from storelift import Workspace
    from storelift.data.ingest import ingest_file

    tmp = Path(tempfile.mkdtemp(prefix="storelift-bench-"))
    os.environ.setdefault("STORELIFT_KEY_DIR", str(tmp / "keys"))
    if case == "online-retail":
        source = SHARED / "online_retail" / "online_retail.parquet"
        if not source.exists():
            sys.exit(f"{source} is absent; this case needs ../shared/data")
        generate_s = 0.0
    else:
        source = tmp / "order_lines.csv"
        t = time.perf_counter()
        write_order_lines(source, rows)
        generate_s = time.perf_counter() - t
    ws = Workspace.init(tmp / "ws")
    options = ws.ingest_options()
    options.chunk_rows = chunk_rows
    rss_before = peak_rss_mb()
    t = time.perf_counter()
    report = ingest_file(ws.warehouse, source, options)
    seconds = time.perf_counter() - t
    return {
        "case": case, "file": source.name, "file_mb": round(source.stat().st_size / 2**20, 1),
        "rows_read": report.rows_read, "rows_loaded": report.rows_loaded, "reconciles": report.reconciles,
        "ingest_s": round(seconds, 1), "rows_per_s": round(report.rows_read / seconds),
        "peak_rss_mb": round(peak_rss_mb()), "peak_rss_before_ingest_mb": round(rss_before),
        "chunk_rows": chunk_rows, "generate_s": round(generate_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=["online-retail", "order-lines"])
    parser.add_argument("--rows", type=int, default=10_000_000, help="order-lines: rows to generate")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    args = parser.parse_args()
    print(json.dumps(run(args.case, args.rows, args.chunk_rows)))


if __name__ == "__main__":
    main()
