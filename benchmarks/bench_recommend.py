"""Recommenders on real data under the leave-one-out, full-ranking protocol, beside published numbers.

    .venv/bin/python benchmarks/bench_recommend.py --dataset beauty [--dataset toys] [--dataset diginetica]
        [--dataset online_retail] [--dataset movielens]

Data in ../shared/data, read in place and turned into time-ordered per-user sequences by the pure
`*_events` functions below. Protocol (storelift.recommend.evaluate): last item = test, second to
last = validation, rest train; every item ranked, the user's history excluded. Each model family's
parameters are chosen on the validation item only (best NDCG@10); the chosen model is then refitted
on train + validation and the test item is scored once, in a fresh process (spawn) so its fit time
and peak RSS are its own. The floor is plain `implicit` ALS with the library's defaults (seeded, so
runs repeat), fitted and ranked by implicit itself on the same split. Prints a markdown table per dataset (with the published
row where the dataset README cites one for this protocol) and writes benchmarks/out/recommend.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import resource
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from storelift.recommend import (
    ALS, BPR, EASE, ContentKNN, Hybrid, ItemKNN, Popularity, evaluate, leave_one_out, parse_sequences,
    ranking_metrics,
)

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
KS = (5, 10, 20)
METRICS = [f"{m}@{k}" for k in KS for m in ("HIT", "NDCG")]
SELECT_ON = "NDCG@10"
DEFAULTS_ROW = "implicit ALS (defaults)"

# model family -> candidate parameter sets (validation picks one); kept small: 2 cores, shared machine.
# position_decay is not a model parameter: it weights each fitted item by decay ** (steps back from the
# customer's latest item), so item-to-item models score what the customer did last most.
# implicit's ALS is reproducible at any thread count; its BPR only on one thread.
GRIDS = {
    "Popularity": (Popularity, [{}]),
    # each user's segment's list (customer attributes in the files), shrunk toward the overall list
    "SegmentPopularity": ("segments", [{"segment_by": by, "shrinkage": s}
                                       for by in ("country", "occupation", "gender_age") for s in (10.0, 1000.0)]),
    "ItemKNN": (ItemKNN, [{"neighbors": n, "shrink": s, **decay} for n in (50, 200, 1000) for s in (10.0, 50.0)
                          for decay in ({}, {"position_decay": 0.7})]
                + [{"neighbors": n, "similarity": "bm25", **decay} for n in (200, 1000)
                   for decay in ({}, {"position_decay": 0.7})]),
    "EASE": (EASE, [{"lambda_": lam, **decay} for lam in (25.0, 125.0, 500.0)
                    for decay in ({}, {"position_decay": 0.8}, {"position_decay": 0.6})]),
    "ALS": (ALS, [{"factors": f, "regularization": r, "alpha": a, "num_threads": 2}
                  for f in (64, 256) for r in (1.0, 10.0) for a in (1.0, 10.0)]),
    # fold_in_users: each user's factors learned again from their weighted (here: recency) row
    "BPR": (BPR, [{"factors": f, "learning_rate": lr, "iterations": it, "regularization": 0.01, "num_threads": 1}
                  for f, lr, it in ((128, 0.05, 100), (128, 0.1, 100), (128, 0.05, 300), (128, 0.1, 300),
                                    (256, 0.05, 300), (512, 0.05, 300))]
                 + [{"factors": f, "learning_rate": lr, "iterations": 300, "regularization": 0.01, "num_threads": 1,
                     "fold_in_users": True, "position_decay": decay}
                    for f, lr, decay in ((128, 0.1, 0.7), (128, 0.1, 0.5), (256, 0.05, 0.7))]),
    # product text only: the items' own words (or MiniLM meaning); no interactions between items are used
    "ContentKNN": ("texts", [{"encoder": e, "neighbors": n, **decay} for e in ("tfidf", "minilm")
                             for n in (50, 200) for decay in ({}, {"position_decay": 0.6})]),
    # EASE blended with text similarity (the cold-start fallback for new products), per-customer scaled
    "Hybrid": ("texts", [{"lambda_": 125.0, "content_weight": w, "encoder": e, "position_decay": 0.6}
                         for w in (0.1, 0.3) for e in ("tfidf", "minilm")]),
}
TEXT_FAMILIES = {"ContentKNN", "Hybrid"}


def build_model(family: str, params: dict, side: dict):
    """The family's model with `params` (position_decay is the protocol's, not the model's); `side`
    holds the dataset's item texts and user segments where its files carry them."""
    model_params = {k: v for k, v in params.items() if k != "position_decay"}
    texts = side.get("texts")
    if family == "ContentKNN":
        return ContentKNN(texts, **model_params)
    if family == "Hybrid":
        return Hybrid([(EASE(lambda_=model_params["lambda_"]), 1.0),
                       (ContentKNN(texts, encoder=model_params["encoder"]), model_params["content_weight"])])
    if family == "SegmentPopularity":
        return Popularity(segments=side["segments"][params["segment_by"]], shrinkage=params["shrinkage"])
    return GRIDS[family][0](**model_params)


# --- data: each source -> one row per interaction (user_id, item_id, position in the user's time order)

def sequence_events(lines) -> pd.DataFrame:
    """SASRec/ICLRec files (`user item item ...`, already time-ordered and 5-core): Beauty, Toys."""
    return parse_sequences(lines)


def _positions(ordered: pd.DataFrame, user_col: str, item_col: str) -> pd.DataFrame:
    events = pd.DataFrame({"user_id": ordered[user_col].to_numpy(), "item_id": ordered[item_col].to_numpy()})
    events["position"] = events.groupby("user_id", sort=False).cumcount().to_numpy()
    return events


def diginetica_events(purchases: pd.DataFrame) -> pd.DataFrame:
    """DIGINETICA purchases of signed-in users (anonymous sessions dropped), ordered by eventdate,
    timeframe, ordernumber, then file order. Only a user's first purchase of an item is kept (see
    `online_retail_events`; 183 of 6,703 rows are repeats)."""
    known = purchases[purchases["userId"].notna()].astype({"userId": "int64"})
    ordered = known.sort_values(["userId", "eventdate", "timeframe", "ordernumber"], kind="stable")
    return _positions(ordered.drop_duplicates(["userId", "itemId"]), "userId", "itemId")


def online_retail_events(lines: pd.DataFrame) -> pd.DataFrame:
    """UCI Online Retail: customer x StockCode, ordered by InvoiceDate, then InvoiceNo, then line.

    Dropped: cancellations ('C' invoices), lines without CustomerID, Quantity <= 0 or UnitPrice <= 0,
    and codes that are not products (POST, M, C2, DOT, BANK CHARGES, PADS: kept codes start with 5
    digits). Repeat purchases are dropped too: only a customer's first purchase of each item is an
    event. The protocol removes a user's history from the ranking, so a repeated item could never be
    hit as a target; these wholesale customers re-order constantly (a third of the kept lines are
    repeats), and keeping them would score replenishment, which this benchmark does not measure.
    """
    invoice = lines["InvoiceNo"].astype(str)
    code = lines["StockCode"].astype(str)
    keep = (lines["CustomerID"].notna() & ~invoice.str.startswith("C") & (lines["Quantity"] > 0)
            & (lines["UnitPrice"] > 0) & code.str.match(r"^\d{5}"))
    bought = pd.DataFrame({"user_id": lines.loc[keep, "CustomerID"].astype("int64"), "item_id": code[keep],
                           "date": lines.loc[keep, "InvoiceDate"], "invoice": invoice[keep]})
    ordered = bought.sort_values(["user_id", "date", "invoice"], kind="stable")
    return _positions(ordered.drop_duplicates(["user_id", "item_id"]), "user_id", "item_id")


def movielens_events(ratings: pd.DataFrame) -> pd.DataFrame:
    """MovieLens 100K: every rating is an interaction (binarised), ordered by timestamp; ratings in
    the same second are ordered by item id."""
    ordered = ratings.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    return _positions(ordered, "user_id", "item_id")


def _read_sequences(path: Path) -> pd.DataFrame:
    with path.open() as lines:
        return sequence_events(lines)


def movielens_texts(items: pd.Index) -> list[str]:
    """Title and genres of each MovieLens film (u.item, pipe-separated, Latin-1)."""
    folder = DATA / "movielens_100k"
    genres = [line.split("|")[0] for line in (folder / "u.genre").read_text().splitlines() if line.strip()]
    films = pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1")
    flags = films.iloc[:, 5:5 + len(genres)].to_numpy().astype(bool)
    text = [f"{title} {' '.join(g for g, on in zip(genres, row) if on)}"
            for title, row in zip(films[1].astype(str), flags)]
    return pd.Series(text, index=films[0]).reindex(items).fillna("").tolist()


def online_retail_texts(items: pd.Index) -> list[str]:
    """Each StockCode's most frequent Description."""
    lines = pd.read_parquet(DATA / "online_retail" / "online_retail.parquet", columns=["StockCode", "Description"])
    lines = lines.dropna().astype(str)
    top = lines.groupby(["StockCode", "Description"]).size().reset_index(name="n")
    top = top.sort_values(["StockCode", "n"], ascending=[True, False]).drop_duplicates("StockCode")
    return top.set_index("StockCode")["Description"].reindex(items.astype(str)).fillna("").tolist()


def diginetica_categories(items) -> list:
    """Each item's category id (product-categories.csv), None where the file has none: the only
    product attribute in the files."""
    categories = pd.read_csv(DATA / "diginetica" / "product-categories.csv", sep=";")
    named = categories.set_index("itemId")["categoryId"].reindex(items)
    return [None if pd.isna(v) else int(v) for v in named.tolist()]


def diginetica_texts(items: pd.Index) -> list[str]:
    """The item's category as a token ('category1096')."""
    return ["" if c is None else f"category{c}" for c in diginetica_categories(items)]


def online_retail_segments(users: pd.Index) -> dict[str, list]:
    """Each customer's country (the one on most of their lines)."""
    lines = pd.read_parquet(DATA / "online_retail" / "online_retail.parquet", columns=["CustomerID", "Country"])
    lines = lines.dropna().astype({"CustomerID": "int64"})
    top = lines.groupby(["CustomerID", "Country"]).size().reset_index(name="n")
    top = top.sort_values(["CustomerID", "n"], ascending=[True, False]).drop_duplicates("CustomerID")
    return {"country": top.set_index("CustomerID")["Country"].reindex(users).tolist()}


def movielens_segments(users: pd.Index) -> dict[str, list]:
    """Each rater's occupation, and gender with a 10-year age band (u.user)."""
    people = pd.read_csv(DATA / "movielens_100k" / "u.user", sep="|", header=None,
                         names=["user_id", "age", "gender", "occupation", "zip"]).set_index("user_id").reindex(users)
    band = (people["age"] // 10 * 10).astype("Int64").astype(str)
    return {"occupation": people["occupation"].tolist(), "gender_age": (people["gender"] + " " + band + "s").tolist()}


# name -> user ids -> {attribute: one label per user}; the other datasets carry no customer attributes
USER_SEGMENTS = {"online_retail": online_retail_segments, "movielens": movielens_segments}

# name -> (item ids -> one text per item, encoders that make sense for it); Beauty and Toys carry no text
ITEM_TEXTS = {
    "movielens": (movielens_texts, ("tfidf", "minilm")),
    "online_retail": (online_retail_texts, ("tfidf", "minilm")),
    "diginetica": (diginetica_texts, ("tfidf",)),  # category ids: no words for MiniLM to read
}

DATASETS = {  # name -> (file, reader into events)
    "beauty": (DATA / "amazon_beauty" / "Beauty.txt", _read_sequences),
    "toys": (DATA / "amazon_toys_and_games" / "Toys_and_Games.txt", _read_sequences),
    "diginetica": (DATA / "diginetica" / "train-purchases.csv",
                   lambda p: diginetica_events(pd.read_csv(p, sep=";"))),
    "online_retail": (DATA / "online_retail" / "online_retail.parquet",
                      lambda p: online_retail_events(pd.read_parquet(p))),
    "movielens": (DATA / "movielens_100k" / "u.data",
                  lambda p: movielens_events(pd.read_csv(
                      p, sep="\t", names=["user_id", "item_id", "rating", "timestamp"]))),
}


def published(readme: Path) -> dict[str, float]:
    """The 'Published reference' metrics of a dataset README (HIT@k / NDCG@k -> value), if it cites any."""
    for line in readme.read_text().splitlines():
        if line.startswith("Published reference"):
            return {f"{m}@{k}": float(v) for m, k, v in re.findall(r"(HIT|NDCG)@(\d+) ([0-9.]+)", line)}
    return {}


def peak_rss_mb() -> float:
    """This process's peak resident set. Linux keeps ru_maxrss across exec, so a spawned child would
    report its parent's size; VmHWM (/proc/self/status) belongs to the child's own address space."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the floor: plain implicit, its own defaults, its own ranking -----------------------------------

def implicit_defaults_ranks(split, stage: str, batch_size: int = 1024) -> tuple[np.ndarray, float]:
    """Fit `implicit.als.AlternatingLeastSquares()` on the stage's matrix and rank each target with
    implicit's own `recommend` (history filtered); returns (0-based ranks, fit seconds)."""
    import implicit.als
    from threadpoolctl import threadpool_limits

    chosen = split.stage(stage)
    with warnings.catch_warnings():  # its BLAS-threads warning: heeded below
        warnings.simplefilter("ignore", RuntimeWarning)
        model = implicit.als.AlternatingLeastSquares(random_state=0)  # every parameter at its default; seeded
    started = time.perf_counter()
    with threadpool_limits(limits=1, user_api="blas"):  # as implicit's own warning asks
        model.fit(chosen.fit_matrix, show_progress=False)
    fit_s = time.perf_counter() - started
    n_items = chosen.fit_matrix.shape[1]
    ranks = np.empty(len(chosen.user_rows))
    for start in range(0, len(chosen.user_rows), batch_size):
        rows = chosen.user_rows[start:start + batch_size]
        ids, scores = model.recommend(rows, chosen.fit_matrix[rows], N=n_items, filter_already_liked_items=True)
        found = (ids == chosen.target_rows[start:start + batch_size, None]) & np.isfinite(scores)
        ranks[start:start + batch_size] = np.where(found.any(axis=1), found.argmax(axis=1), np.inf)
    return ranks, fit_s


def implicit_defaults_row(split, stage: str) -> dict:
    ranks, fit_s = implicit_defaults_ranks(split, stage)
    return {"model": DEFAULTS_ROW, "stage": stage, "fit_s": fit_s, **ranking_metrics(ranks, KS).iloc[0].to_dict()}


def fit_and_rank(family: str, params: dict, split, stage: str, side: dict) -> dict:
    return evaluate(build_model(family, params, side), split, stage, ks=KS,
                    position_decay=params.get("position_decay")).iloc[0].to_dict()


# --- test fits, each in a fresh process --------------------------------------------------------------

def _test_in_child(family: str, params: dict, split, side: dict) -> dict:
    before_fit_mb = peak_rss_mb()
    if family == DEFAULTS_ROW:
        row = implicit_defaults_row(split, "test")
    else:
        row = fit_and_rank(family, params, split, "test", side)
    return {**row, "rss_before_fit_mb": round(before_fit_mb), "peak_rss_mb": round(peak_rss_mb())}


def test_in_fresh_process(family: str, params: dict, split, side: dict) -> dict:
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(_test_in_child, family, params, split, side).result()


def run_dataset(name: str, only=None) -> dict:
    path, read = DATASETS[name]
    started = time.perf_counter()
    events = read(path)
    split = leave_one_out(events)
    print(f"\n## {name}: {split.train.shape[0]} users, {split.train.shape[1]} items, {len(events)} interactions",
          flush=True)
    families = []
    texts_of, encoders = ITEM_TEXTS.get(name, (None, ()))
    texts = texts_of(split.items) if texts_of else None
    segments_of = USER_SEGMENTS.get(name)
    side = {"texts": texts, "segments": segments_of(split.users) if segments_of else None}
    for family, (_, grid) in GRIDS.items():
        if only and family not in only:
            continue
        if family in TEXT_FAMILIES:
            if texts is None:
                print(f"  {family}: skipped, the {name} file carries no item text", flush=True)
                continue
            grid = [params for params in grid if params["encoder"] in encoders]
        if family == "SegmentPopularity":
            if side["segments"] is None:
                print(f"  {family}: skipped, the {name} files carry no customer attributes", flush=True)
                continue
            grid = [params for params in grid if params["segment_by"] in side["segments"]]
        validation = []
        for params in grid:
            row = fit_and_rank(family, params, split, "validation", side)
            validation.append({"params": params, **row})
            print(f"  validation {family} {params}: {SELECT_ON} {row[SELECT_ON]:.4f} (fit {row['fit_s']:.1f} s)",
                  flush=True)
        best = max(validation, key=lambda r: r[SELECT_ON])
        families.append({"model": family, "params": best["params"], "validation": validation,
                         "validation_" + SELECT_ON: best[SELECT_ON],
                         "test": test_in_fresh_process(family, best["params"], split, side)})
    floor_validation = implicit_defaults_row(split, "validation")
    print(f"  validation {DEFAULTS_ROW}: {SELECT_ON} {floor_validation[SELECT_ON]:.4f}", flush=True)
    families.append({"model": DEFAULTS_ROW, "params": {}, "validation": [floor_validation],
                     "validation_" + SELECT_ON: floor_validation[SELECT_ON],
                     "test": test_in_fresh_process(DEFAULTS_ROW, {}, split, side)})
    return {"dataset": name, "file": str(path), "users": int(split.train.shape[0]),
            "items": int(split.train.shape[1]), "interactions": int(len(events)),
            "evaluated_users": int((split.test_items >= 0).sum()),
            "published_iclrec": published(path.parent / "README.md"), "models": families,
            "wall_s": round(time.perf_counter() - started, 1)}


def markdown(result: dict) -> str:
    header = ["model", "selected params", f"val {SELECT_ON}", *METRICS, "MRR", "fit s",
              "peak RSS MB (test fit process)", "of which before fit"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for fam in result["models"]:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else f"{k}={v}"
                           for k, v in fam["params"].items() if k != "num_threads") or "-"
        test = fam["test"]
        label = fam["model"] if fam["model"] == DEFAULTS_ROW else f"storelift {fam['model']}"
        lines.append("| " + " | ".join([
            label, params, f"{fam['validation_' + SELECT_ON]:.4f}",
            *(f"{test[m]:.4f}" for m in METRICS), f"{test['MRR']:.4f}", f"{test['fit_s']:.1f}",
            str(test["peak_rss_mb"]), str(test["rss_before_fit_mb"])]) + " |")
    ref = result["published_iclrec"]
    if ref:
        cells = ["ICLRec (published)", "-", "-", *(f"{ref.get(m, float('nan')):.4f}" for m in METRICS),
                 "-", "-", "-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def floor_line(result: dict) -> str:
    """Which storelift families reach the floor (implicit ALS defaults) on test NDCG@10."""
    floor = next(f for f in result["models"] if f["model"] == DEFAULTS_ROW)["test"][SELECT_ON]
    below = [f["model"] for f in result["models"] if f["model"] != DEFAULTS_ROW and f["test"][SELECT_ON] < floor]
    return f"floor ({DEFAULTS_ROW}, test {SELECT_ON} {floor:.4f}): " + \
        (f"below it: {', '.join(below)}" if below else "every storelift family at or above it")


def merged(previous: dict | None, result: dict) -> dict:
    """`result` with the families it did not run taken from the previous run of the same dataset, in
    GRIDS order (the floor row is always this run's)."""
    if previous is None:
        return result
    ran = {f["model"] for f in result["models"]}
    kept = [f for f in previous["models"] if f["model"] not in ran]
    order = {name: i for i, name in enumerate([*GRIDS, DEFAULTS_ROW])}
    models = sorted(kept + result["models"], key=lambda f: order.get(f["model"], len(order)))
    return {**result, "models": models}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", action="append", choices=sorted(DATASETS),
                        help="dataset to run (repeatable; default beauty)")
    parser.add_argument("--family", action="append", choices=sorted(GRIDS),
                        help="model family to run (repeatable; default all); the floor row always runs, and "
                             "the other families' rows are kept from benchmarks/out/recommend.json")
    args = parser.parse_args()
    out = HERE / "out" / "recommend.json"
    before = json.loads(out.read_text()) if (args.family and out.exists()) else {"datasets": []}
    previous = {d["dataset"]: d for d in before["datasets"]}
    started = time.perf_counter()
    results = []
    for name in args.dataset or ["beauty"]:
        result = run_dataset(name, args.family)
        for family in result["models"]:
            family["measured"] = time.strftime("%Y-%m-%d")
        results.append(merged(previous.get(name) if args.family else None, result))
    for result in results:
        print(f"\n### {result['dataset']} (test item, full ranking, {result['evaluated_users']} users; "
              f"{result['wall_s']:.0f} s)\n")
        print(markdown(result))
        print(f"\n{floor_line(result)}")
    wall_s = round(time.perf_counter() - started, 1)
    previous.update({r["dataset"]: r for r in results})
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"protocol": "leave-one-out, full ranking, history excluded, "
                                           f"selection on validation {SELECT_ON}",
                               "wall_s": wall_s, "datasets": list(previous.values())},
                              indent=2, default=float))
    print(f"\nwall time {wall_s:.0f} s; wrote {out}")


if __name__ == "__main__":
    main()
