"""Customer intelligence as report sections: RFM grid, Pareto curve, cohorts, CLV and churn risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .audit_report import LAYOUT
from .html import Report

RISK_COLUMNS = ["customer_id", "rfm_segment", "recency_days", "frequency", "monetary", "clv",
                "churn_probability", "value_at_risk", "next_purchase_days", "churn_reasons"]


def rfm_heatmap(scores: pd.DataFrame) -> go.Figure:
    """Customers in each recency x frequency cell, coloured by mean spend; hover shows both."""
    cells = scores["rfm_cell"].str.split("-", expand=True).astype(int)
    grid = (scores.assign(R=cells[0], F=cells[1])
            .groupby(["F", "R"]).agg(customers=("customer_id", "size"), monetary=("monetary", "mean"))
            .reset_index())
    spend = grid.pivot(index="F", columns="R", values="monetary").reindex(index=range(1, 6), columns=range(1, 6))
    count = grid.pivot(index="F", columns="R", values="customers").reindex(index=range(1, 6), columns=range(1, 6))
    text = count.fillna(0).astype(int).astype(str).to_numpy()
    fig = go.Figure(go.Heatmap(
        z=spend.to_numpy(), x=[f"R{r}" for r in spend.columns], y=[f"F{f}" for f in spend.index],
        text=text, texttemplate="%{text}", colorscale="Blues", colorbar=dict(title="mean spend"),
        hovertemplate="%{x} %{y}<br>customers %{text}<br>mean spend %{z:,.2f}<extra></extra>",
    ))
    fig.update_layout(title="RFM grid: customers per recency x frequency cell (5 = best), colour = mean spend",
                      **LAYOUT)
    return fig


def pareto_figure(pareto: pd.DataFrame, top20: float) -> go.Figure:
    """Cumulative revenue share against customer share, best customers first."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=pareto["customer_share"], y=pareto["revenue_share"], mode="lines",
                             name="customers", line=dict(color="#0969da", width=3)))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="equal spend",
                             line=dict(color="#8c959f", dash="dot")))
    fig.add_trace(go.Scatter(x=[0.2], y=[top20], mode="markers+text", text=[f"top 20%: {top20:.0%}"],
                             textposition="bottom right", marker=dict(size=10, color="#cf222e"), showlegend=False))
    fig.update_layout(title="Pareto: share of revenue from the best customers", **LAYOUT)
    fig.update_xaxes(title_text="share of customers (best first)", tickformat=".0%")
    fig.update_yaxes(title_text="share of revenue", tickformat=".0%")
    return fig


def cohort_heatmap(matrix: pd.DataFrame, title: str, fmt: str = ".0%") -> go.Figure:
    """A cohort x period matrix as a heatmap (one row per acquisition month)."""
    labels = [f"{pd.Timestamp(c):%Y-%m}" if not isinstance(c, str) else c for c in matrix.index]
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(dtype=float), x=[str(c) for c in matrix.columns], y=labels, colorscale="Greens",
        hovertemplate="cohort %{y}, period %{x}: %{z:" + fmt + "}<extra></extra>",
    ))
    fig.update_layout(title=title, **LAYOUT)
    fig.update_xaxes(title_text="months since first order")
    fig.update_yaxes(autorange="reversed", title_text="first-order month")
    return fig


def clv_figure(scores: pd.DataFrame) -> go.Figure:
    """Distribution of predicted CLV, with the mean interval width in the title."""
    clv = scores["clv"].dropna()
    cap = float(np.quantile(clv, 0.99)) if len(clv) else 0.0
    fig = go.Figure(go.Histogram(x=clv.clip(upper=cap), nbinsx=60, marker_color="#8250df"))
    width = float((scores["clv_high"] - scores["clv_low"]).mean())
    fig.update_layout(title=f"Predicted lifetime value (capped at the 99th percentile, {cap:,.0f}); "
                            f"mean interval width {width:,.2f}", showlegend=False, **LAYOUT)
    fig.update_xaxes(title_text="discounted CLV")
    fig.update_yaxes(title_text="customers")
    return fig


def importance_figure(importance: pd.DataFrame) -> go.Figure:
    """Global churn-model importance: mean absolute contribution per feature (feature, description,
    mean_abs_contribution)."""
    top = importance.sort_values("mean_abs_contribution").tail(12)
    fig = go.Figure(go.Bar(x=top["mean_abs_contribution"], y=top["description"], orientation="h",
                           marker_color="#bf8700", hovertext=top["feature"]))
    fig.update_layout(title="What drives churn risk (mean |contribution|, log-odds)", **LAYOUT)
    return fig


def churn_risk_list(scores: pd.DataFrame, n: int = 25) -> pd.DataFrame:
    """The customers most worth saving: highest churn probability x predicted CLV."""
    risk = scores.dropna(subset=["churn_probability"]).copy()
    if risk.empty:
        return risk.reindex(columns=RISK_COLUMNS)
    clv = risk["clv"].fillna(risk["monetary"])
    risk["value_at_risk"] = risk["churn_probability"] * clv
    return risk.sort_values("value_at_risk", ascending=False).head(n)[RISK_COLUMNS]


def _param_table(model) -> pd.DataFrame | None:
    """Fitted parameters with standard errors when the model offers them."""
    params = getattr(model, "params_", None)
    if params is None:
        return None
    frame = pd.DataFrame({"parameter": params.index, "estimate": params.to_numpy()})
    se = getattr(model, "standard_errors_", None)
    if se is not None:
        frame["std_error"] = pd.Series(se).reindex(params.index).to_numpy()
    return frame


def add_customer_sections(report: Report, result) -> Report:
    """Append the customer-intelligence sections for a `CustomerScores` result to `report`."""
    scores = result.scores
    report.add_heading("Customers")
    report.add_metrics([
        ("customers scored", len(scores), f"as of {result.as_of:%Y-%m-%d}"),
        ("top 20% revenue share", f"{result.top20_share:.0%}", "Pareto"),
        ("mean CLV", f"{scores['clv'].mean():,.2f}" if scores["clv"].notna().any() else "n/a", "discounted"),
        ("mean churn risk", f"{scores['churn_probability'].mean():.0%}" if scores["churn_probability"].notna().any()
         else "n/a", "calibrated probability"),
    ])
    report.add_text(f"Model version {result.model_version}. " + " ".join(result.notes), muted=True)

    report.add_heading("RFM segments", level=3)
    report.add_figure(rfm_heatmap(scores), height_px=420)
    report.add_table(result.segments, caption="Named segments: who is in each and what they spend.")
    report.add_figure(pareto_figure(result.pareto, result.top20_share), height_px=380)

    report.add_heading("Behavioural clusters", level=3)
    report.add_table(result.clusters.profiles_, caption="Each cluster and what sets it apart from the average customer.")

    report.add_heading("Cohorts", level=3)
    from ..customers.cohorts import retention_matrix

    if not result.cohorts.empty:
        report.add_figure(cohort_heatmap(retention_matrix(result.cohorts, "retention"),
                                         "Retention: share of each cohort ordering in each month"), height_px=460)

    report.add_heading("Lifetime value", level=3)
    if result.bgnbd is None:
        report.add_text("Lifetime value was not fitted: " + "; ".join(n for n in result.notes if "lifetime" in n))
    else:
        report.add_figure(clv_figure(scores), height_px=360)
        for name, model in (("BG/NBD (purchases and dropout)", result.bgnbd), ("Gamma-Gamma (order value)",
                                                                                result.gamma_gamma)):
            table = _param_table(model)
            if table is not None:
                report.add_table(table, caption=name)

    report.add_heading("Churn risk", level=3)
    if result.churn is None:
        report.add_text("The churn model was not fitted: " + "; ".join(n for n in result.notes if "churn" in n))
    else:
        importance = getattr(result.churn, "feature_importance_", None)
        if importance is not None:
            report.add_figure(importance_figure(importance), height_px=420)
        report.add_table(churn_risk_list(scores), caption="Customers most worth a win-back: churn probability x CLV, "
                                                          "with the reasons behind each score.")
    return report


def write_customer_report(result, path, *, store_name: str | None = None):
    """A stand-alone customer report for `result`, written to `path`."""
    subtitle = f"{store_name + ' · ' if store_name else ''}as of {result.as_of:%Y-%m-%d}"
    return add_customer_sections(Report("Customer intelligence", subtitle), result).write(path)
