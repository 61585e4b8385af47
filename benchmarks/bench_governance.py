"""Governance alarm rates: fairness audits on synthetic stores with and without a planted bias, and
drift alarms on stable and shifted customer features.

    .venv/bin/python benchmarks/bench_governance.py [--customers 2000] [--clean-seeds 40] [--biased-seeds 20]
        [--share 0.7] [--first-seed 1000] [--drift-seeds 200]

For each seed a synthetic store is generated; the propensity audience (top 30% by the churn model's
purchase propensity over 90 days) is audited per gender and age band (80% rule, flagged only when
also significant at alpha 0.01 split over each attribute's groups). Clean stores measure the
false-alarm rate (any group flagged); stores where `share` of the female customers' orders were
recorded without their customer id measure the detection rate and how far threshold mitigation
lowers the disparity (demographic parity difference after / before).

Drift: per seed, two samples of 5,000 customers' features (lognormal spend, exponential recency,
Poisson orders, a beta churn score) from the same distributions (stable: any alert is a false
alarm) and with spend shifted by +0.25 in log and recency stretched by 1.3 (planted: detected when
exactly those two features alert). Prints markdown tables and writes benchmarks/out/governance.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from storelift.governance import alarm_rates, drift_report, retrain_needed
from storelift.synth import PlantedBias

OUT = Path(__file__).resolve().parent / "out" / "governance.json"


def wilson_upper(successes: int, n: int, z: float = 1.96) -> float:
    """Upper end of the Wilson 95% interval for a rate."""
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float((centre + spread) / (1 + z * z / n))


def feature_sample(rng, n=5_000, spend_shift=0.0, recency_scale=1.0) -> pd.DataFrame:
    return pd.DataFrame({"spend": rng.lognormal(3.0 + spend_shift, 0.8, n),
                         "recency_days": rng.exponential(60 * recency_scale, n),
                         "orders": rng.poisson(3, n).astype(float), "churn_score": rng.beta(2, 5, n)})


def drift_rates(seeds: int) -> dict:
    """False alarms on stable samples and exact detections of a planted shift, over `seeds` seeds."""
    false_alarms = detected = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        false_alarms += bool(retrain_needed(drift_report(feature_sample(rng), feature_sample(rng))))
        rng = np.random.default_rng(10_000 + seed)
        report = drift_report(feature_sample(rng), feature_sample(rng, spend_shift=0.25, recency_scale=1.3)).set_index("feature")
        detected += set(report.index[report["alert"]]) == {"spend", "recency_days"}
    return {"seeds": seeds, "false_alarms": false_alarms, "false_alarm_rate": false_alarms / seeds,
            "false_alarm_upper_95": wilson_upper(false_alarms, seeds), "detected": detected,
            "detection_rate": detected / seeds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--clean-seeds", type=int, default=40)
    parser.add_argument("--biased-seeds", type=int, default=20)
    parser.add_argument("--share", type=float, default=0.7)
    parser.add_argument("--first-seed", type=int, default=1_000)
    parser.add_argument("--drift-seeds", type=int, default=200)
    args = parser.parse_args()

    drift = drift_rates(args.drift_seeds)
    print(f"| drift | seeds | alerts | rate | 95% upper |\n|---|---|---|---|---|\n"
          f"| stable | {drift['seeds']} | {drift['false_alarms']} | {drift['false_alarm_rate']:.3f} | "
          f"{drift['false_alarm_upper_95']:.3f} |\n"
          f"| planted (exactly the two shifted features) | {drift['seeds']} | {drift['detected']} | "
          f"{drift['detection_rate']:.3f} | |\n")

    started = time.perf_counter()
    clean = alarm_rates(range(args.first_seed, args.first_seed + args.clean_seeds), customers=args.customers)
    biased = alarm_rates(range(args.first_seed, args.first_seed + args.biased_seeds), customers=args.customers,
                         planted_bias=PlantedBias("female", "gender", args.share))
    seconds = time.perf_counter() - started

    alarms = int(clean["has_alarm"].sum())
    detected = int(biased["is_planted_group_flagged"].sum())
    ratio = (biased["demographic_parity_difference_after"] / biased["demographic_parity_difference_before"])
    results = {
        "machine": f"{platform.node()} {platform.processor() or platform.machine()}, python {platform.python_version()}",
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "customers": args.customers, "share": args.share, "seconds": round(seconds, 1), "drift": drift,
        "clean": {"seeds": len(clean), "alarms": alarms, "rate": alarms / len(clean),
                  "rate_upper_95": wilson_upper(alarms, len(clean))},
        "biased": {"seeds": len(biased), "detected": detected, "rate": detected / len(biased),
                   "planted_disparate_impact_median": float(biased["planted_disparate_impact"].median()),
                   "parity_after_over_before_median": float(ratio.median()),
                   "parity_after_over_before_max": float(ratio.max())},
        "per_seed_biased": json.loads(biased.to_json(orient="records")),
        "per_seed_clean": json.loads(clean.to_json(orient="records")),
    }
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    print(f"| stores | seeds | flagged | rate | 95% upper |\n|---|---|---|---|---|\n"
          f"| clean | {len(clean)} | {alarms} | {alarms / len(clean):.3f} | {wilson_upper(alarms, len(clean)):.3f} |\n"
          f"| female orders {args.share:.0%} unlinked | {len(biased)} | {detected} | {detected / len(biased):.3f} | |")
    print(f"\nplanted group's disparate impact: median {biased['planted_disparate_impact'].median():.2f}; "
          f"demographic parity difference after / before mitigation: median {ratio.median():.2f}, "
          f"worst {ratio.max():.2f}; {seconds:.0f} s")

if __name__ == "__main__":
    main()
