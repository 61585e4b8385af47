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
    qini = targeting_curves(ws, truth_dir, campaign)
    mix_summary, curves = planted_marketing_mix()
    worst = (mix_summary["roas"] / mix_summary["true_roas"] - 1).abs().max()
    console.print(f"marketing-mix model on a planted 2-year series: ROAS within {worst:.0%} of the truth per channel")
    return write_measurement_report(ws.reports_dir / "measurement.html", readout, roi, campaign, attribution,
                                    cost=cost, store_name=ws.config.name, qini=qini, mix_summary=mix_summary,
                                    response_curves=curves)


def targeting_curves(ws: Workspace, truth_dir: Path, campaign: dict) -> pd.DataFrame:
    """Qini curves on half the campaign's customers: an S-learner fitted on the other half, and the
    planted per-customer uplift (the ceiling). Columns: ranking, share, qini, random."""
    from .experiments import SLearner, qini_curve
    from .experiments.uplift_data import campaign_uplift_data
    from .warehouse import fetch

    wh = ws.warehouse
    tables = {name: fetch(wh.table(name)) for name in ("orders", "order_lines", "products")}
    data = campaign_uplift_data(tables["orders"], tables["order_lines"], tables["products"],
                                pd.read_parquet(truth_dir / "customers.parquet"), campaign["start"],
                                float(campaign["window_days"]))
    train, test = data.split(0.5, seed=0)
    predicted = SLearner().fit(train.features, train.treatment, train.outcome).predict(test.features)
    return pd.concat([qini_curve(test.outcome, predicted, test.treatment).assign(ranking="S-learner"),
                      qini_curve(test.outcome, test.true_uplift, test.treatment).assign(ranking="planted uplift")],
                     ignore_index=True)


def planted_marketing_mix() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The marketing-mix model fitted on a seeded daily series with known channel effects: per channel
    fitted vs true ROAS, and the fitted response curves."""
    from .attribution import MarketingMixModel
    from .synth.marketing_mix import simulate_marketing_mix

    simulation = simulate_marketing_mix(days=730, seed=0)
    model = MarketingMixModel(n_starts=2).fit(simulation.daily)
    truth = simulation.truth[["channel", "roas"]].rename(columns={"roas": "true_roas"})
    summary = model.channel_summary()[["channel", "spend", "contribution", "roas", "marginal_roas"]].merge(
        truth, on="channel")
    return summary, model.response_curves()
