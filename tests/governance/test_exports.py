"""Redacted exports: PII and protected attributes never leave in an export unless a privacy admin asks,
e-mails and phones in text are masked again, and every export (or refusal) is in the audit log."""

import json
from pathlib import Path

import pandas as pd
import pytest

from storelift.cli import ingest_paths
from storelift.data import pii
from storelift.governance.audit_log import local_actor, verify_workspace
from storelift.governance.exports import (
    REDACTED, ExportError, PiiAccessError, export_table, is_privacy_admin, privacy_admins,
)
from storelift.warehouse import fetch
from storelift.workspace import CONFIG_NAME, Workspace

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "shopify_orders_export.csv"
JANE, BOB = "jane.doe@example.com", "bob.smith@example.com"
PII_COLUMNS = ["email", "phone", "first_name", "last_name", "street_address"]


def make_store(root: Path, keep_raw_pii: bool = False, admins: list[str] | None = None) -> Workspace:
    ws = Workspace.init(root, keep_raw_pii=keep_raw_pii)
    if admins is not None:
        config = ws.root / CONFIG_NAME
        listed = ", ".join(f'"{a}"' for a in admins)
        config.write_text(config.read_text().replace("[privacy]\n", f"[privacy]\nadmins = [{listed}]\n"))
    data = ws.root / "data"
    (data / "customers.csv").write_text(
        "customer_id,email,phone,first_name,city,gender,birth_year\n"
        "c1,ann@example.org,+44 20 7946 0958,Ann,Leeds,female,1980\n"
        "c2,,,Ben,York,,\n")
    (data / "events.csv").write_text(
        "event_id,event,customer_id,occurred_at,query,properties\n"
        f'e1,Products Searched,c1,2024-03-10T10:00:00Z,linen shirt,"{{""note"": ""mail {BOB} or +44 20 7946 0958""}}"\n'
        f'e2,Bogus Event,c1,2024-03-10T10:05:00Z,,"{{""email"": ""{JANE}""}}"\n')
    ingest_paths(ws, [FIXTURE, data / "customers.csv", data / "events.csv"])
    return ws


@pytest.fixture
def ws(tmp_path):
    workspace = make_store(tmp_path / "ws", admins=["alice"])
    yield workspace
    workspace.close()


def last_audit(ws) -> pd.Series:
    return fetch(ws.warehouse.table("audit_log")).sort_values("seq").iloc[-1]


def test_default_export_redacts_pii_and_protected_attributes(ws, tmp_path):
    out = tmp_path / "out" / "customers.csv"
    result = export_table(ws, "customers", out, actor="bob@laptop")
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    stored = fetch(ws.warehouse.table("customers"))
    assert len(got) == len(stored) == result.rows == 6
    assert list(got.columns) == list(stored.columns)
    for column in PII_COLUMNS + ["gender", "birth_year"]:
        assert set(got[column]) == {REDACTED}, column
    assert set(result.redacted_columns) == set(PII_COLUMNS) | {"gender", "birth_year"}
    assert sorted(got["customer_id"]) == sorted(stored["customer_id"])  # pseudonymous ids still join
    assert "Leeds" in set(got["city"])
    assert not result.pii_included


def test_parquet_export_is_redacted_too(ws, tmp_path):
    out = tmp_path / "customers.parquet"
    export_table(ws, "customers", out, actor="bob@laptop")
    got = pd.read_parquet(out)
    assert set(got["birth_year"]) == {REDACTED} and set(got["email"]) == {REDACTED}


def test_free_text_is_masked_again_in_a_raw_pii_workspace(tmp_path):
    ws = make_store(tmp_path / "raw", keep_raw_pii=True)
    stored = fetch(ws.warehouse.table("events"))
    assert stored["properties"].str.contains(BOB, regex=False).any(), "the workspace keeps raw PII"
    key = ws.pii_key()
    out = tmp_path / "events.csv"
    result = export_table(ws, "events", out, actor="bob@laptop")
    text = out.read_text()
    assert BOB not in text and "+44 20 7946 0958" not in text
    assert pii.pseudonym(key, "email", BOB) in text
    assert result.masked_values >= 1
    quarantine = tmp_path / "quarantine.parquet"
    export_table(ws, "quarantine", quarantine, actor="bob@laptop")
    assert JANE not in " ".join(pd.read_parquet(quarantine)["raw"])
    orders = tmp_path / "orders.csv"
    export_table(ws, "orders", orders, actor="bob@laptop")  # Shopify ids are raw e-mails here
    assert JANE not in orders.read_text() and pii.pseudonym(key, "email", JANE) in orders.read_text()
    ws.close()


def test_without_a_key_text_is_redacted(tmp_path):
    ws = make_store(tmp_path / "raw", keep_raw_pii=True)
    Path(ws.config.key_file).unlink()
    out = tmp_path / "events.csv"
    export_table(ws, "events", out, actor="bob@laptop")
    text = out.read_text()
    assert BOB not in text and REDACTED in text
    ws.close()


def test_admin_gets_pii(ws, tmp_path):
    out = tmp_path / "customers.csv"
    result = export_table(ws, "customers", out, include_pii=True, actor="alice@laptop")
    got = pd.read_csv(out, dtype=str, keep_default_na=False).set_index("customer_id")
    assert result.pii_included and not result.redacted_columns
    assert got.loc["c1", "email"] == pii.pseudonym(ws.pii_key(), "email", "ann@example.org")
    assert got.loc["c1", "gender"] == "female" and got.loc["c1", "birth_year"] == "1980"
    entry = last_audit(ws)
    details = json.loads(entry["details"])
    assert (entry["action"], entry["actor"], entry["subject"]) == ("data.exported", "alice@laptop", "customers")
    assert details["pii_included"] is True and details["rows"] == 6


def test_non_admin_asking_for_pii_is_refused_and_told_how(ws, tmp_path):
    out = tmp_path / "customers.csv"
    with pytest.raises(PiiAccessError) as caught:
        export_table(ws, "customers", out, include_pii=True, actor="bob@laptop")
    message = str(caught.value)
    assert "include_pii" in message and "alice" in message
    assert "[privacy]" in message and 'admins = ["bob"]' in message
    assert not out.exists()
    entry = last_audit(ws)
    assert (entry["action"], entry["actor"]) == ("data.export_refused", "bob@laptop")
    assert json.loads(entry["details"])["pii_requested"] is True


def test_every_export_is_audited_and_the_chain_verifies(ws, tmp_path):
    before = len(fetch(ws.warehouse.table("audit_log")))
    export_table(ws, "customers", tmp_path / "a.csv")
    export_table(ws, "orders", tmp_path / "b.parquet", actor="bob@laptop")
    log = fetch(ws.warehouse.table("audit_log")).sort_values("seq")
    assert len(log) == before + 2
    first, second = log.iloc[-2], log.iloc[-1]
    assert first["actor"] == local_actor() and first["subject"] == "customers"
    assert json.loads(second["details"])["rows"] == ws.warehouse.count("orders")
    assert json.loads(second["details"])["pii_included"] is False
    assert "@example" not in " ".join(log["details"].dropna())
    assert verify_workspace(ws)[1].empty


def test_bad_requests_name_the_fix(ws, tmp_path):
    with pytest.raises(ExportError, match=r"out_path .*\.csv or \.parquet"):
        export_table(ws, "customers", tmp_path / "customers.xlsx", actor="bob@laptop")
    with pytest.raises(ExportError, match="not in the warehouse; pass one of: .*customers"):
        export_table(ws, "clients", tmp_path / "clients.csv", actor="bob@laptop")


def test_admin_names_match_user_or_exact_host(ws):
    assert privacy_admins(ws) == ["alice"]
    assert is_privacy_admin("alice@anyhost", ["alice"]) and is_privacy_admin("alice", ["alice"])
    assert is_privacy_admin("alice@laptop", ["alice@laptop"]) and not is_privacy_admin("alice@server", ["alice@laptop"])
    assert not is_privacy_admin("malice@laptop", ["alice"])
