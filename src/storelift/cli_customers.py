"""`storelift customers ...`: score, segment and value customers from the workspace's orders."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.table import Table

from .cli_common import WorkspaceArg, console, err, fail
from .errors import StoreliftError
from .workspace import Workspace

app = typer.Typer(help="Customer intelligence: RFM segments, clusters, lifetime value and churn risk.",
                  no_args_is_help=True)


def workspace_orders(ws: Workspace, refunds_before=None):
    """Identified customers' orders with net value (refunds made before `refunds_before` only, when given)."""
    from .customers import customer_orders

    wh = ws.warehouse
    return customer_orders(wh.table("orders"), wh.table("order_lines"), wh.table("refunds"), refunds_before)


def resolve_as_of(orders, as_of: str | None) -> pd.Timestamp:
    """The --as-of option, or the day after the last order."""
    from .customers.rfm import as_of_default

    if as_of is None:
        return pd.Timestamp(as_of_default(orders))
    try:
        return pd.Timestamp(as_of)
    except ValueError as exc:
        raise StoreliftError(f"--as-of {as_of!r} is not a date; pass YYYY-MM-DD") from exc


def run_scoring(ws: Workspace, as_of: str | None = None, **kw):
    """Score every customer, write customer_scores, save the models and the HTML report."""
    from .artifacts import CUSTOMER_SCORES_SNAPSHOT, save_models
    from .customers.scoring import score_customers
    from .governance import append_audit, local_actor
    from .reports.customers_report import write_customer_report

    when = resolve_as_of(workspace_orders(ws), as_of)
    orders = workspace_orders(ws, refunds_before=when)
    with console.status("scoring customers") as status:
        result = score_customers(orders, when, progress=lambda stage: status.update(f"scoring customers: {stage}"),
                                 **kw)
        status.update("writing customer_scores")
        ws.warehouse.ensure_tables()
        ws.warehouse.insert("customer_scores", result.scores)
        folder = save_models(ws.models_dir, result.model_version, result.models(),
                             meta={"as_of": str(result.as_of), "customers": len(result.scores), "notes": result.notes,
                                   "seconds": result.seconds})
        # the snapshot the HTTP service reads (GET /v1/customers/{id}) without opening the warehouse
        result.scores.to_parquet(folder / CUSTOMER_SCORES_SNAPSHOT, index=False)
        append_audit(ws, local_actor(), "customers.scored", result.model_version,
                     {"customers": len(result.scores), "as_of": str(result.as_of), "folder": folder.name})
        path = write_customer_report(result, ws.reports_dir / "customers.html", store_name=ws.config.name)
    return result, folder, path


def print_segments(segments: pd.DataFrame) -> None:
    table = Table(title="RFM segments")
    cols = [c for c in ("segment", "customers", "share", "revenue", "revenue_share") if c in segments.columns]
    for col in cols:
        table.add_column(col, justify="left" if col == "segment" else "right")
    for _, r in segments.iterrows():
        table.add_row(*[f"{r[c]:.1%}" if c.endswith("share") else f"{r[c]:,.0f}" if c != "segment" else str(r[c])
                        for c in cols])
    console.print(table)


def print_risk(scores: pd.DataFrame, n: int) -> None:
    from .reports.customers_report import churn_risk_list

    risk = churn_risk_list(scores, n)
    if risk.empty:
        return
    table = Table(title=f"top {n} customers to win back (churn probability x CLV)")
    for col in ("customer", "segment", "churn", "CLV", "why"):
        table.add_column(col, overflow="fold")
    for _, r in risk.iterrows():
        table.add_row(str(r["customer_id"]), str(r["rfm_segment"]), f"{r['churn_probability']:.0%}",
                      f"{r['clv']:,.2f}" if pd.notna(r["clv"]) else "-", str(r["churn_reasons"] or ""))
    console.print(table)


@app.command()
def score(
    workspace: Path = WorkspaceArg,
    as_of: Optional[str] = typer.Option(None, help="Score with orders before this date; default the day after the last order."),
    horizon_months: int = typer.Option(12, help="CLV horizon in months."),
    discount: float = typer.Option(0.01, help="Monthly discount rate for CLV."),
    churn_days: int = typer.Option(90, help="Churn means no order within this many days."),
    top: int = typer.Option(10, help="How many at-risk customers to list."),
    explain: int = typer.Option(20_000, help="Store churn reasons for this many likeliest churners "
                                             "(`customers show` explains anyone else on demand)."),
) -> None:
    """RFM + clusters + CLV + churn for every customer: writes customer_scores, models/ and reports/customers.html."""
    try:
        ws = Workspace.open(workspace)
        result, folder, path = run_scoring(ws, as_of, clv_horizon_months=horizon_months,
                                           monthly_discount_rate=discount, churn_horizon_days=churn_days,
                                           explain=explain)
    except StoreliftError as exc:
        fail(exc)
    print_segments(result.segments)
    print_risk(result.scores, top)
    for note in result.notes:
        err.print(f"[yellow]note:[/] {note}")
    console.print(f"{len(result.scores):,} customers scored as of {result.as_of:%Y-%m-%d} "
                  f"(version {result.model_version}); top 20% of customers bring {result.top20_share:.0%} of revenue")
    console.print(f"models: {folder}\nreport: [bold]{path}[/]")


@app.command()
def segments(
    workspace: Path = WorkspaceArg,
    as_of: Optional[str] = typer.Option(None, help="Default: the day after the last order."),
) -> None:
    """RFM segments only: who is in each named segment and what they spend (fast, no model fitting)."""
    from .customers.rfm import pareto_curve, rfm_table, segment_summary, top_share

    try:
        ws = Workspace.open(workspace)
        when = resolve_as_of(workspace_orders(ws), as_of)
        rfm = rfm_table(workspace_orders(ws, refunds_before=when), when).execute()
    except StoreliftError as exc:
        fail(exc)
    print_segments(segment_summary(rfm))
    share = top_share(rfm["monetary"], 0.2)
    half = pareto_curve(rfm["monetary"])
    console.print(f"top 20% of customers bring {share:.0%} of revenue; "
                  f"{(half['revenue_share'] < 0.5).mean():.0%} of customers bring half of it")


@app.command()
def clv(
    workspace: Path = WorkspaceArg,
    calibration_end: str = typer.Option(..., help="Fit on orders before this date."),
    holdout_end: Optional[str] = typer.Option(None, help="Compare predictions with orders up to this date."),
) -> None:
    """Fit BG/NBD and Gamma-Gamma on a calibration period; with --holdout-end, predicted vs actual purchases."""
    from .customers.bgnbd import BetaGeo
    from .customers.clv_data import rfm_summary
    from .customers.gamma_gamma import GammaGamma

    try:
        ws = Workspace.open(workspace)
        orders = workspace_orders(ws, refunds_before=pd.Timestamp(calibration_end))
        summary = rfm_summary(orders, pd.Timestamp(calibration_end),
                              pd.Timestamp(holdout_end) if holdout_end else None).execute()
        bg = BetaGeo().fit(summary)
        gg = GammaGamma().fit(summary)
    except StoreliftError as exc:
        fail(exc)
    for name, model in (("BG/NBD", bg), ("Gamma-Gamma", gg)):
        table = Table(title=f"{name} on {len(summary):,} customers")
        table.add_column("parameter")
        table.add_column("estimate", justify="right")
        table.add_column("std. error", justify="right")
        se = getattr(model, "standard_errors_", None)
        for k, v in model.params_.items():
            table.add_row(k, f"{v:.4f}", f"{se[k]:.4f}" if se is not None else "-")
        console.print(table)
    if holdout_end:
        hold = bg.holdout_table(summary)
        table = Table(title="holdout: purchases per customer by calibration repeat purchases")
        for col in hold.columns:
            table.add_column(str(col), justify="right")
        for _, r in hold.iterrows():
            table.add_row(*[f"{v:,.3f}" if isinstance(v, float) else str(v) for v in r])
        console.print(table)


@app.command()
def show(
    customer: str = typer.Argument(..., help="Customer id as stored (pseudonymous)."),
    workspace: Path = WorkspaceArg,
) -> None:
    """The latest scores of one customer, with the reasons behind the churn score and the lifetime value."""
    try:
        ws = Workspace.open(workspace)
        t = ws.warehouse.table("customer_scores")
        rows = ws.warehouse.execute(t.filter(t.customer_id == customer).order_by(t.scored_at.desc()).limit(1))
    except StoreliftError as exc:
        fail(exc)
    if rows.empty:
        err.print(f"[bold red]error:[/] no scores for customer {customer!r}; run `storelift customers score` first "
                  "or check the id (`storelift customers segments` lists none; ids are pseudonymous)")
        raise typer.Exit(1)
    row = rows.iloc[0]
    if pd.isna(row["churn_reasons"]) and pd.notna(row["churn_probability"]):
        row["churn_reasons"] = explain_on_demand(ws, customer, row)
    table = Table(title=f"customer {customer}", show_header=False)
    for col, value in row.items():
        table.add_row(col, f"{value:,.4g}" if isinstance(value, float) else str(value))
    if pd.notna(row["clv"]):
        try:
            table.add_row("clv_reasons", clv_reasons_on_demand(ws, customer, row))
        except StoreliftError as exc:
            table.add_row("clv_reasons", f"not available: {exc}")
    console.print(table)


def clv_reasons_on_demand(ws: Workspace, customer: str, row: pd.Series) -> str:
    """CLV reasons for one scored customer, one per line, from the saved BG/NBD and Gamma-Gamma models of that run."""
    import ibis

    from .artifacts import ArtifactError, load_models
    from .customers.clv_data import rfm_summary
    from .customers.clv_explain import clv_reasons

    _, models = load_models(ws.models_dir, row["model_version"])
    if "bgnbd" not in models or "gamma_gamma" not in models:
        raise ArtifactError(f"run {row['model_version']} saved no lifetime-value models")
    as_of = pd.Timestamp(row["as_of"])
    orders = workspace_orders(ws, refunds_before=as_of)
    before = ibis.literal(as_of.to_pydatetime(), type="timestamp")
    summary = rfm_summary(orders.filter((orders.customer_id == customer) & (orders.ordered_at < before)),
                          as_of).execute()
    reasons = clv_reasons(models["bgnbd"], models["gamma_gamma"], summary).iloc[0]
    lines = [reasons["reason_1"], reasons["reason_2"], reasons["reason_3"]]
    if abs(reasons["clv"] - row["clv"]) > 1e-6 * max(1.0, abs(row["clv"])):
        lines.append(f"(recomputed over 12 months at 1% a month: CLV {reasons['clv']:,.2f}; the stored "
                     f"{row['clv']:,.2f} was scored with another horizon or discount rate)")
    return "\n".join(lines)


def explain_on_demand(ws: Workspace, customer: str, row: pd.Series) -> str:
    """Churn reasons for a customer the batch run did not explain, from the saved model of that run."""
    from .artifacts import load_models
    from .customers.features import customer_features

    _, models = load_models(ws.models_dir, row["model_version"])
    churn = models["churn"]
    as_of = pd.Timestamp(row["as_of"])
    orders = workspace_orders(ws, refunds_before=as_of)
    features = customer_features(orders.filter(orders.customer_id == customer), as_of, churn.windows_).execute()
    out = churn.predict_features(features, explain=True)
    return "; ".join(out[[c for c in ("reason_1", "reason_2", "reason_3") if c in out.columns]].iloc[0].dropna())
