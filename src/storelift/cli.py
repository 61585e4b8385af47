"""The `storelift` command line: typer commands that open a workspace and call the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from .errors import StoreliftError
from .workspace import Workspace

app = typer.Typer(
    help="storelift: an AI marketing engine for online stores. Start with `storelift demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True)

WorkspaceArg = typer.Option(Path("."), "--workspace", "-w", help="Workspace folder (made by `storelift init`).")


def _fail(exc: StoreliftError) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(exc.exit_code)


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
        console=err, transient=transient,
    )


@app.command()
def init(
    directory: Path = typer.Argument(..., help="Folder to create (or reopen)."),
    warehouse: Optional[str] = typer.Option(None, help="Warehouse URL; default an embedded DuckDB file."),
    keep_raw_pii: bool = typer.Option(False, help="Keep raw e-mails, phones, names and addresses (not recommended)."),
) -> None:
    """Make a workspace: storelift.toml, a DuckDB warehouse with the canonical tables, models/ and reports/."""
    try:
        ws = Workspace.init(directory, warehouse_url=warehouse, keep_raw_pii=keep_raw_pii)
    except StoreliftError as exc:
        _fail(exc)
    console.print(f"workspace ready: [bold]{ws.root}[/] (warehouse {ws.config.warehouse_url})")


@app.command()
def ingest(
    files: list[Path] = typer.Argument(..., help="Files to load (CSV, Parquet, JSON lines)."),
    workspace: Path = WorkspaceArg,
    format: Optional[str] = typer.Option(
        None, "--format", "-f",
        help="online_retail, cdnow, segment, shopify, ga4, diginetica_purchases, diginetica_categories, "
             "amazon_sequences or canonical:TABLE; detected from the file when left out."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
) -> None:
    """Validate and load files; bad rows go to quarantine and counts reconcile (read = loaded + quarantined + duplicate)."""
    from .data.ingest import ingest_file

    try:
        ws = Workspace.open(workspace)
        options = ws.ingest_options()
        reports = []
        with progress_bar() as bar:
            for path in files:
                task = bar.add_task(f"ingest {path.name}", total=None)
                report = ingest_file(
                    ws.warehouse, path, options, fmt=format,
                    progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),
                )
                reports.append(report)
    except StoreliftError as exc:
        _fail(exc)
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in reports]))
        return
    console.print(ingest_table(reports))
    if any(r.rows_quarantined for r in reports):
        console.print("see the bad rows and why: [bold]storelift quarantine[/]")


def ingest_table(reports) -> Table:
    table = Table(title="ingest")
    for col in ("file", "format", "read", "loaded", "quarantined", "duplicate", "reconciles", "seconds"):
        table.add_column(col, justify="right" if col not in ("file", "format") else "left")
    for r in reports:
        table.add_row(
            Path(r.source_file).name, r.format, f"{r.rows_read:,}", f"{r.rows_loaded:,}",
            f"{r.rows_quarantined:,}", f"{r.rows_duplicate:,}", "yes" if r.reconciles else "[red]NO[/]",
            f"{r.seconds:.1f}",
        )
    return table


@app.command()
def quarantine(
    workspace: Path = WorkspaceArg,
    limit: int = typer.Option(20, help="How many rows to show."),
    file: Optional[str] = typer.Option(None, help="Only rows from files whose path contains this."),
) -> None:
    """Show quarantined rows: file, line, reason and the raw row."""
    try:
        ws = Workspace.open(workspace)
        q = ws.warehouse.table("quarantine")
        if file:
            q = q.filter(q.source_file.contains(file))
        total = int(q.count().execute())
        rows = q.order_by(["source_file", "line"]).limit(limit).execute()
    except StoreliftError as exc:
        _fail(exc)
    table = Table(title=f"quarantine ({total:,} rows)")
    for col in ("file", "line", "reason", "raw"):
        table.add_column(col, overflow="fold")
    for _, r in rows.iterrows():
        table.add_row(Path(r.source_file).name, str(r.line), r.reason, r.raw[:200])
    console.print(table)


@app.command()
def tables(workspace: Path = WorkspaceArg) -> None:
    """Row counts of the canonical tables."""
    from .schema import TABLES

    try:
        ws = Workspace.open(workspace)
        counts = {name: ws.warehouse.count(name) for name in TABLES}
    except StoreliftError as exc:
        _fail(exc)
    table = Table(title=f"{ws.root} ({ws.config.warehouse_url})")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)


@app.command()
def schema() -> None:
    """Print the canonical schema (the same text as docs/schema.md)."""
    from .schema import render_markdown

    sys.stdout.write(render_markdown())


def main() -> None:  # pragma: no cover - console entry point
    app()
