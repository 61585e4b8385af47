"""`storelift governance ...`: the audit trail, erasure, privacy-safe reports and the approval queue."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .cli_common import WorkspaceArg, console, err, fail
from .errors import StoreliftError

app = typer.Typer(help="Governance: audit trail, erasure, differential privacy, approvals.", no_args_is_help=True)


class AuditChainBroken(StoreliftError):
    """verify found entries changed, deleted or reordered."""

    exit_code = 8


def _open(workspace: Path):
    from .workspace import Workspace

    return Workspace.open(workspace)


@app.command()
def verify(workspace: Path = WorkspaceArg) -> None:
    """Check the audit log's hash chain and the approvals it records: exit 0 when intact, 8 with every
    break listed when not."""
    from .governance import verify_approvals, verify_workspace

    try:
        ws = _open(workspace)
        count, problems = verify_workspace(ws)
        if not problems.empty:
            for seq, problem in zip(problems["seq"], problems["problem"]):
                err.print(f"entry {'-' if seq is None or seq != seq else int(seq)}: {problem}")
            raise AuditChainBroken(f"the audit log of {count} entries has {len(problems)} break(s); restore it "
                                   "from a backup and investigate who wrote to the warehouse")
        approvals = verify_approvals(ws)
        if not approvals.empty:
            for request_id, step, problem in approvals.itertuples(index=False):
                err.print(f"approval {request_id} step {step}: {problem}")
            raise AuditChainBroken(f"{len(approvals)} approval step(s) disagree with the audit log; do not act "
                                   "on them and investigate who wrote to the approvals table")
    except StoreliftError as exc:
        fail(exc)
    console.print(f"audit log intact: {count} entries, every hash and link checks out; approvals match it")


OnlineUrl = typer.Option(None, "--online-url", envvar="STORELIFT_ONLINE_URL",
                         help="Online store of the HTTP service (default: WORKSPACE/online.sqlite when present).")


@app.command()
def erase(
    customer: Optional[str] = typer.Argument(None, help="Customer id to erase (omit with --queued)."),
    workspace: Path = WorkspaceArg,
    queued: bool = typer.Option(False, "--queued", help="Carry out every request queued by DELETE /v1/customers/{id}."),
    online_url: Optional[str] = OnlineUrl,
) -> None:
    """Erase a customer from every table, the online store, model artifacts (refitted without them),
    exports and reports, then scan the workspace and write a verification report. Exit 9 if a trace is left."""
    from .governance import ErasureError, erase_customer, erase_queued

    if (customer is None) == (not queued):
        fail(ErasureError("pass one customer id, or --queued to carry out the queued requests"))
    try:
        ws = _open(workspace)
        with console.status("erasing and scanning the workspace"):
            results = erase_queued(ws, online_url) if queued else [erase_customer(ws, customer, online_url=online_url)]
        if not results:
            console.print("no erasure requests are queued")
        for result in results:
            _print_erasure(result)
        left = [r for r in results if not r.complete]
        if left:
            raise ErasureError(f"{len(left)} erasure(s) left traces (listed above) in files storelift cannot clean; "
                               "remove or rewrite those files, then run the erasure again")
    except StoreliftError as exc:
        fail(exc)


def _print_erasure(result) -> None:
    table = Table("where", "action", "rows", title=f"erasure {result.request_id}")
    for where, action, rows in result.actions.itertuples(index=False):
        table.add_row(where, action, f"{rows:,}")
    console.print(table)
    if result.complete:
        console.print(f"[green]verified:[/] no trace of the customer's {sum(result.identifiers.values())} "
                      f"identifier(s) is left in the workspace; report: {result.report_path}")
    else:
        for location, kind, hits in result.traces.itertuples(index=False):
            err.print(f"[red]trace left:[/] {location} ({kind}, {hits} hit(s))")


@app.command("dp-report")
def dp_report(
    workspace: Path = WorkspaceArg,
    epsilon: float = typer.Option(1.0, help="Privacy budget this report spends (split between counts and sums)."),
    by: str = typer.Option("rfm_segment", help="Segment column of customer_scores."),
    monetary_min: float = typer.Option(0.0, help="Lower clamp of each customer's spend."),
    monetary_max: float = typer.Option(5_000.0, help="Upper clamp of each customer's spend (set from what the "
                                                     "store knows, never from the data)."),
) -> None:
    """Customers and spend per segment with differential privacy: each figure with its 95% accuracy."""
    from .governance import WorkspaceBudget, dp_segment_report

    try:
        ws = _open(workspace)
        release = dp_segment_report(ws, epsilon, by, monetary_bounds=(monetary_min, monetary_max))
        budget = WorkspaceBudget(ws.root)
    except StoreliftError as exc:
        fail(exc)
    table = Table(by, "statistic", "value", "± 95%", "epsilon", title="differentially private release")
    for row in release.itertuples(index=False):
        table.add_row(str(getattr(row, by)), row.statistic, f"{row.value:,.0f}", f"{row.accuracy_95:,.0f}",
                      f"{row.epsilon:g}")
    console.print(table)
    console.print(f"privacy budget: {budget.remaining:g} epsilon left")


@app.command("privacy-budget")
def privacy_budget(
    workspace: Path = WorkspaceArg,
    total: Optional[float] = typer.Option(None, help="Set a new total epsilon (recorded with --reason)."),
    reason: Optional[str] = typer.Option(None, help="Why the total changes."),
) -> None:
    """The workspace's epsilon budget: total, spent, left, and every release that spent it."""
    from .governance import WorkspaceBudget, set_total_epsilon
    from .governance.privacy_budget import DifferentialPrivacyError

    try:
        ws = _open(workspace)
        if total is not None:
            if not reason:
                raise DifferentialPrivacyError("--reason is required with --total: say why the budget changes")
            set_total_epsilon(ws.root, total, reason)
        budget = WorkspaceBudget(ws.root).read()
        ledger = budget.ledger()
    except StoreliftError as exc:
        fail(exc)
    table = Table(*ledger.columns, title="privacy ledger")
    for row in ledger.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    console.print(table)
    console.print(f"spent {budget.spent:g}, left {budget.remaining:g} epsilon")


@app.command()
def retain(
    workspace: Path = WorkspaceArg,
    dry_run: bool = typer.Option(False, "--dry-run", help="Only show what would be removed."),
    now: Optional[str] = typer.Option(None, help="Apply the policies as of this time (default: now), e.g. 2026-01-31."),
    online_url: Optional[str] = OnlineUrl,
) -> None:
    """Remove rows older than each table's retention policy ([retention] in storelift.toml), in the warehouse
    and the online store; one audit entry per run."""
    from .governance import apply_retention, local_actor, open_online_store

    try:
        ws = _open(workspace)
        online = open_online_store(ws, online_url)
        try:
            plan = apply_retention(ws, now, dry_run, local_actor(), online)
        finally:
            if online is not None:
                online.close()
    except StoreliftError as exc:
        fail(exc)
    columns = ["store", "table", "policy", "cutoff", "rows_total", "rows_expired"]
    columns += [] if dry_run else ["rows_deleted", "rows_remaining"]
    table = Table(*columns, title="retention" + (" (dry run: nothing deleted)" if dry_run else ""))
    for row in plan[columns].itertuples(index=False):
        table.add_row(*("" if v is None or v != v else str(v) for v in row))
    console.print(table)
    if not dry_run:
        console.print(f"{int(plan['rows_deleted'].sum()):,} rows removed")


@app.command()
def dpia(workspace: Path = WorkspaceArg) -> None:
    """Draft a Data Protection Impact Assessment from the workspace's actual data, purposes, models and
    safeguards (reports/dpia.md and reports/dpia.html) for the data protection officer to complete."""
    from .governance import write_dpia

    try:
        path = write_dpia(_open(workspace))
    except StoreliftError as exc:
        fail(exc)
    console.print(f"DPIA draft: [bold]{path.with_suffix('.html')}[/] (and {path})")


@app.command()
def fairness(
    workspace: Path = WorkspaceArg,
    as_of: Optional[str] = typer.Option(None, help="Audit the targeting as of this date (default: the latest date "
                                                   "whose outcomes are known)."),
    horizon_days: float = typer.Option(90, help="Days of outcome a propensity score predicts."),
    audience_share: float = typer.Option(0.3, help="Share of customers a targeted audience takes."),
) -> None:
    """Fairness audit: the propensity audience, campaign audiences and recommendation exposure per protected
    attribute (80% rule, parity and odds differences), with threshold mitigation before/after; writes
    reports/fairness.html and an audit entry."""
    from .governance import append_audit, local_actor, workspace_fairness
    from .reports.fairness_report import write_fairness_report

    try:
        ws = _open(workspace)
        with console.status("auditing targeting, audiences and exposure"):
            result = workspace_fairness(ws, as_of, horizon_days=horizon_days, audience_share=audience_share)
        path = write_fairness_report(result, ws.reports_dir / "fairness.html", store_name=ws.config.name)
        flagged = result.targeting.flagged
        append_audit(ws, local_actor(), "fairness.audited", None,
                     {"flagged": [f"{a}={g}" for a, g in zip(flagged["attribute"], flagged["group"])],
                      "campaigns": int(len(result.campaigns))})
    except StoreliftError as exc:
        fail(exc)
    table = Table("attribute", "group", "selection rate", "disparate impact", "flagged", title="targeting audit")
    for row in result.targeting.before.itertuples(index=False):
        table.add_row(str(row.attribute), str(row.group), f"{row.selection_rate:.3f}", f"{row.disparate_impact:.2f}",
                      "[red]yes[/]" if row.flagged else "")
    console.print(table)
    console.print(f"{len(flagged)} group(s) flagged; report: [bold]{path}[/]")


@app.command()
def explain(
    workspace: Path = WorkspaceArg,
    out: Optional[Path] = typer.Option(None, help="Report file (default: reports/explanations.html)."),
) -> None:
    """Explanations in one report: churn importance, CLV drivers, reasons for example customers'
    scores and recommendations, and the share of decisions that carry an explanation."""
    from .reports import write_explanations_report

    try:
        with console.status("explaining the saved models"):
            path = write_explanations_report(_open(workspace), out)
    except StoreliftError as exc:
        fail(exc)
    console.print(f"report: [bold]{path}[/]")


@app.command("rotate-key")
def rotate_key(workspace: Path = WorkspaceArg, online_url: Optional[str] = OnlineUrl) -> None:
    """Rotate the pseudonymization key: every stored pseudonym is re-keyed with a new key added to the key
    file's chain (warehouse, online store, model artifacts, reports). Stop `storelift serve` and ingest
    jobs first; an interrupted rotation finishes when run again."""
    from .governance import rotate_key as rotate

    try:
        with console.status("re-keying pseudonyms") as status:
            result = rotate(_open(workspace), online_url=online_url, progress=status.update)
    except StoreliftError as exc:
        fail(exc)
    table = Table("place", "action", "values", title=f"key rotation {result.rotation_id}")
    for place, action, values in result.places.itertuples(index=False):
        table.add_row(str(place), str(action), f"{values:,}")
    console.print(table)
    console.print(f"the key file {result.key_file} now holds {result.keys} keys: back it up, then restart "
                  "`storelift serve`")


@app.command("export")
def export(
    table: str = typer.Argument(..., help="Warehouse table to export."),
    out: Path = typer.Option(..., "--out", help="File to write: .csv or .parquet."),
    workspace: Path = WorkspaceArg,
    include_pii: bool = typer.Option(False, "--include-pii", help="Keep PII columns (privacy admins only: "
                                                                  "[privacy] admins in storelift.toml)."),
) -> None:
    """Export a table with PII and protected attributes redacted (and e-mails/phones in text masked);
    every export is recorded in the audit log."""
    from .governance import export_table

    try:
        done = export_table(_open(workspace), table, out, include_pii=include_pii)
    except StoreliftError as exc:
        fail(exc)
    redacted = ", ".join(done.redacted_columns) or "none"
    console.print(f"{done.rows:,} rows of {done.table} written to {done.path}; redacted columns: {redacted}")


from .cli_approvals import app as approvals_app  # noqa: E402

app.add_typer(approvals_app, name="approvals")
