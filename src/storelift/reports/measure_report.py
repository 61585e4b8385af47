"""reports/measurement.html: an experiment readout with intervals, the measured ROI, and attribution
models side by side — the page a marketer forwards to finance."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from .audit_report import LAYOUT
from .html import Report


def lift_figure(readout: pd.DataFrame) -> go.Figure:
    """Relative lift per metric with its 95% interval (the interval is on the absolute lift, scaled by
    the control mean)."""
    rel = readout.assign(low=readout["lift_low"] / readout["control_mean"],
                         high=readout["lift_high"] / readout["control_mean"])
    fig = go.Figure(go.Scatter(
        x=rel["relative_lift"], y=rel["metric"], mode="markers", marker={"size": 12, "color": "#0969da"},
        error_x={"type": "data", "symmetric": False, "array": rel["high"] - rel["relative_lift"],
                 "arrayminus": rel["relative_lift"] - rel["low"]}))
    fig.add_vline(x=0, line_color="#8c959f", line_dash="dash")
    fig.update_layout(title="Lift of treatment over control, with 95% intervals", **LAYOUT)
    fig.update_xaxes(tickformat=".0%")
    return fig


def attribution_figure(attribution: pd.DataFrame) -> go.Figure:
    """Each model's share of conversions per channel, grouped by channel."""
    fig = go.Figure()
    for model, rows in attribution.groupby("model", sort=False):
        fig.add_trace(go.Bar(x=rows["channel"], y=rows["share"], name=str(model)))
    fig.update_layout(title="Share of conversions credited to each channel, by model", barmode="group", **LAYOUT)
    fig.update_yaxes(tickformat=".0%")
    return fig


def qini_figure(qini: pd.DataFrame) -> go.Figure:
    """Incremental conversions against the share of customers targeted, per ranking, beside random."""
    fig = go.Figure()
    for ranking, rows in qini.groupby("ranking", sort=False):
        fig.add_trace(go.Scatter(x=rows["share"], y=rows["qini"], mode="lines", name=str(ranking)))
    first = qini[qini["ranking"] == qini["ranking"].iat[0]]
    fig.add_trace(go.Scatter(x=first["share"], y=first["random"], mode="lines", name="random",
                             line={"dash": "dash", "color": "#8c959f"}))
    fig.update_layout(title="Qini curve: extra conversions by share of customers targeted", **LAYOUT)
    fig.update_xaxes(tickformat=".0%")
    return fig


def response_figure(curves: pd.DataFrame) -> go.Figure:
    """Each channel's revenue contribution as its spend is scaled (1 = the current spend)."""
    fig = go.Figure()
    for channel, rows in curves.groupby("channel", sort=False):
        fig.add_trace(go.Scatter(x=rows["spend_multiplier"], y=rows["contribution"], mode="lines", name=str(channel)))
    fig.add_vline(x=1, line_color="#8c959f", line_dash="dash")
    fig.update_layout(title="Response curves: contribution as spend is scaled", **LAYOUT)
    fig.update_xaxes(title="spend / current spend")
    return fig


def write_measurement_report(path: Path, readout: pd.DataFrame, roi: pd.DataFrame, campaign: dict,
                             attribution: pd.DataFrame, *, cost: float, store_name: str,
                             qini: pd.DataFrame | None = None, mix_summary: pd.DataFrame | None = None,
                             response_curves: pd.DataFrame | None = None) -> Path:
    """readout: measure.treatment_readout rows; roi: measure.roi_readout; campaign: name, start, end,
    true_effect (None when unknown); attribution: attribution.compare_attribution; qini:
    experiments.qini_curve rows with a ranking column; mix_summary / response_curves: a fitted
    MarketingMixModel's channel summary (with true_roas when known) and response curves."""
    report = Report(f"{store_name}: proof of lift", "Randomized campaign readout, ROI and attribution")
    report.add_heading("Campaign readout")
    conv = readout.set_index("metric").loc["converted"]
    r = roi.iloc[0]
    report.add_metrics([
        ("conversion lift", f"{conv['lift']:+.2%}", f"95% CI {conv['lift_low']:+.2%} to {conv['lift_high']:+.2%}"),
        ("ROI", f"{r['roi']:.0%}", f"95% CI {r['roi_low']:.0%} to {r['roi_high']:.0%}"),
        ("incremental margin", f"{r['incremental_profit']:,.0f}", f"on a cost of {cost:,.0f}"),
    ])
    truth = campaign.get("true_effect")
    report.add_text(
        f"Campaign {campaign.get('name', '')}: orders from {campaign['start']:%Y-%m-%d %H:%M} to "
        f"{campaign['end']:%Y-%m-%d %H:%M} UTC; customers randomized to treatment (e-mailed) or control. "
        + (f"The synthetic store's planted effect on conversion is {truth:+.2%}." if truth is not None else ""),
        muted=True)
    report.add_figure(lift_figure(readout), height_px=320)
    report.add_table(readout, caption="Per customer: treatment minus control, Welch 95% intervals; incremental "
                                      "totals are the lift times the treated customers.")
    report.add_heading("Return on investment")
    report.add_table(roi, caption="ROI = (incremental margin - cost) / cost, with the interval of the margin lift.")
    report.add_heading("Attribution")
    report.add_text("Rule-based models split each conversion by position or time; Markov credits a channel by "
                    "the conversions lost when it is removed; Shapley by its average marginal contribution "
                    "to conversion rates, against customers no channel reached.", muted=True)
    report.add_figure(attribution_figure(attribution), height_px=400)
    report.add_table(attribution, caption="Every model on the same click paths (30-day lookback).")
    if qini is not None:
        report.add_heading("Who to target")
        report.add_text("An uplift model ranks customers by how much the e-mail changes their chance to buy; "
                        "the Qini curve counts the extra conversions as more of the ranked list is targeted, "
                        "measured on customers the model did not see.", muted=True)
        report.add_figure(qini_figure(qini), height_px=380)
    if mix_summary is not None and response_curves is not None:
        report.add_heading("Marketing mix")
        report.add_text("Geometric adstock and Hill saturation per channel, fitted on a two-year daily series "
                        "whose channel effects are planted, so the fitted ROAS can be checked against the truth.",
                        muted=True)
        report.add_table(mix_summary, caption="Fitted vs true return on ad spend per channel.")
        report.add_figure(response_figure(response_curves), height_px=400)
    return report.write(path)
