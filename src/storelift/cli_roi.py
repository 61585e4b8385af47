"""`storelift roi`: return on investment, planned (scenarios) or measured (treatment vs holdout)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.table import Table

from .cli_common import console, fail
from .errors import StoreliftError


def measured_outcomes(ws, initiative: str, window_days: float, margin_rate: float | None) -> pd.DataFrame:
    """Per customer with a decision of `initiative`: the arm of their first decision, and their orders,
    revenue and margin from the first decision of the initiative to `window_days` after its last."""
    import ibis

    from .measure.roi import window_outcomes
    from .warehouse import fetch

    wh = ws.warehouse
    d = wh.table("decisions")
    d = d.filter((d.initiative == initiative) & d.customer_id.notnull())
    span = fetch(d.aggregate(first=d.decided_at.min(), last=d.decided_at.max(), n=d.count()))
    if span.empty or int(span["n"].iat[0]) == 0:
        raise StoreliftError(f"the warehouse holds no decisions of initiative {initiative!r}; serve decisions "
                             "(`storelift serve`) and copy them in with `storelift serve sync`")
    ranked = d.mutate(pick=ibis.row_number().over(group_by=d.customer_id, order_by=d.decided_at))
    arms = ranked.filter(ranked.pick == 0).select("customer_id", "arm")
    start = pd.Timestamp(span["first"].iat[0])
    end = pd.Timestamp(span["last"].iat[0]) + pd.Timedelta(days=window_days)
    products = wh.table("products") if margin_rate is None else None
    frame = fetch(window_outcomes(arms, wh.table("orders"), wh.table("order_lines"), start, end, products))
    if margin_rate is not None:
        frame["margin"] = frame["revenue"] * margin_rate
    frame.attrs["window"] = (start, end)
    return frame


def _print(frame: pd.DataFrame, title: str, money: set[str], shares: set[str]) -> None:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(col, justify="left" if frame[col].dtype == object else "right")
    for _, row in frame.iterrows():
        table.add_row(*[f"{v:.1%}" if c in shares and pd.notna(v) else f"{v:,.2f}" if c in money and pd.notna(v)
                        else str(v) for c, v in row.items()])
    console.print(table)


def roi(
    workspace: Optional[Path] = typer.Option(None, "--workspace", "-w",
                                             help="Measure ROI from this workspace's decisions (treatment vs holdout)."),
    cost: float = typer.Option(..., help="Total cost of ownership over the horizon (software, people, ...)."),
    net_profit: Optional[float] = typer.Option(None, help="Planned net profit over the horizon (no workspace)."),
    months: float = typer.Option(6.0, help="Horizon in months."),
    initiative: str = typer.Option("recommendations", help="Initiative whose decisions to measure."),
    window_days: float = typer.Option(30.0, help="Days after the last decision in which orders count."),
    margin_rate: Optional[float] = typer.Option(None, help="Margin as a share of revenue; default: revenue "
                                                           "less product cost from the products table."),
) -> None:
    """ROI = (net profit - cost) / cost: planned from --net-profit with scenarios, or measured from the
    decisions log as the incremental profit of treatment over the persistent holdout, with its interval."""
    from .measure.roi import default_scenarios, roi_readout, roi_scenarios, treatment_readout
    from .workspace import Workspace

    try:
        if workspace is None:
            if net_profit is None:
                raise StoreliftError("pass --net-profit (a planned ROI) or --workspace (ROI measured from decisions)")
            frame = roi_scenarios(cost, default_scenarios(net_profit), months)
            _print(frame, f"ROI over {months:g} months", {"net_profit", "cost", "net_gain", "payback_months"},
                   {"roi"})
            return
        ws = Workspace.open(workspace)
        outcomes = measured_outcomes(ws, initiative, window_days, margin_rate)
        start, end = outcomes.attrs["window"]
        readout = treatment_readout(outcomes, ["converted", "revenue", "margin"], control="holdout")
        _print(readout, f"{initiative}: treatment vs holdout, orders from {start:%Y-%m-%d} to {end:%Y-%m-%d}",
               {"treatment_mean", "control_mean", "lift", "lift_low", "lift_high", "incremental_total",
                "incremental_low", "incremental_high"}, {"relative_lift"})
        _print(roi_readout(outcomes, cost, "margin", control="holdout"), "measured ROI (95% interval)",
               {"incremental_profit", "incremental_profit_low", "incremental_profit_high", "cost"},
               {"roi", "roi_low", "roi_high"})
    except StoreliftError as exc:
        fail(exc)
