"""Recommendations as report sections: offline evaluation, sample lists with reasons, exposure balance."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .audit_report import LAYOUT
from .html import Report


def evaluation_figure(results: pd.DataFrame) -> go.Figure:
    """HIT@10 and NDCG@10 per model on the held-out items."""
    fig = go.Figure()
    for metric, colour in (("HIT@10", "#0969da"), ("NDCG@10", "#1a7f37")):
        fig.add_trace(go.Bar(x=results["model"], y=results[metric], name=metric, marker_color=colour,
                             text=[f"{v:.3f}" for v in results[metric]], textposition="outside"))
    fig.update_layout(title="Held-out next item: how often it is in the top 10 (HIT) and how high (NDCG)",
                      barmode="group", **LAYOUT)
    return fig


def exposure_figure(exposure: pd.DataFrame, by: str) -> go.Figure:
    """Share of recommended slots beside share of the catalog, per vendor / brand / category."""
    top = exposure.head(15)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=top[by], y=top["exposure_share"], name="share of recommendations", marker_color="#0969da"))
    fig.add_trace(go.Bar(x=top[by], y=top["catalog_share"], name="share of catalog", marker_color="#8c959f"))
    fig.update_layout(title=f"Exposure by {by}: recommendations vs catalog", barmode="group", **LAYOUT)
    fig.update_yaxes(tickformat=".0%")
    return fig


def add_recommendation_sections(report: Report, evaluation: pd.DataFrame, samples: dict[str, pd.DataFrame],
                                exposure: pd.DataFrame | None, model_version: str, by: str = "category") -> Report:
    """evaluation: one row per model (storelift.recommend.evaluate); samples: customer id -> the
    Personalizer's list; exposure: rules.exposure_share over the sample lists."""
    report.add_heading("Recommendations")
    best = evaluation.sort_values("NDCG@10", ascending=False).iloc[0]
    report.add_metrics([
        ("best model", str(best["model"]), "held-out NDCG@10"),
        ("NDCG@10", f"{best['NDCG@10']:.3f}", f"{int(best['n_users']):,} customers"),
        ("HIT@10", f"{best['HIT@10']:.1%}", "next item in the top 10"),
    ])
    report.add_text(f"Model version {model_version}. Leave-one-out: each customer's last new item is held out "
                    "and every item in the catalog is ranked (no sampled negatives).", muted=True)
    report.add_figure(evaluation_figure(evaluation), height_px=380)
    columns = [c for c in ("model", "n_users", "HIT@5", "NDCG@5", "HIT@10", "NDCG@10", "HIT@20", "NDCG@20", "MRR",
                           "fit_s") if c in evaluation.columns]
    report.add_table(evaluation[columns], caption="Every model on the same held-out items.")
    report.add_heading("Sample lists", level=3)
    for customer, recs in samples.items():
        shown = recs[["rank", "item_id", "title", "reason", "personalized"]] if "title" in recs.columns else recs
        report.add_table(shown, caption=f"Customer {customer}")
    if exposure is not None and not exposure.empty:
        report.add_heading("Exposure balance", level=3)
        report.add_figure(exposure_figure(exposure, by), height_px=380)
    return report


def write_recommendation_report(path, evaluation, samples, exposure, model_version, *, store_name=None, by="category"):
    """A stand-alone recommendations report, written to `path`."""
    report = Report("Recommendations", store_name)
    return add_recommendation_sections(report, evaluation, samples, exposure, model_version, by).write(path)
