"""What every `storelift` command shares: the consoles, the workspace option, error exit and progress bars."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from .errors import StoreliftError

console = Console()
err = Console(stderr=True)

WorkspaceArg = typer.Option(Path("."), "--workspace", "-w", help="Workspace folder (made by `storelift init`).")


def fail(exc: StoreliftError) -> None:
    """Print a StoreliftError without a traceback and exit with its code."""
    err.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)  # messages may hold [section] names
    raise typer.Exit(exc.exit_code)


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
        console=err, transient=transient,
    )
