"""Churn and spend models on real data: CDNOW and UCI Online Retail, calibration / holdout protocols.

    .venv/bin/python benchmarks/bench_churn.py [--scale-customers 1000000]

For each data set: ChurnModel vs the recency-only baseline (AUC, Brier, log loss, top-decile lift;
label = no purchase in the holdout), SpendModel vs the past run rate (Spearman with holdout spend),
and the BG/NBD + Gamma-Gamma ranking from storelift.customers.bgnbd when it is available.
Prints a markdown table and writes benchmarks/out/churn.json. --scale-customers also times
scoring a synthetic store of that size (features in DuckDB through Ibis, then LightGBM).

Cleaning (pandas, straight from ../shared/data, nothing copied):
- CDNOW: rows of a customer on one day are summed into one order (as Fader, Hardie & Lee do);
  value = dollar_value, no refunds.
- Online Retail: rows with a CustomerID only; line value = Quantity * UnitPrice; invoices are
  orders (time = the invoice's first line). Invoices starting with "C" are cancellations: they are
  not purchases (not in the model's orders) but count, negative, in the actual holdout spend.
  Purchase invoices whose lines sum to <= 0 are dropped. Invoice times (UK local) are read as UTC.
The papers' periods end on a calendar day inclusive; storelift's cutoffs are instants with the
cutoff excluded, so "calibration to 1997-09-30" is calibration_end = 1997-10-01 00:00.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from storelift.customers.churn import churn_metrics, evaluate_churn
from storelift.customers.spend import evaluate_spend

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "shared" / "data"
CDNOW = DATA / "cdnow" / "CDNOW_master.txt"
ONLINE_RETAIL = DATA / "online_retail" / "online_retail.parquet"


def cdnow_orders() -> tuple[pd.DataFrame, None]:
    master = pd.read_csv(CDNOW, sep=r"\s+", dtype={"customer_id": str, "date": str})
    daily = master.groupby(["customer_id", "date"], as_index=False).dollar_value.sum()
    orders = pd.DataFrame({
        "customer_id": daily.customer_id,
        "order_id": daily.customer_id + "-" + daily.date,
        "ordered_at": pd.to_datetime(daily.date, format="%Y%m%d"),
        "gross": daily.dollar_value.astype("float64"),
        "refunded": 0.0,
    })
    orders["value"] = orders.gross
    return orders, None


def online_retail_orders() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Purchase orders, and cancellations (customer_id, ordered_at, value < 0) for the net holdout spend."""
    raw = pd.read_parquet(ONLINE_RETAIL)
    raw = raw[raw.CustomerID.notna()].copy()
    raw["customer_id"] = raw.CustomerID.astype("int64").astype(str)
    raw["line_value"] = raw.Quantity * raw.UnitPrice
    invoices = raw.groupby("InvoiceNo", as_index=False).agg(
        customer_id=("customer_id", "first"), ordered_at=("InvoiceDate", "min"), value=("line_value", "sum"))
    invoices["ordered_at"] = invoices.ordered_at.astype("datetime64[us]")
    is_cancel = invoices.InvoiceNo.str.startswith("C")
    purchases = invoices[~is_cancel & (invoices.value > 0)]
    orders = pd.DataFrame({"customer_id": purchases.customer_id, "order_id": purchases.InvoiceNo,
                           "ordered_at": purchases.ordered_at, "gross": purchases.value, "refunded": 0.0,
                           "value": purchases.value}).reset_index(drop=True)
    return orders, invoices[is_cancel][["customer_id", "ordered_at", "value"]]


# -- BG/NBD + Gamma-Gamma hook ---------------------------------------------------------------
def score_bgnbd(orders_df: pd.DataFrame, calibration_end, holdout_end) -> pd.DataFrame | None:
    """BG/NBD + Gamma-Gamma ranking for the same protocol: customer_id, expected_purchases, expected_value.

    calibration_end / holdout_end are this benchmark's exclusive instants; the RFM summary takes
    inclusive days, hence the day before each. None when the CLV modules are not available.
    """
    try:
        from storelift.customers.bgnbd import BetaGeo
        from storelift.customers.clv_data import rfm_summary_frame
        from storelift.customers.gamma_gamma import GammaGamma
    except ImportError:
        return None
    last_cal = pd.Timestamp(calibration_end) - pd.Timedelta(days=1)
    last_hold = pd.Timestamp(holdout_end) - pd.Timedelta(days=1)
    summary = rfm_summary_frame(orders_df, last_cal.date(), last_hold.date(), time_unit_days=7.0)
    weeks = (last_hold - last_cal).days / 7.0
    bg, gg = BetaGeo().fit(summary), GammaGamma().fit(summary)
    purchases = bg.conditional_expected_purchases(summary, weeks).to_numpy()
    order_value = gg.conditional_expected_order_value(summary).to_numpy()
    return pd.DataFrame({"customer_id": summary.customer_id.to_numpy(), "expected_purchases": purchases,
                         "expected_value": purchases * order_value})


def holdout_truth(orders: pd.DataFrame, cancellations: pd.DataFrame | None, start, end) -> pd.DataFrame:
    """Per customer seen before start: churned (no purchase in [start, end)) and actual_value (net spend)."""
    seen = orders.loc[orders.ordered_at < start, "customer_id"].unique()
    frames = [orders] + ([cancellations] if cancellations is not None else [])
    spent = pd.concat([f[["customer_id", "ordered_at", "value"]] for f in frames])
    spent = spent[(spent.ordered_at >= start) & (spent.ordered_at < end)].groupby("customer_id").value.sum()
    bought = orders[(orders.ordered_at >= start) & (orders.ordered_at < end)].customer_id.unique()
    truth = pd.DataFrame({"customer_id": np.sort(seen)})
    truth["churned"] = ~truth.customer_id.isin(bought)
    truth["actual_value"] = truth.customer_id.map(spent).fillna(0.0)
    return truth


def run_protocol(name: str, orders: pd.DataFrame, cancellations, calibration_end: str, holdout_end: str) -> list[dict]:
    start, end = pd.Timestamp(calibration_end), pd.Timestamp(holdout_end)
    table = ibis.memtable(orders)
    truth = holdout_truth(orders, cancellations, start, end)
    rows = []
    began = time.perf_counter()
    churn = evaluate_churn(table, start, end)
    churn_s = time.perf_counter() - began
    began = time.perf_counter()
    spend = evaluate_spend(table, start, end, actual_value=truth[["customer_id", "actual_value"]])
    spend_s = time.perf_counter() - began
    spend_by = spend.set_index("scorer")  # seconds: both evaluations, baselines included, on the model row
    for r in churn.itertuples():
        paired = "spend_model" if r.scorer == "churn_model" else "past_run_rate"
        rows.append({"dataset": name, "scorer": f"{r.scorer} + {paired}", "customers": r.customers,
                     "churn_rate": r.churn_rate, "auc": r.auc, "brier": r.brier, "log_loss": r.log_loss,
                     "top_decile_lift": r.top_decile_lift, "spend_spearman": spend_by.loc[paired, "spearman"],
                     "training_horizon_days": r.training_horizon_days, "holdout_days": r.holdout_days,
                     "seconds": churn_s + spend_s if r.scorer == "churn_model" else np.nan, "note": r.note})
    try:
        began = time.perf_counter()
        bgnbd = score_bgnbd(orders, start, end)
        bg_s = time.perf_counter() - began
    except Exception as exc:  # the hook belongs to another model: report, do not stop the benchmark
        bgnbd, bg_s = None, 0.0
        print(f"{name}: BG/NBD hook failed: {exc}")
    if bgnbd is not None:
        joined = truth.merge(bgnbd, on="customer_id")
        ranked = churn_metrics(joined.churned, np.full(len(joined), joined.churned.mean()),
                               ranking=-joined.expected_purchases)
        rows.append({"dataset": name, "scorer": "bgnbd + gamma_gamma", "customers": len(joined),
                     "churn_rate": float(joined.churned.mean()), "auc": ranked["auc"], "brier": np.nan,
                     "log_loss": np.nan, "top_decile_lift": ranked["top_decile_lift"],
                     "spend_spearman": float(spearmanr(joined.expected_value, joined.actual_value).statistic),
                     "training_horizon_days": np.nan, "holdout_days": (end - start).days, "seconds": bg_s,
                     "note": "ranks by expected holdout purchases / value; no churn probability"})
    return rows


def time_scoring(customers: int) -> dict:
    """Fit on a synthetic store of `customers`, then time predict() (features + scores + reasons)."""
    from storelift.customers import customer_orders
    from storelift.customers.churn import ChurnModel
    from storelift.synth import generate_store

    folder = Path(tempfile.mkdtemp(prefix="storelift-bench-churn-"))
    generate_store(folder, customers=customers, seed=0, events=False)
    con = ibis.duckdb.connect()
    tables = [con.read_parquet(folder / f"{t}.parquet") for t in ("orders", "order_lines", "refunds")]
    orders = con.create_table("customer_orders", customer_orders(*tables))
    n_orders = int(orders.count().execute())
    began = time.perf_counter()
    model = ChurnModel().fit(orders, "2024-07-01")
    fit_s = time.perf_counter() - began
    began = time.perf_counter()
    scores = model.predict(orders, "2024-10-01")
    predict_s = time.perf_counter() - began
    return {"customers": customers, "orders": n_orders, "scored": len(scores), "fit_seconds": fit_s,
            "predict_seconds": predict_s, "folder": str(folder)}


def markdown(rows: list[dict]) -> str:
    cols = ["dataset", "scorer", "customers", "churn_rate", "auc", "brier", "log_loss", "top_decile_lift",
            "spend_spearman", "training_horizon_days", "holdout_days", "seconds"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [f"{r[c]:.3f}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    notes = sorted({f"{r['dataset']}: {r['note']}" for r in rows if r["note"]})
    return "\n".join(lines + [""] + notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale-customers", type=int, default=0, help="also time scoring a synthetic store this big")
    args = ap.parse_args()
    rows, result = [], {}
    if CDNOW.exists():
        orders, _ = cdnow_orders()
        rows += run_protocol("cdnow", orders, None, "1997-10-01", "1998-07-01")
    else:
        print(f"skipped CDNOW: {CDNOW} is absent")
    if ONLINE_RETAIL.exists():
        orders, cancellations = online_retail_orders()
        rows += run_protocol("online_retail", orders, cancellations, "2011-07-01", "2011-12-10")
    else:
        print(f"skipped Online Retail: {ONLINE_RETAIL} is absent")
    print(markdown(rows))
    result["protocols"] = rows
    if args.scale_customers:
        result["scale"] = time_scoring(args.scale_customers)
        print("\nscale:", json.dumps(result["scale"]))
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "churn.json").write_text(json.dumps(result, indent=2, default=float))


if __name__ == "__main__":
    main()
