"""`storelift governance ...`: the audit trail (verify now; retention, erasure and fairness build on it)."""

from __future__ import annotations

from pathlib import Path

import typer

from .cli_common import WorkspaceArg, console, err, fail
from .errors import StoreliftError

app = typer.Typer(help="Governance: a tamper-evident audit trail.", no_args_is_help=True)


class AuditChainBroken(StoreliftError):
    """verify found entries changed, deleted or reordered."""

    exit_code = 8


@app.command()
def verify(workspace: Path = WorkspaceArg) -> None:
    """Check the audit log's hash chain: exit 0 when intact, 8 with every break listed when not."""
    from .governance import verify_workspace
    from .workspace import Workspace

    try:
        count, problems = verify_workspace(Workspace.open(workspace))
        if not problems.empty:
            for seq, problem in zip(problems["seq"], problems["problem"]):
                err.print(f"entry {'-' if seq is None or seq != seq else int(seq)}: {problem}")
            raise AuditChainBroken(f"the audit log of {count} entries has {len(problems)} break(s); restore it "
                                   "from a backup and investigate who wrote to the warehouse")
    except StoreliftError as exc:
        fail(exc)
    console.print(f"audit log intact: {count} entries, every hash and link checks out")
