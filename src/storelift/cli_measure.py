"""The demo's proof step: the synthetic store's randomized e-mail campaign read out against its control
group, its ROI with an interval, and every attribution model on the store's touchpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .cli_common import console
from .workspace import Workspace

SEND_COST = 0.002  # the synthetic store's cost of one e-mail send (storelift.synth.touches)
DEMO_FIXED_COST = 500.0  # stated assumption for the demo's ROI: set-up and people for one campaign


def campaign_outcomes(ws: Workspace, truth_dir: Path) -> tuple[pd.DataFrame, dict]:
    """Per eligible customer: arm (treatment/control from the store's randomization), converted, orders,
    revenue and margin inside the campaign window; and the campaign's truth (send time, window, effect)."""
    import ibis

    from .measure import window_outcomes
    from .warehouse import fetch

    truth = json.loads((truth_dir / "truth.json").read_text())
    campaign = truth["campaign"]
    customers = pd.read_parquet(truth_dir / "customers.parquet",
                                columns=["customer_id", "is_campaign_eligible", "treatment_arm"])
    arms = customers[customers["is_campaign_eligible"]][["customer_id", "treatment_arm"]] \
        .rename(columns={"treatment_arm": "arm"})
    start = pd.Timestamp(campaign["sent_at"]).tz_localize(None)
    end = start + pd.Timedelta(days=float(campaign["window_days"]))
    wh = ws.warehouse
    outcomes = fetch(window_outcomes(ibis.memtable(arms), wh.table("orders"), wh.table("order_lines"), start, end,
                                     wh.table("products")))
    return outcomes, {**campaign, "true_effect": truth["realized"]["average_treatment_effect_on_conversion"],
                      "start": start, "end": end}


def demo_measurement(ws: Workspace, truth_dir: Path) -> Path:
    """Read out the campaign, its ROI and the attribution models; print them and write reports/measurement.html."""
    from .attribution import compare_attribution, conversions_from_orders, touch_paths
    from .measure import roi_readout, treatment_readout
    from .reports.measure_report import write_measurement_report
    from .warehouse import fetch

    outcomes, campaign = campaign_outcomes(ws, truth_dir)
    readout = treatment_readout(outcomes, ["converted", "revenue", "margin"], treatment="treatment", control="control")
    sends = int((outcomes["arm"] == "treatment").sum())
    cost = DEMO_FIXED_COST + sends * SEND_COST
    roi = roi_readout(outcomes, cost, "margin", treatment="treatment", control="control")
    conv = readout.set_index("metric").loc["converted"]
    console.print(f"e-mail campaign, {sends:,} treated vs {int(conv['control_units']):,} control: conversion lift "
                  f"{conv['lift']:+.2%} (95% CI {conv['lift_low']:+.2%} to {conv['lift_high']:+.2%}); "
                  f"planted effect {campaign['true_effect']:+.2%}")
    r = roi.iloc[0]
    console.print(f"incremental margin {r['incremental_profit']:,.0f} (95% CI {r['incremental_profit_low']:,.0f} to "
                  f"{r['incremental_profit_high']:,.0f}) on a cost of {cost:,.0f}: ROI {r['roi']:.0%} "
                  f"({r['roi_low']:.0%} to {r['roi_high']:.0%})")
    wh = ws.warehouse
    customers = wh.table("customers").select("customer_id")
    paths = fetch(touch_paths(wh.table("touches"), conversions_from_orders(wh.table("orders"), wh.table("order_lines")),
                              kinds=("click",), customers=customers))
    attribution = compare_attribution(paths)
    return write_measurement_report(ws.reports_dir / "measurement.html", readout, roi, campaign, attribution,
                                    cost=cost, store_name=ws.config.name)
