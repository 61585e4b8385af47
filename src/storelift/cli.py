"""The `storelift` command line: typer commands that open a workspace and call the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .cli_common import WorkspaceArg, console, err, progress_bar
from .cli_common import fail as _fail
from .errors import StoreliftError
from .workspace import Workspace

app = typer.Typer(
    help="storelift: an AI marketing engine for online stores. Start with `storelift demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
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
    files: list[Path] = typer.Argument(..., help="Files to load (CSV, Parquet, JSON lines), or folders of them."),
    workspace: Path = WorkspaceArg,
    format: Optional[str] = typer.Option(
        None, "--format", "-f",
        help="online_retail, cdnow, segment, shopify, ga4, diginetica_purchases, diginetica_categories, "
             "amazon_sequences or canonical:TABLE; detected from the file when left out."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
) -> None:
    """Validate and load files; bad rows go to quarantine and counts reconcile (read = loaded + quarantined + duplicate)."""
    try:
        ws = Workspace.open(workspace)
        reports = ingest_paths(ws, files, format)
    except StoreliftError as exc:
        _fail(exc)
    if as_json:
        console.print_json(json.dumps([r.as_dict() for r in reports]))
        return
    console.print(ingest_table(reports))
    if any(r.rows_quarantined for r in reports):
        console.print("see the bad rows and why: [bold]storelift quarantine[/]")


def ingest_paths(ws: Workspace, paths: list[Path], fmt: str | None = None) -> list:
    """Ingest files and folders (expanded in dependency order) with a progress bar per file."""
    from .data.folder import data_files
    from .data.ingest import ingest_file

    files = [f for p in paths for f in (data_files(p) if Path(p).is_dir() else [Path(p)])]
    options = ws.ingest_options()
    reports = []
    with progress_bar() as bar:
        for path in files:
            task = bar.add_task(f"ingest {path.name}", total=None)
            reports.append(ingest_file(
                ws.warehouse, path, options, fmt=fmt,
                progress=lambda done, total, t=task: bar.update(t, completed=done, total=total),
            ))
    return reports


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
def synth(
    out: Path = typer.Argument(..., help="Folder to write the store's files into."),
    customers: int = typer.Option(10_000, help="Number of customers."),
    seed: int = typer.Option(0, help="Random seed: the same seed writes the same files."),
    start: str = typer.Option("2023-01-01", help="First day of the store's history."),
    end: str = typer.Option("2024-12-31", help="Last day of the store's history."),
    events: bool = typer.Option(True, help="Write Segment events (events.jsonl) too."),
    file_format: str = typer.Option("parquet", "--format", help="parquet or csv."),
    planted_bias: Optional[str] = typer.Option(
        None, help="Under-record one group's orders, e.g. 'female', 'gender=female:0.7' or 'age_band=65+:0.5' "
                   "(for testing fairness audits; the truth goes to ground_truth/)."),
) -> None:
    """Write a synthetic store (customers, products, orders, refunds, consents, touches, events) and its ground truth."""
    from functools import partial

    from .synth import generate_store

    try:
        generate = partial(generate_store, planted_bias=parse_planted_bias(planted_bias)) if planted_bias else \
            generate_store
        manifest = synthesize(out, customers, seed, start, end, events, file_format, generate)
    except StoreliftError as exc:
        _fail(exc)
    table = Table(title=f"synthetic store in {out}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for _, row in manifest.iterrows():
        table.add_row(row["file"], f"{row['rows']:,}")
    console.print(table)


def parse_planted_bias(text: str):
    """'female', 'gender=female' or 'age_band=65+:0.5' as a PlantedBias; a clear error otherwise."""
    from .synth import PlantedBias, SynthError

    spec, _, share = text.partition(":")
    attribute, _, group = spec.rpartition("=")
    try:
        return PlantedBias(group=group.strip(), attribute=attribute.strip() or "gender",
                           **({"unlinked_share": float(share)} if share else {}))
    except ValueError as exc:
        raise SynthError(f"--planted-bias {text!r}: {exc}; e.g. 'gender=female:0.7'") from exc


def synthesize(out, customers, seed, start, end, events, file_format, generate_store):
    with progress_bar() as bar:
        task = bar.add_task("synthesize", total=customers)
        return generate_store(
            Path(out), customers=customers, seed=seed, start=start, end=end, events=events,
            file_format=file_format,
            progress=lambda stage, done, total: bar.update(task, description=stage, completed=done, total=total),
        )


@app.command()
def audit(
    workspace: Path = WorkspaceArg,
    as_of: Optional[str] = typer.Option(None, help="Audit time (UTC date or time); default now."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the result as JSON here."),
    html: Optional[Path] = typer.Option(None, help="HTML report path; default WORKSPACE/reports/audit.html."),
) -> None:
    """Check whether the data is fit for AI work: quality checks and readiness per capability."""
    try:
        ws = Workspace.open(workspace)
        result, path = run_audit_report(ws, as_of, html)
    except StoreliftError as exc:
        _fail(exc)
    print_audit(result)
    if json_out:
        json_out.write_text(result.to_json())
        console.print(f"JSON: {json_out}")
    console.print(f"HTML report: [bold]{path}[/]")


def run_audit_report(ws: Workspace, as_of, html: Path | None):
    from .audit import audit_workspace
    from .reports import write_audit_report

    with console.status("auditing the warehouse"):
        result = audit_workspace(ws, as_of=as_of)
    path = write_audit_report(result, html or ws.reports_dir / "audit.html", store_name=ws.config.name)
    return result, path


def print_audit(result) -> None:
    colours = {"pass": "green", "warn": "yellow", "fail": "red", "n/a": "dim"}
    issues = result.checks[result.checks["status"].isin(["warn", "fail"])]
    table = Table(title=f"data audit: {len(result.checks)} checks, {len(issues)} to look at")
    for col in ("status", "area", "table", "check", "detail"):
        table.add_column(col, overflow="fold")
    for _, r in issues.iterrows():
        c = colours.get(r["status"], "white")
        table.add_row(f"[{c}]{r['status']}[/]", r["area"], str(r["table"]), r["check"], r["detail"])
    console.print(table)
    ready = Table(title="readiness by capability")
    for col in ("capability", "ready", "detail"):
        ready.add_column(col, overflow="fold")
    marks = {"yes": "green", "partly": "yellow", "no": "red"}
    for _, r in result.readiness.iterrows():
        ready.add_row(r["capability"], f"[{marks.get(r['ready'], 'white')}]{r['ready']}[/]", r["detail"])
    console.print(ready)


@app.command()
def demo(
    directory: Path = typer.Option(Path("storelift-demo"), help="Workspace folder for the demo."),
    customers: int = typer.Option(5_000, help="Customers in the synthetic store."),
    seed: int = typer.Option(0, help="Random seed."),
) -> None:
    """The main job end to end on the embedded warehouse: synthesize a store, ingest it, audit it, score customers,
    recommend products, measure a campaign's lift and ROI."""
    from .cli_customers import print_risk, print_segments, run_scoring
    from .synth import generate_store

    try:
        ws = Workspace.init(directory)
        data = ws.root / "data" / "synthetic"
        console.rule("1. synthesize a store")
        synthesize(data, customers, seed, "2023-01-01", "2024-12-31", True, "parquet", generate_store)
        console.rule("2. ingest it")
        reports = ingest_paths(ws, [data])
        console.print(ingest_table(reports))
        console.rule("3. audit the data")
        result, path = run_audit_report(ws, "2025-01-01", None)
        print_audit(result)
        console.rule("4. score customers: RFM segments, clusters, lifetime value, churn risk")
        scored, models, customers_path = run_scoring(ws, "2025-01-01")
        print_segments(scored.segments)
        print_risk(scored.scores, 10)
        console.rule("5. recommendations: compare models, fit one, show a list with reasons")
        from .cli_recommend import demo_recommendations

        recommend_folder, recommend_path = demo_recommendations(ws)
        console.rule("6. proof of lift: the e-mail campaign against its control group, ROI, attribution")
        from .cli_measure import demo_measurement

        measure_path = demo_measurement(ws, data / "ground_truth")
    except StoreliftError as exc:
        _fail(exc)
    console.rule("done")
    console.print(f"workspace: {ws.root}\nmodels:    {models}\n           {recommend_folder}\nreports:   [bold]{path}[/]\n"
                  f"           [bold]{customers_path}[/]\n           [bold]{recommend_path}[/]\n"
                  f"           [bold]{measure_path}[/]")


@app.command()
def schema() -> None:
    """Print the canonical schema (the same text as docs/schema.md)."""
    from .schema import render_markdown

    sys.stdout.write(render_markdown())


from .cli_customers import app as customers_app  # noqa: E402  (the sub-app imports the shared CLI pieces)
from .cli_recommend import app as recommend_app  # noqa: E402

app.add_typer(customers_app, name="customers")
app.add_typer(recommend_app, name="recommend")

# the real-time service: `storelift serve WORKSPACE`, `storelift serve keys ...`, `storelift serve sync`
from .cli_serve import app as serve_app  # noqa: E402

app.add_typer(serve_app, name="serve")

from .cli_governance import app as governance_app  # noqa: E402

app.add_typer(governance_app, name="governance")

# return on investment, planned or measured against the holdout
from .cli_roi import roi as roi_command  # noqa: E402

app.command("roi")(roi_command)


def main() -> None:  # pragma: no cover - console entry point
    app()
