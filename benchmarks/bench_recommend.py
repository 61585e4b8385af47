"""Recommenders on real data under the leave-one-out, full-ranking protocol, beside published numbers.

    .venv/bin/python benchmarks/bench_recommend.py --dataset beauty [--dataset toys]

Data: the SASRec/ICLRec sequence files in ../shared/data (`user item item ...`, time order), read
in place. Protocol (storelift.recommend.evaluate): last item = test, second to last = validation,
rest train; every item ranked, the user's history excluded. Each model family's parameters are
chosen on the validation item only (best NDCG@10); the chosen model is then refitted on train +
validation and the test item is scored once. Prints a markdown table (test metrics, fit seconds,
peak RSS) with the ICLRec row from the dataset README, and writes benchmarks/out/recommend.json.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

from storelift.recommend import EASE, ItemKNN, Popularity, evaluate, leave_one_out, parse_sequences

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
DATASETS = {
    "beauty": DATA / "amazon_beauty" / "Beauty.txt",
    "toys": DATA / "amazon_toys_and_games" / "Toys_and_Games.txt",
}
KS = (5, 10, 20)
METRICS = [f"{m}@{k}" for k in KS for m in ("HIT", "NDCG")]
SELECT_ON = "NDCG@10"

# model family -> candidate parameter sets (validation picks one); kept small: 2 cores, shared machine
GRIDS = {
    "Popularity": (Popularity, [{}]),
    "ItemKNN": (ItemKNN, [{"neighbors": n, "shrink": s} for n in (50, 200, 1000) for s in (10.0, 50.0, 200.0)]),
    "EASE": (EASE, [{"lambda_": lam} for lam in (10.0, 25.0, 50.0, 125.0, 250.0, 500.0)]),
}


def published(readme: Path) -> dict[str, float]:
    """The 'Published reference' metrics of a dataset README (HIT@k / NDCG@k -> value)."""
    for line in readme.read_text().splitlines():
        if line.startswith("Published reference"):
            return {f"{m}@{k}": float(v) for m, k, v in re.findall(r"(HIT|NDCG)@(\d+) ([0-9.]+)", line)}
    return {}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_dataset(name: str) -> dict:
    path = DATASETS[name]
    with path.open() as lines:
        events = parse_sequences(lines)
    split = leave_one_out(events)
    print(f"\n## {name}: {split.train.shape[0]} users, {split.train.shape[1]} items, {len(events)} interactions",
          flush=True)
    families = []
    for family, (cls, grid) in GRIDS.items():
        validation = []
        for params in grid:
            row = evaluate(cls(**params), split, "validation").iloc[0].to_dict()
            validation.append({"params": params, **row})
            print(f"  validation {family} {params}: {SELECT_ON} {row[SELECT_ON]:.4f} (fit {row['fit_s']:.1f} s)",
                  flush=True)
        best = max(validation, key=lambda r: r[SELECT_ON])
        test = evaluate(cls(**best["params"]), split, "test").iloc[0].to_dict()
        families.append({"model": family, "params": best["params"], "validation": validation,
                         "validation_" + SELECT_ON: best[SELECT_ON], "test": test,
                         "peak_rss_mb": round(peak_rss_mb())})
    return {"dataset": name, "file": str(path), "users": int(split.train.shape[0]),
            "items": int(split.train.shape[1]), "interactions": int(len(events)),
            "evaluated_users": int((split.test_items >= 0).sum()),
            "published_iclrec": published(path.parent / "README.md"), "models": families}


def markdown(result: dict) -> str:
    header = ["model", "selected params", f"val {SELECT_ON}", *METRICS, "MRR", "fit s", "peak RSS MB (process, so far)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for fam in result["models"]:
        params = ", ".join(f"{k}={v:g}" for k, v in fam["params"].items()) or "-"
        test = fam["test"]
        lines.append("| " + " | ".join([
            f"storelift {fam['model']}", params, f"{fam['validation_' + SELECT_ON]:.4f}",
            *(f"{test[m]:.4f}" for m in METRICS), f"{test['MRR']:.4f}", f"{test['fit_s']:.1f}",
            str(fam["peak_rss_mb"])]) + " |")
    ref = result["published_iclrec"]
    if ref:
        cells = ["ICLRec (published)", "-", "-", *(f"{ref.get(m, float('nan')):.4f}" for m in METRICS), "-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", choices=sorted(DATASETS),
                        help="dataset to run (repeatable; default beauty)")
    args = parser.parse_args()
    started = time.perf_counter()
    results = [run_dataset(name) for name in (args.dataset or ["beauty"])]
    for result in results:
        print(f"\n### {result['dataset']} (test item, full ranking, {result['evaluated_users']} users)\n")
        print(markdown(result))
    out = HERE / "out" / "recommend.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"protocol": "leave-one-out, full ranking, history excluded, "
                                           f"selection on validation {SELECT_ON}",
                               "wall_s": round(time.perf_counter() - started, 1), "datasets": results},
                              indent=2, default=float))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
