"""Time the synthetic store generator at a given size: wall time, peak RSS and rows per file.

    python benchmarks/bench_synth.py --customers 1000000 [--events] [--format csv] [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from storelift.synth import generate_store


def peak_rss_mb() -> float:
    """Peak resident set size of this process (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--events", action="store_true", help="also write events.jsonl")
    ap.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    ap.add_argument("--out", type=Path, default=None, help="output folder (default: a temporary folder)")
    ap.add_argument("--keep", action="store_true", help="keep the output folder")
    args = ap.parse_args()

    out = args.out or Path(tempfile.mkdtemp(prefix="storelift-bench-synth-"))
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 30 or done == total:
            print(f"  {stage}: {done:,}/{total:,} at {now - t0:.0f} s", file=sys.stderr, flush=True)
            last[0] = now

    t0 = time.perf_counter()
    manifest = generate_store(out, customers=args.customers, seed=args.seed, events=args.events,
                              file_format=args.format, progress=progress)
    wall = time.perf_counter() - t0
    size_mb = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6
    print(manifest.to_string(index=False))
    rows = {r.table: int(r.rows) for r in manifest.itertuples()}
    print(f"RESULT bench_synth customers={args.customers} events={args.events} format={args.format} "
          f"wall_s={wall:.1f} peak_rss_mb={peak_rss_mb():.0f} disk_mb={size_mb:.0f} "
          f"orders={rows.get('orders', 0)} order_lines={rows.get('order_lines', 0)} "
          f"events={rows.get('events', 0)} touches={rows.get('touches', 0)}")
    if not args.keep and args.out is None:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
