"""`storelift serve` commands: keys create/list/revoke, sync, and the default `run`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from storelift.cli import app
from storelift.online import OnlineStore

runner = CliRunner()


@pytest.fixture
def workspace(tmp_path):
    from storelift import Workspace

    Workspace.init(tmp_path / "ws").close()
    return tmp_path / "ws"


def _run(*args):
    return runner.invoke(app, ["serve", *map(str, args)])


def test_key_is_created_printed_once_listed_and_revoked(workspace):
    created = _run("keys", "create", "--scope", "ingest", "--scope", "read", "--name", "storefront",
                   "--rate-limit", "20", workspace)
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    key_id = secret.split("_")[1]
    with OnlineStore.open(workspace_root=workspace) as store:
        found = store.lookup_api_key(secret)
    assert found.scopes == {"ingest", "read"} and found.rate_limit_per_s == 20
    listed = _run("keys", "list", "--json", workspace)
    [row] = json.loads(listed.output)
    assert row["key_id"] == key_id and row["name"] == "storefront" and row["revoked_at"] is None
    assert secret.split("_", 2)[2] not in listed.output
    assert _run("keys", "revoke", key_id, workspace).exit_code == 0
    assert json.loads(_run("keys", "list", "--json", workspace).output)[0]["revoked_at"] is not None


def test_key_with_an_unknown_scope_fails_with_the_list(workspace):
    result = _run("keys", "create", "--scope", "write", "--name", "x", workspace)
    assert result.exit_code == 7 and "ingest, read, consent, metrics, admin" in result.output


def test_revoking_an_unknown_key_fails(workspace):
    result = _run("keys", "revoke", "ffffffffffffffff", workspace)
    assert result.exit_code == 7 and "keys list" in result.output


def test_sync_exports_to_the_warehouse(workspace):
    from online.test_events_store import record

    with OnlineStore.open(workspace_root=workspace) as store:
        store.write_events([record("e1"), record("e2")])
        store.record_consent("C1", {"email": True})
    result = _run("sync", "--json", workspace)
    assert result.exit_code == 0, result.output
    assert {r["table"]: r["loaded"] for r in json.loads(result.output)} == {
        "events": 2, "consents": 1, "decisions": 0, "consents (from warehouse)": 0}
    assert json.loads(_run("sync", "--json", workspace).output)[0]["read"] == 0


def test_serve_workspace_means_serve_run(tmp_path):
    result = _run(tmp_path / "missing", "--port", "0")
    assert result.exit_code == 2 and "not a storelift workspace" in result.output


def test_serve_refuses_an_unreachable_online_store_before_starting(workspace):
    result = _run(workspace, "--online-url", "postgresql://u:pw@127.0.0.1:9/db", "--busy-timeout", "1")
    assert result.exit_code == 6 and "check that PostgreSQL runs" in result.output and ":pw@" not in result.output


def test_serve_help_lists_its_commands():
    result = _run("--help")
    assert result.exit_code == 0
    for command in ("run", "keys", "sync"):
        assert command in result.output
