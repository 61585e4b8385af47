"""`storelift governance ...`: erasure, the privacy report and the approval queue from the command line."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from storelift.cli import app
from storelift.governance import submit
from storelift.workspace import Workspace

runner = CliRunner()


@pytest.fixture
def ws(tmp_path):
    ws = Workspace.init(tmp_path / "ws")
    ws.warehouse.insert("customers", pd.DataFrame({"customer_id": ["cust-a1", "cust-b2"], "country": ["DE", "FR"]}))
    ws.warehouse.insert("customer_scores", pd.DataFrame({
        "customer_id": ["cust-a1", "cust-b2"], "as_of": pd.Timestamp("2026-06-01"), "model_version": "v1",
        "scored_at": pd.Timestamp("2026-06-01"), "rfm_segment": ["Champions", "Lost"], "monetary": [120.0, 5.0]}))
    yield ws
    ws.close()


def invoke(*args):
    return runner.invoke(app, ["governance", *args])


def test_erase_verifies_and_the_scan_result_sets_the_exit_code(ws):
    (ws.root / "reports" / "note.html").write_text("<p>call cust-a1 back</p>")
    done = invoke("erase", "cust-a1", "-w", str(ws.root))
    assert done.exit_code == 0, done.output
    assert "verified" in done.output
    assert "cust-a1" not in (ws.root / "reports" / "note.html").read_text()
    # a file storelift cannot clean makes the erasure incomplete: exit 9, naming the file
    (ws.root / "blob.bin").write_bytes(b"\x00cust-b2\x00")
    left = invoke("erase", "cust-b2", "-w", str(ws.root))
    assert left.exit_code == 9
    assert "blob.bin" in left.output


def test_erase_needs_a_customer_or_queued(ws):
    result = invoke("erase", "-w", str(ws.root))
    assert result.exit_code == 9
    assert "--queued" in result.output


def test_dp_report_spends_the_budget_and_refuses_to_overspend(ws):
    first = invoke("dp-report", "-w", str(ws.root), "--epsilon", "1")
    assert first.exit_code == 0, first.output
    assert "Champions" in first.output and "2 epsilon left" in first.output
    over = invoke("dp-report", "-w", str(ws.root), "--epsilon", "5")
    assert over.exit_code == 9
    assert "epsilon" in over.output


def test_approvals_from_the_command_line(ws):
    request = submit(ws, "generated_content", "P-17", {"title": "New copy"}, "copywriter", "spring refresh")
    listed = invoke("approvals", "list", "-w", str(ws.root))
    assert request.request_id in listed.output
    own = invoke("approvals", "approve", request.request_id, "-w", str(ws.root), "--why", "fine", "--as", "copywriter")
    assert own.exit_code == 2 and "four" in own.output.lower()
    ok = invoke("approvals", "approve", request.request_id, "-w", str(ws.root), "--why", "checked", "--as", "editor")
    assert ok.exit_code == 0 and "approved by editor" in ok.output
    assert "no requests waiting" in invoke("approvals", "list", "-w", str(ws.root)).output
    assert request.request_id in invoke("approvals", "list", "-w", str(ws.root), "--effective").output
    assert invoke("verify", "-w", str(ws.root)).exit_code == 0


def test_retain_and_dpia_from_the_command_line(ws):
    ws.warehouse.insert("events", pd.DataFrame({
        "event_id": ["e-old", "e-new"], "event": ["Product Viewed"] * 2, "customer_id": ["cust-a1"] * 2,
        "occurred_at": [pd.Timestamp("2020-01-01"), pd.Timestamp("2026-11-01")]}))
    dry = invoke("retain", "-w", str(ws.root), "--dry-run", "--now", "2026-11-29")
    assert dry.exit_code == 0, dry.output
    assert ws.warehouse.count("events") == 2
    done = invoke("retain", "-w", str(ws.root), "--now", "2026-11-29")
    assert done.exit_code == 0 and "1 rows removed" in done.output
    assert ws.warehouse.table("events").event_id.execute().tolist() == ["e-new"]
    draft = invoke("dpia", "-w", str(ws.root))
    assert draft.exit_code == 0, draft.output
    assert "events" in (ws.root / "reports" / "dpia.md").read_text()


def test_fairness_flags_the_group_a_synthetic_store_under_records(tmp_path):
    from storelift.cli import app as storelift

    store = tmp_path / "store"
    made = runner.invoke(storelift, ["synth", str(store), "--customers", "2000", "--seed", "1000", "--no-events",
                                     "--planted-bias", "gender=female:0.7"])
    assert made.exit_code == 0, made.output
    assert runner.invoke(storelift, ["init", str(tmp_path / "ws")]).exit_code == 0
    assert runner.invoke(storelift, ["ingest", "-w", str(tmp_path / "ws"), str(store)]).exit_code == 0
    audited = invoke("fairness", "-w", str(tmp_path / "ws"))
    assert audited.exit_code == 0, audited.output
    assert "1 group(s) flagged" in audited.output
    flagged_rows = [line for line in audited.output.splitlines() if "yes" in line]
    assert len(flagged_rows) == 1 and "female" in flagged_rows[0]
    assert "female" in (tmp_path / "ws" / "reports" / "fairness.html").read_text()
    bad = runner.invoke(storelift, ["synth", str(tmp_path / "x"), "--planted-bias", "gender=female:7"])
    assert bad.exit_code == 2 and "unlinked_share" in bad.output


def test_export_redacts_unless_an_admin_asks_and_rotate_key_rekeys(ws):
    from storelift.data import pii

    email = pii.pseudonym(ws.pii_key(), "email", "ann@example.com")
    ws.warehouse.insert("customers", pd.DataFrame({"customer_id": ["cust-c3"], "email": [email]}))
    out = ws.root / "customers.csv"
    plain = invoke("export", "customers", "--out", str(out), "-w", str(ws.root))
    assert plain.exit_code == 0, plain.output
    assert email not in out.read_text() and "[redacted]" in out.read_text()
    refused = invoke("export", "customers", "--out", str(out), "-w", str(ws.root), "--include-pii")
    assert refused.exit_code == 5 and "[privacy]" in refused.output  # the message names the section to edit
    rotated = invoke("rotate-key", "-w", str(ws.root))
    assert rotated.exit_code == 0, rotated.output
    stored = ws.warehouse.table("customers").filter(lambda t: t.customer_id == "cust-c3").email.execute()[0]
    assert stored != email and stored == pii.pseudonym(ws.pii_key(), "email", "ann@example.com")
    assert invoke("verify", "-w", str(ws.root)).exit_code == 0
