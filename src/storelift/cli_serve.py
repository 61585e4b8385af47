"""`storelift serve`: run the real-time service, manage its API keys, export what it received."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from typer.core import TyperGroup

from .cli_common import console, fail
from .errors import StoreliftError


class ServeGroup(TyperGroup):
    """`storelift serve WORKSPACE ...` means `storelift serve run WORKSPACE ...`."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=ServeGroup, no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="The real-time service: `storelift serve WORKSPACE` runs it; `keys` and `sync` manage it.")
keys_app = typer.Typer(no_args_is_help=True, help="API keys of the service (stored hashed in the online store).")
app.add_typer(keys_app, name="keys")

WorkspacePath = typer.Argument(Path("."), help="Workspace folder (made by `storelift init`).")
OnlineUrl = typer.Option(None, "--online-url", envvar="STORELIFT_ONLINE_URL",
                         help="Online store: postgresql://user:pw@host/db[?schema=name]; default "
                              "WORKSPACE/online.sqlite.")


@app.command()
def run(
    workspace: Path = WorkspacePath,
    host: str = typer.Option("127.0.0.1", help="Address to listen on (0.0.0.0 for every interface)."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, help="Worker processes (each has its own group-commit writer)."),
    online_url: Optional[str] = OnlineUrl,
    max_body_bytes: int = typer.Option(1_048_576, help="Larger request bodies get 413 before they are read."),
    max_batch: int = typer.Option(500, help="Most messages in one POST /v1/events batch."),
    key_cache_ttl: float = typer.Option(5.0, help="Seconds a valid key is cached; revocation takes this long."),
    public_metrics: bool = typer.Option(False, help="Serve GET /metrics without a key."),
    busy_timeout: float = typer.Option(10.0, help="Seconds a write waits for a locked store before 503."),
    max_future_skew: float = typer.Option(86_400.0, help="Seconds an event timestamp may be ahead of now."),
    holdout_share: float = typer.Option(0.05, help="Share of customers held out of every initiative "
                                                   "(they get the popular list / the default variant)."),
    variant_cap: int = typer.Option(3, help="Decisions per customer and variant placement in 24 hours (0: none)."),
    model_check: float = typer.Option(2.0, help="Seconds between looks for newer model versions."),
    log_level: str = typer.Option("info", help="debug, info, warning or error."),
) -> None:
    """Serve the HTTP API (events, decisions, consent, erasure, health, metrics) with uvicorn."""
    from .api.server import run_server
    from .api.settings import ServeSettings

    try:
        settings = ServeSettings(online_url=online_url, max_body_bytes=max_body_bytes, max_batch_messages=max_batch,
                                 key_cache_ttl_s=key_cache_ttl, public_metrics=public_metrics,
                                 busy_timeout_s=busy_timeout, max_future_skew_s=max_future_skew,
                                 holdout_share=holdout_share, variant_cap_per_day=variant_cap,
                                 model_check_s=model_check)
        run_server(workspace, host=host, port=port, workers=workers, settings=settings, log_level=log_level)
    except StoreliftError as exc:
        fail(exc)


def _open_store(workspace: Path, online_url: str | None):
    from .online import OnlineStore
    from .workspace import Workspace

    ws = Workspace.open(workspace)
    return ws, OnlineStore.open(online_url, ws.root)


@keys_app.command("create")
def keys_create(
    workspace: Path = WorkspacePath,
    scope: list[str] = typer.Option(..., "--scope", help="ingest, read, consent, metrics or admin; repeat for more."),
    name: str = typer.Option(..., help="Who uses the key, e.g. storefront."),
    rate_limit: float = typer.Option(100.0, help="Requests per second per worker process; 0 for no limit."),
    online_url: Optional[str] = OnlineUrl,
    as_json: bool = typer.Option(False, "--json", help="Print the key as JSON."),
) -> None:
    """Create a key and print its secret. It is shown only now: store it in your secret manager."""
    try:
        _, store = _open_store(workspace, online_url)
        with store:
            key, secret = store.create_api_key(name, scope, rate_limit)
    except StoreliftError as exc:
        fail(exc)
    if as_json:
        print(json.dumps({"key_id": key.key_id, "name": key.name, "scopes": sorted(key.scopes),
                          "rate_limit_per_s": key.rate_limit_per_s, "key": secret}))
        return
    console.print(f"key {key.key_id} ({key.name}), scopes {', '.join(sorted(key.scopes))}; the secret, shown once:")
    print(secret)


@keys_app.command("list")
def keys_list(workspace: Path = WorkspacePath, online_url: Optional[str] = OnlineUrl,
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List keys (ids, names, scopes, limits; never secrets)."""
    try:
        _, store = _open_store(workspace, online_url)
        with store:
            keys = store.list_api_keys()
    except StoreliftError as exc:
        fail(exc)
    rows = [{"key_id": k.key_id, "name": k.name, "scopes": sorted(k.scopes), "rate_limit_per_s": k.rate_limit_per_s,
             "created_at": k.created_at.isoformat(), "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}
            for k in keys]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table(title=f"API keys ({len(rows)})")
    for col in ("key id", "name", "scopes", "limit/s", "created", "revoked"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["key_id"], r["name"], " ".join(r["scopes"]), f"{r['rate_limit_per_s']:g}", r["created_at"][:19],
                      (r["revoked_at"] or "")[:19])
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="The key id shown by `keys list`."),
                workspace: Path = WorkspacePath, online_url: Optional[str] = OnlineUrl) -> None:
    """Revoke a key; every worker refuses it within --key-cache-ttl seconds."""
    try:
        _, store = _open_store(workspace, online_url)
        with store:
            key = store.revoke_api_key(key_id)
    except StoreliftError as exc:
        fail(exc)
    console.print(f"key {key.key_id} ({key.name}) revoked at {key.revoked_at.isoformat()}")


@app.command()
def sync(workspace: Path = WorkspacePath, online_url: Optional[str] = OnlineUrl,
         batch_rows: int = typer.Option(20_000, help="Rows per warehouse append."),
         as_json: bool = typer.Option(False, "--json", help="Print the counts as JSON.")) -> None:
    """Copy received events, consents and decisions into the warehouse (idempotent; run again to resume)."""
    from .online import sync_to_warehouse

    try:
        ws, store = _open_store(workspace, online_url)
        with store:
            reports = sync_to_warehouse(ws, store, batch_rows)
    except StoreliftError as exc:
        fail(exc)
    if as_json:
        print(json.dumps([r.as_dict() for r in reports]))
        return
    table = Table(title="online store -> warehouse")
    for col in ("table", "read", "loaded", "already in warehouse"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for r in reports:
        table.add_row(r.table, f"{r.read:,}", f"{r.loaded:,}", f"{r.already_in_warehouse:,}")
    console.print(table)


if __name__ == "__main__":  # pragma: no cover - `python -m storelift.cli_serve`, used by storelift.api.launch
    app()
