"""SASRec on real data under the leave-one-out, full-ranking protocol, beside published numbers.

    .venv/bin/python benchmarks/bench_sequential.py --dataset beauty [--dataset toys] [--dataset diginetica]
        [--dataset online_retail] [--dataset movielens] [--max-epochs 30]

Protocol (storelift.recommend.evaluate): last item = test, second to last = validation, rest train;
every item ranked, the user's history excluded. Each candidate trains on the train sequences with
early stopping on validation NDCG@10; the best candidate (validation only) is scored on the test item
twice: (a) "fold-in": the validation-stage model reads the sequence including the validation item, as
in the SASRec paper; (b) "refit": retrained on train + validation for the chosen number of epochs,
as the other storelift models are. Default loss: sampled softmax with 1000 negatives (`--loss ce` for
the full softmax, about 5x the output-layer cost), validation runs capped at 30 epochs (patience 5),
one torch thread: bounded for 2 shared cores. Where the files give each item a category
(DIGINETICA), every candidate also runs with it as an item feature (`item_features`), and
validation picks. The datasets and their preparation are bench_recommend.py's, so both benchmarks
rank the same targets. Writes
benchmarks/out/sequential_<dataset>.json.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

import numpy as np

from bench_recommend import DATASETS, diginetica_categories
from storelift.recommend import SASRec, leave_one_out, ranking_metrics, target_ranks
from storelift.recommend.sequential import stage_sequences

HERE = Path(__file__).resolve().parent
METRICS = [f"{m}@{k}" for k in (5, 10, 20) for m in ("HIT", "NDCG")]
SELECT_ON = "NDCG@10"
BASE = dict(max_len=50, hidden=64, blocks=2, heads=1, batch_size=128, learning_rate=2e-3, patience=5,
            random_state=0, verbose=True)
# candidates compared on validation only; kept tiny: 2 shared cores
GRID = {"small": [{"dropout": 0.3}], "dropout": [{"dropout": 0.3}, {"dropout": 0.5}]}


# name -> item ids -> one category per item, for the datasets whose files carry one
ITEM_CATEGORIES = {"diginetica": diginetica_categories}


def model_for(params: dict, side: dict, **fixed) -> SASRec:
    """SASRec with BASE, the candidate's params and `fixed`; "item_features" names a side column."""
    params = {**BASE, **params, **fixed}
    if "item_features" in params:
        params["item_features"] = side[params["item_features"]]
    return SASRec(**params)


def published(readme: Path) -> dict[str, float]:
    """The 'Published reference' metrics of a dataset README (HIT@k / NDCG@k -> value)."""
    for line in readme.read_text().splitlines():
        if line.startswith("Published reference"):
            return {f"{m}@{k}": float(v) for m, k, v in re.findall(r"(HIT|NDCG)@(\d+) ([0-9.]+)", line)}
    return {}


def score_test_item(model: SASRec, split, sequences, as_fold_in: bool) -> dict:
    """Rank the test item after each evaluated user's train + validation sequence."""
    test = split.stage("test")
    if as_fold_in:
        scorer = _FoldIn(model, [sequences[r] for r in test.user_rows])
        ranks = target_ranks(scorer, test.fit_matrix[test.user_rows], np.arange(test.user_rows.size),
                             test.target_rows)
    else:
        ranks = target_ranks(model, test.fit_matrix, test.user_rows, test.target_rows)
    return ranking_metrics(ranks).iloc[0].to_dict()


class _FoldIn:
    """Scores given sequences with a fitted model, so target_ranks can rank them."""

    def __init__(self, model, sequences):
        self.model, self.sequences = model, sequences

    def scores(self, rows):
        return self.model.scores_for_sequences([self.sequences[r] for r in rows])


def run_dataset(name: str, max_epochs: int, grid: list[dict], loss: str, negatives: int, threads: int) -> dict:
    path, read = DATASETS[name]
    events = read(path)
    split = leave_one_out(events)
    n_items = len(split.items)
    train = stage_sequences(events, split, "validation")
    train_and_validation = stage_sequences(events, split, "test")
    print(f"\n## {name}: {len(split.users)} users, {n_items} items, {len(events)} interactions; "
          f"loss={loss}, negatives={negatives}, max_epochs={max_epochs}, threads={threads}", flush=True)
    side = {}
    if name in ITEM_CATEGORIES:
        side["category"] = ITEM_CATEGORIES[name](split.items)
        grid = grid + [{**params, "item_features": "category"} for params in grid]
    candidates = []
    for params in grid:
        model = model_for(params, side, epochs=max_epochs, loss=loss, negatives=negatives, num_threads=threads)
        started = time.perf_counter()
        model.fit(train, n_items, validation_targets=split.validation_items)
        history = model.history_
        candidates.append({"params": params, "model": model, "fit_s": time.perf_counter() - started,
                           "best_epoch": int(model.best_epoch_), "epochs_trained": int(model.epochs_trained_),
                           "s_per_epoch": float(history.fit_s.mean()),
                           "validation_s_per_epoch": float(history.validation_s.mean()),
                           "validation_" + SELECT_ON: float(history.validation_ndcg10.max()),
                           "stopped_early": bool(model.epochs_trained_ < max_epochs)})
        print(f"  validation {params}: best {SELECT_ON} {candidates[-1]['validation_' + SELECT_ON]:.4f} "
              f"at epoch {model.best_epoch_}/{model.epochs_trained_}", flush=True)
    best = max(candidates, key=lambda c: c["validation_" + SELECT_ON])
    fold_in = score_test_item(best["model"], split, train_and_validation, as_fold_in=True)
    print(f"  test (fold-in) {SELECT_ON} {fold_in[SELECT_ON]:.4f}", flush=True)
    refit = model_for(best["params"], side, verbose=False, epochs=best["best_epoch"], loss=loss,
                      negatives=negatives, num_threads=threads)
    started = time.perf_counter()
    refit.fit(train_and_validation, n_items)
    refit_s = time.perf_counter() - started
    refit_metrics = score_test_item(refit, split, train_and_validation, as_fold_in=False)
    print(f"  test (refit) {SELECT_ON} {refit_metrics[SELECT_ON]:.4f}", flush=True)
    for candidate in candidates:
        del candidate["model"]
    return {"dataset": name, "users": len(split.users), "items": n_items, "interactions": len(events),
            "loss": loss, "negatives": negatives, "max_epochs": max_epochs, "threads": threads,
            "candidates": candidates, "chosen": best["params"],
            "test_fold_in": fold_in, "test_refit": refit_metrics, "refit_s": refit_s,
            "refit_epochs": best["best_epoch"],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "published_iclrec": published(DATASETS[name][0].parent / "README.md")}


def markdown(result: dict) -> str:
    best = max(result["candidates"], key=lambda c: c["validation_" + SELECT_ON])
    header = ["model", "test scoring", f"val {SELECT_ON}", *METRICS, "fit s", "epochs", "s/epoch"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    params = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                       for k, v in result["chosen"].items())
    for label, metrics, fit_s, epochs in (
            ("fold-in", result["test_fold_in"], best["fit_s"], f"{best['best_epoch']} of {best['epochs_trained']}"),
            ("refit train+val", result["test_refit"], result["refit_s"], str(result["refit_epochs"]))):
        lines.append("| " + " | ".join([
            f"storelift SASRec ({params})", label, f"{best['validation_' + SELECT_ON]:.4f}",
            *(f"{metrics[m]:.4f}" for m in METRICS), f"{fit_s:.0f}", epochs, f"{best['s_per_epoch']:.1f}"]) + " |")
    ref = result["published_iclrec"]
    if ref:
        lines.append("| " + " | ".join(["ICLRec (published)", "-", "-",
                                        *(f"{ref.get(m, float('nan')):.4f}" for m in METRICS), "-", "-", "-"]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", choices=sorted(DATASETS), help="repeatable; default beauty")
    parser.add_argument("--max-epochs", type=int, default=30, help="epoch cap of each validation run")
    parser.add_argument("--grid", choices=sorted(GRID), default="small")
    parser.add_argument("--loss", choices=("ce", "sampled"), default="sampled")
    parser.add_argument("--negatives", type=int, default=1000, help="sampled-softmax negatives per batch")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (at most 2 on a shared machine)")
    args = parser.parse_args()
    for name in args.dataset or ["beauty"]:
        started = time.perf_counter()
        result = run_dataset(name, args.max_epochs, GRID[args.grid], args.loss, args.negatives, args.threads)
        result["wall_s"] = round(time.perf_counter() - started, 1)
        print(f"\n### {name} (test item, full ranking, history excluded; wall {result['wall_s']:.0f} s)\n")
        print(markdown(result))
        out = HERE / "out" / f"sequential_{name}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=float))
        print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
