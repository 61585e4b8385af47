"""`storelift governance approvals ...`: the queue of decisions that wait for a person."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from .cli_common import WorkspaceArg, console, fail
from .errors import StoreliftError

app = typer.Typer(help="Decisions above thresholds wait here until a person approves or rejects them.",
                  no_args_is_help=True)

Why = typer.Option(..., "--why", help="Why (recorded with who and when).")
As = typer.Option(None, "--as", help="Who decides (default: the local user).")


def _open(workspace: Path):
    from .workspace import Workspace

    return Workspace.open(workspace)


@app.command("list")
def list_requests(
    workspace: Path = WorkspaceArg,
    kind: Optional[str] = typer.Option(None, help="Only this kind (price_change, generated_content, fraud_hold...)."),
    effective_only: bool = typer.Option(False, "--effective", help="Show what is approved (in effect) instead."),
) -> None:
    """The requests waiting for a decision, oldest first (or, with --effective, those in effect)."""
    from .governance import effective, pending

    try:
        ws = _open(workspace)
        frame = effective(ws, kind) if effective_only else pending(ws, kind)
    except StoreliftError as exc:
        fail(exc)
    if frame.empty:
        console.print("nothing in effect" if effective_only else "no requests waiting")
        return
    columns = ["request_id", "kind", "subject", "requested_by", "requested_at", "rule"]
    columns += ["status", "decided_by"] if effective_only else ["reason_requested"]
    table = Table(title="in effect" if effective_only else "waiting for a decision")
    for column in columns:
        table.add_column(column, no_wrap=column == "request_id")
    for row in frame[columns].itertuples(index=False):
        table.add_row(*(str(v)[:60] for v in row))
    console.print(table)


@app.command()
def show(request_id: str, workspace: Path = WorkspaceArg) -> None:
    """One request: its proposal and every step of its history."""
    from .governance import approval_history, approval_request

    try:
        ws = _open(workspace)
        request = approval_request(ws, request_id)
        history = approval_history(ws, request_id)
    except StoreliftError as exc:
        fail(exc)
    console.print(f"{request.request_id}: {request.kind} on {request.subject} — [bold]{request.status}[/]")
    console.print_json(json.dumps(request.proposal, default=str))
    table = Table("step", "status", "recorded_at", "decided_by", "decision_reason", title="history")
    for row in history.itertuples(index=False):
        table.add_row(str(row.step), row.status, str(row.recorded_at), str(row.decided_by or ""),
                      str(row.decision_reason or ""))
    console.print(table)


def _decide(action, request_id: str, workspace: Path, why: str, actor: str | None, verb: str) -> None:
    from .governance import local_actor

    try:
        request = action(_open(workspace), request_id, actor or local_actor(), why)
    except StoreliftError as exc:
        fail(exc)
    console.print(f"{request.request_id} {verb} by {request.decided_by} at {request.decided_at}")


@app.command()
def approve(request_id: str, workspace: Path = WorkspaceArg, why: str = Why, actor: Optional[str] = As) -> None:
    """Approve a waiting request: it takes effect now (the requester cannot approve their own)."""
    from .governance import approve as approve_request

    _decide(approve_request, request_id, workspace, why, actor, "approved")


@app.command()
def reject(request_id: str, workspace: Path = WorkspaceArg, why: str = Why, actor: Optional[str] = As) -> None:
    """Reject a waiting request: it never takes effect."""
    from .governance import reject as reject_request

    _decide(reject_request, request_id, workspace, why, actor, "rejected")


@app.command()
def withdraw(request_id: str, workspace: Path = WorkspaceArg, why: str = Why, actor: Optional[str] = As) -> None:
    """Withdraw a waiting request."""
    from .governance import withdraw as withdraw_request

    _decide(withdraw_request, request_id, workspace, why, actor, "withdrawn")
