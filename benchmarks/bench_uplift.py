"""Uplift on Hillstrom's randomized e-mail test and on a synthetic store with a planted per-customer effect.

    python benchmarks/bench_uplift.py [--customers 20000] [--seed 0] [--bootstrap 200] [--peer]
    python benchmarks/bench_uplift.py --setup-peer      # once: scikit-uplift in benchmarks/.venv-sklift

Prints markdown tables and writes benchmarks/out/uplift.json. With --peer, scikit-uplift (its own venv,
its own pins) fits its models on the same splits and scores storelift's predictions with its metrics.
The peer half of this file (`--peer-worker`) imports nothing from storelift.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".venv-sklift"
PEER_PINS = ["scikit-uplift==0.5.1", "scikit-learn==1.5.2", "numpy<2", "pandas<2.3", "lightgbm==4.5.0",
             "matplotlib<3.10"]
LGBM = dict(n_estimators=200, learning_rate=0.03, num_leaves=15, min_child_samples=100, subsample=0.8,
            subsample_freq=1, colsample_bytree=0.8, reg_lambda=1.0, random_state=0, n_jobs=1, verbose=-1)
# scikit-uplift's pipeline tutorial (notebooks/pipeline_usage_EN.ipynb, maks-sh/scikit-uplift):
# Womens E-Mail vs No E-Mail, target visit, train_test_split(test_size=0.5, random_state=42),
# ClassTransformation(XGBClassifier(max_depth=2, random_state=42)) after a CatBoostEncoder -> uplift@30% 0.0660
PUBLISHED_SKLIFT_UPLIFT_AT_30 = 0.0660


# ---------------------------------------------------------------- peer side (runs under .venv-sklift)
def peer_worker(arrays_path: str, out_path: str) -> None:
    """Fit scikit-uplift models on each split and score every prediction set with scikit-uplift's metrics."""
    from lightgbm import LGBMClassifier
    from sklift.metrics import qini_auc_score, uplift_at_k, uplift_auc_score
    from sklift.models import ClassTransformation, SoloModel, TwoModels

    data = np.load(arrays_path, allow_pickle=False)
    splits = sorted({k.split("__")[0] for k in data.files})
    result = {}
    for split in splits:
        get = lambda name: data[f"{split}__{name}"]  # noqa: E731
        y, t = get("y_test"), get("t_test")
        scores = {k.split("__", 2)[2]: data[k] for k in data.files if k.startswith(f"{split}__pred__")}
        timings = {}
        for name, model in (("sklift TwoModels (LightGBM)", TwoModels(LGBMClassifier(**LGBM), LGBMClassifier(**LGBM),
                                                                       method="vanilla")),
                            ("sklift SoloModel (LightGBM)", SoloModel(LGBMClassifier(**LGBM))),
                            ("sklift ClassTransformation (LightGBM)", ClassTransformation(LGBMClassifier(**LGBM)))):
            start = time.perf_counter()
            model.fit(get("X_train"), get("y_train"), get("t_train"))
            scores[name] = np.asarray(model.predict(get("X_test")), dtype=float)
            timings[name] = time.perf_counter() - start
        result[split] = {name: {"qini_auc_score": float(qini_auc_score(y, s, t)),
                                "uplift_auc_score": float(uplift_auc_score(y, s, t)),
                                "uplift_at_30": float(uplift_at_k(y, s, t, strategy="overall", k=0.3)),
                                "fit_s": timings.get(name)} for name, s in scores.items()}
    import sklift
    import sklearn
    result["_versions"] = {"scikit-uplift": sklift.__version__, "scikit-learn": sklearn.__version__}
    Path(out_path).write_text(json.dumps(result))


def setup_peer() -> None:
    """Create benchmarks/.venv-sklift with scikit-uplift and the pins it works with."""
    if not (PEER_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
                    *PEER_PINS], check=True)


def run_peer(splits: dict) -> dict | None:
    """Run the peer side on `splits` (name -> train/test UpliftData and our predictions); None when absent."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print("peer skipped: run `python benchmarks/bench_uplift.py --setup-peer` first", file=sys.stderr)
        return None
    arrays = {}
    for name, (train, test, preds) in splits.items():
        arrays.update({f"{name}__X_train": train.features.to_numpy(), f"{name}__t_train": train.treatment,
                       f"{name}__y_train": train.outcome, f"{name}__X_test": test.features.to_numpy(),
                       f"{name}__t_test": test.treatment, f"{name}__y_test": test.outcome})
        arrays.update({f"{name}__pred__{model}": p for model, p in preds.items()})
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "arrays.npz", **arrays)
        out = Path(tmp) / "peer.json"
        subprocess.run([str(python), __file__, "--peer-worker", str(Path(tmp) / "arrays.npz"), str(out)], check=True)
        return json.loads(out.read_text())


# ---------------------------------------------------------------- storelift side
def models() -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier

    from storelift.experiments.uplift import SLearner, TLearner, XLearner

    hgb = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, min_samples_leaf=100, random_state=0)
    return {"S-learner (LightGBM)": SLearner(), "T-learner (LightGBM)": TLearner(),
            "X-learner (LightGBM)": XLearner(), "T-learner (sklearn HistGradientBoosting)": TLearner(estimator=hgb)}


def score(test, pred: np.ndarray, rng: np.random.Generator, bootstrap: int) -> dict:
    """Qini coefficient (with a bootstrap 95% interval over test customers), AUUC, uplift@10/30%."""
    from storelift.experiments.uplift_metrics import auuc, qini_coefficient, uplift_at_k

    y, t = test.outcome, test.treatment
    boots = []
    for _ in range(bootstrap):
        rows = rng.integers(0, len(y), len(y))
        boots.append(qini_coefficient(y[rows], pred[rows], t[rows]))
    low, high = np.percentile(boots, [2.5, 97.5]) if boots else (np.nan, np.nan)
    return {"qini_coefficient": qini_coefficient(y, pred, t), "qini_low": float(low), "qini_high": float(high),
            "auuc": auuc(y, pred, t), "uplift_at_10": uplift_at_k(y, pred, t, k=0.1),
            "uplift_at_30": uplift_at_k(y, pred, t, k=0.3), "mean_predicted": float(pred.mean())}


def random_baseline(test, rng: np.random.Generator, draws: int = 100) -> dict:
    """Qini coefficient of random targeting: mean and standard deviation over random scores."""
    from storelift.experiments.uplift_metrics import qini_coefficient

    values = [qini_coefficient(test.outcome, rng.random(len(test)), test.treatment) for _ in range(draws)]
    return {"qini_mean": float(np.mean(values)), "qini_sd": float(np.std(values))}


def fit_all(train, test, rng, bootstrap: int) -> tuple[dict, dict]:
    from threadpoolctl import threadpool_limits

    rows, preds = {}, {}
    for name, model in models().items():
        start = time.perf_counter()
        with threadpool_limits(1):  # every model on one thread: comparable fit times, no oversubscription
            preds[name] = model.fit(train.features, train.treatment, train.outcome).predict(test.features)
        rows[name] = {**score(test, preds[name], rng, bootstrap), "fit_predict_s": time.perf_counter() - start}
    return rows, preds


def hillstrom_section(path: Path, bootstrap: int, seed: int) -> tuple[dict, dict]:
    import pandas as pd

    from storelift.experiments.uplift_data import HILLSTROM_CONTROL, HILLSTROM_OUTCOMES, hillstrom_uplift_data
    from storelift.experiments.uplift_effects import arm_effects

    frame = pd.read_csv(path)
    effects = arm_effects(frame, "segment", HILLSTROM_CONTROL, list(HILLSTROM_OUTCOMES))
    print("\n### Hillstrom: average effect of each e-mail against no e-mail (all 64,000 customers)\n")
    print("| arm | outcome | treated mean | control mean | effect | 95% CI | statistic | method |")
    print("|---|---|---|---|---|---|---|---|")
    for r in effects.itertuples():
        pct = r.outcome != "spend"
        fmt = (lambda v: f"{v * 100:+.2f} pp") if pct else (lambda v: f"{v:+.3f} $")
        mean = (lambda v: f"{v * 100:.3f}%") if pct else (lambda v: f"${v:.4f}")
        print(f"| {r.arm} | {r.outcome} | {mean(r.mean_treated)} | {mean(r.mean_control)} | {fmt(r.effect)} | "
              f"{fmt(r.ci_low)} to {fmt(r.ci_high)} | {r.statistic:.1f} | {r.method} |")

    specs = {"womens_vs_none": (("Womens E-Mail",), 0.3, True),
             "mens_vs_none": (("Mens E-Mail",), 0.3, True),
             "any_vs_none": (("Mens E-Mail", "Womens E-Mail"), 0.3, True),
             "sklift_tutorial_split": (("Womens E-Mail",), 0.5, False)}
    results, peer_inputs = {}, {}
    for name, (arms, test_size, stratify) in specs.items():
        data = hillstrom_uplift_data(frame, treated_arms=arms, target="visit")
        train, test = data.split(test_size=test_size, seed=42, stratify=stratify)
        rng = np.random.default_rng(seed)
        rows, preds = fit_all(train, test, rng, bootstrap)
        observed = test.outcome[test.treatment == 1].mean() - test.outcome[test.treatment == 0].mean()
        results[name] = {"arms": list(arms), "target": "visit", "test_size": test_size, "stratified": stratify,
                         "seed": 42, "train": len(train), "test": len(test), "test_ate": float(observed),
                         "random": random_baseline(test, rng), "models": rows}
        peer_inputs[name] = (train, test, preds)
    return {"effects": json.loads(effects.to_json(orient="records")), "uplift": results}, peer_inputs


def print_uplift_table(title: str, result: dict, peer: dict | None) -> None:
    print(f"\n#### {title}\n")
    print(f"train {result['train']:,} / test {result['test']:,}; observed effect on the test set "
          f"{result['test_ate'] * 100:+.2f} pp; random targeting Qini coefficient "
          f"{result['random']['qini_mean']:+.4f} (sd {result['random']['qini_sd']:.4f} over 100 draws)\n")
    print("| model | Qini coefficient | 95% bootstrap | AUUC | uplift@10% | uplift@30% | mean predicted | fit s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in result["models"].items():
        print(f"| {name} | {r['qini_coefficient']:.4f} | {r['qini_low']:.4f} to {r['qini_high']:.4f} | "
              f"{r['auuc']:.4f} | {r['uplift_at_10'] * 100:+.2f} pp | {r['uplift_at_30'] * 100:+.2f} pp | "
              f"{r['mean_predicted'] * 100:+.2f} pp | {r['fit_predict_s']:.1f} |")
    for name, r in (peer or {}).items():
        if name.startswith("sklift"):
            print(f"| {name} | {r['qini_auc_score']:.4f} | - | {r['uplift_auc_score']:.4f} | - | "
                  f"{r['uplift_at_30'] * 100:+.2f} pp | - | {r['fit_s']:.1f} |")


def cross_check(ours: dict, peer: dict) -> dict:
    """Largest difference between storelift's metrics and scikit-uplift's on the same predictions."""
    pairs = {"qini_coefficient": "qini_auc_score", "auuc": "uplift_auc_score", "uplift_at_30": "uplift_at_30"}
    worst = {k: 0.0 for k in pairs}
    for split, result in ours.items():
        for model, mine in result["models"].items():
            theirs = peer[split][model]
            for k, v in pairs.items():
                worst[k] = max(worst[k], abs(mine[k] - theirs[v]))
    print(f"\nscikit-uplift {peer['_versions']['scikit-uplift']} metrics on storelift's predictions, largest "
          "absolute difference: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items()))
    return {"max_abs_difference": worst, "versions": peer["_versions"]}


def synthetic_section(customers: int, seed: int, bootstrap: int, value: float, cost: float) -> dict:
    import pandas as pd
    from scipy import stats

    from storelift.experiments.uplift import UpliftError
    from storelift.experiments.uplift_data import campaign_uplift_data
    from storelift.experiments.uplift_metrics import qini_coefficient
    from storelift.experiments.uplift_policy import evaluate_policy, targeting_policy
    from storelift.synth import generate_store

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate_store(Path(tmp), customers=customers, seed=seed, events=False)
        gen_s = time.perf_counter() - start
        read = lambda name: pd.read_parquet(Path(tmp) / name)  # noqa: E731
        campaign = json.loads((Path(tmp) / "ground_truth" / "truth.json").read_text())["campaign"]
        start = time.perf_counter()
        data = campaign_uplift_data(read("orders.parquet"), read("order_lines.parquet"), read("products.parquet"),
                                    read("ground_truth/customers.parquet"), campaign["sent_at"],
                                    campaign["window_days"])
        prep_s = time.perf_counter() - start
    train, test = data.split(test_size=0.3, seed=42)
    rng = np.random.default_rng(seed)
    rows, preds = fit_all(train, test, rng, bootstrap)
    truth = test.true_uplift
    for name, pred in preds.items():
        rows[name].update(pearson=float(np.corrcoef(pred, truth)[0, 1]),
                          spearman=float(stats.spearmanr(pred, truth).statistic))
    ceiling = qini_coefficient(test.outcome, truth, test.treatment)
    # not available in practice: a regression of the true uplift on the same features bounds what they can explain
    from lightgbm import LGBMRegressor
    oracle = LGBMRegressor(**{**LGBM, "n_estimators": 300, "num_leaves": 31}).fit(train.features, train.true_uplift)
    explained = oracle.predict(test.features)
    feature_bound = {"pearson": float(np.corrcoef(explained, truth)[0, 1]),
                     "spearman": float(stats.spearmanr(explained, truth).statistic),
                     "qini_coefficient": qini_coefficient(test.outcome, explained, test.treatment)}
    observed = test.outcome[test.treatment == 1].mean() - test.outcome[test.treatment == 0].mean()

    policies = {"treat everyone": np.ones(len(test), dtype=bool)}
    for name in ("S-learner (LightGBM)", "T-learner (LightGBM)", "X-learner (LightGBM)"):
        policies[f"{name} policy"] = targeting_policy(preds[name], value=value, cost=cost).treat.to_numpy()
    policies["true uplift (oracle) policy"] = targeting_policy(truth, value=value, cost=cost).treat.to_numpy()
    policy_rows = {}
    for name, treat in policies.items():
        try:
            measured = evaluate_policy(treat, test.outcome, test.treatment, value=value, cost=cost)
        except UpliftError as exc:  # a tiny store can leave a policy without two customers per arm
            print(f"policy {name!r} not measured: {exc}", file=sys.stderr)
            continue
        true_incremental = float(truth[treat].sum())
        policy_rows[name] = {**{k: float(v) for k, v in measured.items()}, "true_incremental_outcome": true_incremental,
                             "true_net_value": true_incremental * value - cost * int(treat.sum())}
    return {"customers": customers, "seed": seed, "generate_s": gen_s, "prepare_s": prep_s,
            "randomized_customers": len(data), "features": list(data.features.columns), "train": len(train),
            "test": len(test), "test_ate_observed": float(observed), "test_ate_true": float(truth.mean()),
            "true_uplift_qini_ceiling": ceiling, "feature_bound": feature_bound,
            "true_uplift_zero_share": float((data.true_uplift == 0).mean()), "outcome_rate": float(data.outcome.mean()),
            "random": random_baseline(test, rng), "models": rows,
            "policy": {"value_per_conversion": value, "cost_per_contact": cost, "policies": policy_rows}}


def print_synthetic(r: dict) -> None:
    print(f"\n### Synthetic store: {r['customers']:,} customers (seed {r['seed']}), "
          f"{r['randomized_customers']:,} in the randomized campaign\n")
    print(f"test {r['test']:,}; effect on conversion in the window: observed {r['test_ate_observed'] * 100:+.2f} pp, "
          f"true mean {r['test_ate_true'] * 100:+.2f} pp; Qini coefficient of the true uplift (ceiling) "
          f"{r['true_uplift_qini_ceiling']:.4f}; random {r['random']['qini_mean']:+.4f} "
          f"(sd {r['random']['qini_sd']:.4f}); conversion rate {r['outcome_rate'] * 100:.1f}%; "
          f"true uplift exactly 0 for {r['true_uplift_zero_share'] * 100:.0f}% "
          "(not alive at the send)\n")
    print("| model | Pearson with true uplift | Spearman | Qini coefficient | 95% bootstrap | share of ceiling | "
          "AUUC | mean predicted | fit s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, m in r["models"].items():
        print(f"| {name} | {m['pearson']:.3f} | {m['spearman']:.3f} | {m['qini_coefficient']:.4f} | "
              f"{m['qini_low']:.4f} to {m['qini_high']:.4f} | "
              f"{m['qini_coefficient'] / r['true_uplift_qini_ceiling']:.2f} | "
              f"{m['auuc']:.4f} | {m['mean_predicted'] * 100:+.2f} pp | {m['fit_predict_s']:.1f} |")
    b = r["feature_bound"]
    print(f"| regression of the true uplift on the features (bound, not a model) | {b['pearson']:.3f} | "
          f"{b['spearman']:.3f} | {b['qini_coefficient']:.4f} | - | "
          f"{b['qini_coefficient'] / r['true_uplift_qini_ceiling']:.2f} | - | - | - |")
    p = r["policy"]
    print(f"\nTargeting policy on the test set: value {p['value_per_conversion']:.2f} per incremental conversion, "
          f"cost {p['cost_per_contact']:.2f} per contact.\n")
    print("| policy | targeted | measured incremental conversions (95% CI) | true incremental | "
          "measured net value | true net value |")
    print("|---|---|---|---|---|---|")
    for name, q in p["policies"].items():
        print(f"| {name} | {int(q['targeted']):,} ({q['targeted_share'] * 100:.0f}%) | {q['incremental_outcome']:.1f} "
              f"({q['incremental_outcome_low']:.1f} to {q['incremental_outcome_high']:.1f}) | "
              f"{q['true_incremental_outcome']:.1f} | {q['net_value']:.0f} | {q['true_net_value']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, action="append", help="synthetic store size (repeatable; default 20000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for the Qini interval")
    ap.add_argument("--value", type=float, default=20.0, help="value of one incremental conversion (synthetic)")
    ap.add_argument("--cost", type=float, default=1.0, help="cost of one contact (synthetic)")
    ap.add_argument("--hillstrom", type=Path, default=Path(os.environ.get(
        "STORELIFT_SHARED_DATA", HERE.parent.parent / "shared" / "data")) / "hillstrom" / "hillstrom.csv")
    ap.add_argument("--peer", action="store_true", help="also run scikit-uplift from benchmarks/.venv-sklift")
    ap.add_argument("--setup-peer", action="store_true", help="create benchmarks/.venv-sklift and exit")
    ap.add_argument("--out", type=Path, default=HERE / "out" / "uplift.json")
    args = ap.parse_args()
    if args.setup_peer:
        setup_peer()
        return
    t0 = time.perf_counter()
    report: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "cpu_count": os.cpu_count()}
    if args.hillstrom.exists():
        report["hillstrom"], peer_inputs = hillstrom_section(args.hillstrom, args.bootstrap, args.seed)
        peer = run_peer(peer_inputs) if args.peer else None
        report["peer"] = peer
        titles = {"womens_vs_none": "Womens E-Mail vs No E-Mail, target visit, stratified 70/30, seed 42",
                  "mens_vs_none": "Mens E-Mail vs No E-Mail, target visit, stratified 70/30, seed 42",
                  "any_vs_none": "Any e-mail vs No E-Mail, target visit, stratified 70/30, seed 42",
                  "sklift_tutorial_split": "Womens E-Mail vs No E-Mail, target visit, scikit-uplift tutorial "
                                           "split (50/50, random_state 42; published uplift@30% "
                                           f"{PUBLISHED_SKLIFT_UPLIFT_AT_30})"}
        print("\n### Hillstrom uplift models")
        for name, title in titles.items():
            print_uplift_table(title, report["hillstrom"]["uplift"][name], (peer or {}).get(name))
        if peer:
            report["metric_cross_check"] = cross_check(report["hillstrom"]["uplift"], peer)
    else:
        print(f"Hillstrom skipped: {args.hillstrom} is absent", file=sys.stderr)
    report["synthetic"] = []
    for customers in args.customers or [20_000]:
        result = synthetic_section(customers, args.seed, args.bootstrap, args.value, args.cost)
        report["synthetic"].append(result)
        print_synthetic(result)
    report["wall_s"] = time.perf_counter() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=float) + "\n")
    print(f"\nRESULT bench_uplift wall_s={report['wall_s']:.1f} out={args.out}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--peer-worker":
        peer_worker(sys.argv[2], sys.argv[3])
    else:
        main()
