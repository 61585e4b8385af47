"""Fit lifetimes' BetaGeoFitter on a parquet of frequency, recency, T and print params and fit time as JSON.

Runs under benchmarks/.venv-lifetimes (lifetimes 0.11.3 cannot share storelift's environment):
    benchmarks/.venv-lifetimes/bin/python benchmarks/lifetimes_peer.py RFM.parquet [--penalty 0.0]
"""

import argparse
import json
import time

import pandas as pd
from lifetimes import BetaGeoFitter

ap = argparse.ArgumentParser()
ap.add_argument("rfm")
ap.add_argument("--penalty", type=float, default=0.0)
args = ap.parse_args()
rfm = pd.read_parquet(args.rfm)
start = time.perf_counter()
model = BetaGeoFitter(penalizer_coef=args.penalty).fit(rfm["frequency"], rfm["recency"], rfm["T"])
seconds = time.perf_counter() - start
print(json.dumps({"params": {k: float(v) for k, v in model.params_.items()}, "fit_seconds": seconds}))
