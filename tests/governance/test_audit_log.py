"""The audit trail: any change, deletion or reordering of an entry is detected by verify."""

import duckdb
import pandas as pd
import pytest

from storelift.governance import AuditLogError, append_audit, chained_entry, verify_chain, verify_workspace


@pytest.fixture
def audited(tmp_path):
    from storelift import Workspace

    ws = Workspace.init(tmp_path / "ws")
    for i in range(5):
        append_audit(ws, "analyst@store", "model.trained", f"recommend-v{i}", {"rows": i * 10},
                     at=pd.Timestamp("2024-05-01") + pd.Timedelta(hours=i))
    yield ws
    ws.close()


def _tamper(ws, sql):
    """Change the warehouse behind storelift's back, as someone with file access could."""
    ws.close()
    con = duckdb.connect(str(ws.root / "warehouse.duckdb"))
    con.execute(sql)
    con.close()


def test_an_untouched_chain_verifies(audited):
    count, problems = verify_workspace(audited)
    assert count == 5 and problems.empty


def test_changing_an_entry_is_detected(audited):
    _tamper(audited, "UPDATE audit_log SET details = '{\"rows\": 999}' WHERE seq = 2")
    _, problems = verify_workspace(audited)
    assert problems["seq"].tolist() == [2] and "changed" in problems["problem"].iat[0]


def test_deleting_an_entry_is_detected(audited):
    _tamper(audited, "DELETE FROM audit_log WHERE seq = 1")
    _, problems = verify_workspace(audited)
    assert set(problems["seq"]) == {2} and problems["problem"].str.contains("missing|deleted").all()


def test_reordering_entries_is_detected(audited):
    _tamper(audited, "UPDATE audit_log SET seq = CASE seq WHEN 1 THEN 3 WHEN 3 THEN 1 ELSE seq END")
    _, problems = verify_workspace(audited)
    assert not problems.empty and set(problems["seq"]) >= {1, 3}


def test_dropping_the_newest_entries_is_detected_by_the_recorded_head(audited):
    _tamper(audited, "DELETE FROM audit_log WHERE seq >= 3")
    _, problems = verify_workspace(audited)
    assert problems["problem"].str.contains("removed from the end").any()


def test_rewriting_an_entry_with_a_fresh_hash_still_breaks_the_next_link(audited):
    entries = audited.warehouse.table("audit_log").execute().sort_values("seq")
    forged = chained_entry(entries.iloc[1].to_dict(), "mallory", "model.trained", "recommend-v2", {"rows": 0},
                           at=entries.iloc[2]["at"])
    _tamper(audited, f"UPDATE audit_log SET actor = 'mallory', details = '{forged['details']}', "
                     f"hash = '{forged['hash']}' WHERE seq = 2")
    _, problems = verify_workspace(audited)
    assert problems["seq"].tolist() == [3] and "prev_hash" in problems["problem"].iat[0]


def test_entries_need_an_actor_and_an_action():
    with pytest.raises(AuditLogError, match="actor"):
        chained_entry(None, "", "x")
    assert verify_chain(pd.DataFrame([chained_entry(None, "a", "b")])).empty


def test_the_cli_verifies_and_training_runs_leave_entries(tmp_path):
    from typer.testing import CliRunner

    from storelift.cli import app

    runner = CliRunner()
    ws = tmp_path / "demo"
    assert runner.invoke(app, ["demo", "--directory", str(ws), "--customers", "300"]).exit_code == 0
    ok = runner.invoke(app, ["governance", "verify", "-w", str(ws)])
    assert ok.exit_code == 0 and "intact" in ok.output
    entries = duckdb.connect(str(ws / "warehouse.duckdb"), read_only=True).execute(
        "SELECT action FROM audit_log ORDER BY seq").fetchall()
    assert [a for (a,) in entries] == ["customers.scored", "recommend.trained"]
    con = duckdb.connect(str(ws / "warehouse.duckdb"))
    con.execute("UPDATE audit_log SET actor = 'someone else' WHERE seq = 0")
    con.close()
    broken = runner.invoke(app, ["governance", "verify", "-w", str(ws)])
    assert broken.exit_code == 8 and "changed" in broken.output
