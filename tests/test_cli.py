"""The storelift command: exit codes, messages and the demo end to end."""

import json

from typer.testing import CliRunner

from storelift.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "ingest", "quarantine", "audit", "synth", "demo", "schema"):
        assert command in result.output


def test_ingest_outside_a_workspace_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["ingest", "-w", str(tmp_path), str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "storelift init" in result.output


def test_ingest_of_a_missing_file_fails_with_the_path(tmp_path):
    runner.invoke(app, ["init", str(tmp_path / "ws")])
    result = runner.invoke(app, ["ingest", "-w", str(tmp_path / "ws"), str(tmp_path / "nope.csv")])
    assert result.exit_code == 4 and "nope.csv: no such file" in result.output


def test_ingest_json_report_reconciles_and_quarantine_shows_the_reason(tmp_path):
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    (tmp_path / "orders.csv").write_text(
        "order_id,ordered_at,currency\no1,2024-01-01,GBP\no2,2024-01-02,GBX\n")
    result = runner.invoke(app, ["ingest", "-w", str(ws), "--json", str(tmp_path / "orders.csv")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)[0]
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"], report["reconciles"]) == (2, 1, 1, True)
    shown = runner.invoke(app, ["quarantine", "-w", str(ws)], env={"COLUMNS": "250"})
    assert "not an ISO 4217 currency" in shown.output


def test_demo_runs_end_to_end(tmp_path):
    result = runner.invoke(app, ["demo", "--directory", str(tmp_path / "demo"), "--customers", "400"])
    assert result.exit_code == 0, result.output
    report = tmp_path / "demo" / "reports" / "audit.html"
    assert report.exists() and report.stat().st_size > 100_000
    assert "readiness by capability" in result.output
    tables = runner.invoke(app, ["tables", "-w", str(tmp_path / "demo")])
    assert "order_lines" in tables.output and " 0 " not in tables.output.split("order_lines")[1].split("\n")[0]
