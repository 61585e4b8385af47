"""The data audit as a self-contained HTML page: what to fix, AI readiness, history and every check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .html import STATUS_COLORS, Report

STATUS_ORDER = ["fail", "warn", "pass", "n/a"]
READY_POINTS = {"yes": 2, "partly": 1, "no": 0}
LAYOUT = dict(template="plotly_white", margin=dict(l=10, r=10, t=48, b=10),
              font=dict(family="-apple-system, Segoe UI, Roboto, Arial, sans-serif", size=12),
              legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def monthly_figure(monthly: pd.DataFrame) -> go.Figure:
    """Orders (bars) and line revenue (line, right axis) per month."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=monthly["month"], y=monthly["orders"], name="orders", marker_color="#8fb8ed"),
                  secondary_y=False)
    fig.add_trace(go.Scatter(x=monthly["month"], y=monthly["revenue"], name="revenue", mode="lines+markers",
                             line=dict(color="#0969da", width=2)), secondary_y=True)
    fig.update_layout(title="Orders and revenue by month", **LAYOUT)
    fig.update_yaxes(title_text="orders", secondary_y=False)
    fig.update_yaxes(title_text="revenue (line amounts)", secondary_y=True, showgrid=False)
    return fig


def check_status_figure(checks: pd.DataFrame) -> go.Figure:
    """Checks per area, stacked by status."""
    counts = checks.groupby(["area", "status"]).size().unstack(fill_value=0)
    areas = [a for a in pd.unique(checks["area"])]
    fig = go.Figure()
    for status in STATUS_ORDER:
        if status in counts.columns:
            fig.add_trace(go.Bar(y=areas, x=[int(counts.loc[a, status]) for a in areas], name=status,
                                 orientation="h", marker_color=STATUS_COLORS[status]))
    fig.update_layout(title="Check results by area", barmode="stack", **LAYOUT)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="checks")
    return fig


def null_share_figure(checks: pd.DataFrame) -> go.Figure:
    """Missing-value share per table and column, coloured by status."""
    rows = checks[(checks["area"] == "completeness") & checks["check"].str.startswith("null_share:")].copy()
    rows["label"] = rows["table"] + "." + rows["check"].str.removeprefix("null_share:")
    rows = rows.sort_values(["table", "value"], ascending=[True, False])
    fig = go.Figure(go.Bar(
        y=rows["label"], x=rows["value"], orientation="h",
        marker_color=[STATUS_COLORS.get(s, "#6e7781") for s in rows["status"]],
        hovertext=rows["detail"], hoverinfo="text+x",
    ))
    fig.update_layout(title="Missing values per column (share of rows)", **LAYOUT)
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return fig


def readiness_figure(readiness: pd.DataFrame) -> go.Figure:
    """One bar per capability: long and green when ready, short and red when not."""
    points = readiness["ready"].map(READY_POINTS).fillna(0) + 1
    fig = go.Figure(go.Bar(
        y=readiness["capability"], x=points, orientation="h", text=readiness["ready"], textposition="inside",
        marker_color=[STATUS_COLORS.get(r, "#6e7781") for r in readiness["ready"]],
        hovertext=readiness["detail"], hoverinfo="text",
    ))
    fig.update_layout(title="AI readiness by capability", showlegend=False, **LAYOUT)
    fig.update_xaxes(tickvals=[1, 2, 3], ticktext=["no", "partly", "yes"], range=[0, 3.05])
    fig.update_yaxes(autorange="reversed")
    return fig


def consent_figure(checks: pd.DataFrame) -> go.Figure | None:
    """Share of customers with any consent record and, per purpose, currently granting it."""
    rows = checks[(checks["area"] == "consent") & checks["check"].str.startswith("consent_")]
    rows = rows[rows["status"] != "n/a"]
    if rows.empty:
        return None
    labels = ["any consent record" if c == "consent_coverage" else c.removeprefix("consent_granted:")
              for c in rows["check"]]
    fig = go.Figure(go.Bar(
        x=labels, y=rows["value"], marker_color=[STATUS_COLORS.get(s, "#6e7781") for s in rows["status"]],
        hovertext=rows["detail"], hoverinfo="text+y",
    ))
    fig.update_layout(title="Consent coverage per purpose (share of customers)", **LAYOUT)
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    return fig


def _summary_value(result, metric: str) -> float:
    summary = result.summary.set_index("metric")["value"]
    return float(summary.get(metric, float("nan")))


def audit_report(result, *, title: str = "Data audit: AI readiness", store_name: str | None = None) -> Report:
    """The Report for an AuditResult; add sections to it or call `.write(path)`."""
    as_of = f"{result.as_of:%Y-%m-%d %H:%M} UTC" if result.as_of is not None else "now"
    subtitle = f"{store_name + ' · ' if store_name else ''}audited as of {as_of}"
    report = Report(title, subtitle)
    v = lambda m: _summary_value(result, m)  # noqa: E731
    report.add_metrics([
        ("score", v("score"), "pass 1, warn 0.5, fail 0"),
        ("fail", v("fail"), "checks"),
        ("warn", v("warn"), "checks"),
        ("pass", v("pass"), "checks"),
        ("tables loaded", v("tables"), None),
        ("rows", v("rows"), None),
        ("months of orders", round(v("history_months"), 1), None),
    ])

    report.add_heading("What to fix first")
    issues = result.issues()
    if issues.empty:
        report.add_text("Every check that applies passed.")
    else:
        report.add_text(f"{len(issues)} checks did not pass; failures first. Each line says how to fix it.")
        report.add_table(issues[["status", "area", "table", "check", "detail"]])

    report.add_heading("AI readiness")
    report.add_text("Whether the data can feed each capability now (yes), with limits (partly), or not yet (no), "
                    "and what to load to get there.")
    report.add_figure(readiness_figure(result.readiness), height_px=60 + 32 * len(result.readiness))
    report.add_table(result.readiness)

    report.add_heading("Sales history")
    if result.monthly.empty:
        report.add_text("No orders are loaded yet, so there is no history to show.")
    else:
        report.add_figure(monthly_figure(result.monthly),
                          caption="Revenue sums line amounts without currency conversion.")
        report.add_table(result.monthly, max_rows=240)

    report.add_heading("Checks by area")
    report.add_figure(check_status_figure(result.checks), height_px=340)

    completeness = result.checks[result.checks["area"] == "completeness"]
    report.add_heading("Completeness")
    if completeness.empty:
        report.add_text("No table holds rows yet.")
    else:
        report.add_figure(null_share_figure(result.checks), height_px=80 + 22 * len(completeness))

    report.add_heading("Consent")
    fig = consent_figure(result.checks)
    if fig is None:
        report.add_text("No customers are loaded, so consent cannot be measured.")
    else:
        report.add_figure(fig, height_px=340)

    report.add_heading("All checks")
    for area in pd.unique(result.checks["area"]):
        report.add_heading(area, level=3)
        rows = result.checks[result.checks["area"] == area]
        report.add_table(rows[["status", "table", "check", "value", "detail"]])
    report.add_text("PII is " + ("kept raw by workspace configuration." if result.keep_raw_pii
                                 else "expected to be pseudonymized (psn_ prefix)."), muted=True)
    return report


def write_audit_report(result, path: str | Path, *, store_name: str | None = None) -> Path:
    """Write the audit report for `result` to `path` (one offline HTML file) and return the path."""
    return audit_report(result, store_name=store_name).write(path)
