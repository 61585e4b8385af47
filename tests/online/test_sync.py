"""Exporting the online store into the warehouse: complete, idempotent, resumable."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from storelift.online import DecisionRecord, sync_to_warehouse
from online.test_events_store import record


@pytest.fixture
def workspace(tmp_path):
    from storelift import Workspace

    ws = Workspace.init(tmp_path / "ws")
    yield ws
    ws.close()


def _fill(store) -> None:
    store.write_events([record(f"e{i}") for i in range(5)])
    store.record_consent("C1", {"personalization": True, "email": False}, source="banner")
    store.record_consent("C1", {"personalization": False}, source="settings")
    store.record_decisions([DecisionRecord("d1", datetime(2024, 5, 1, tzinfo=timezone.utc), "C1", "recommendations",
                                           "home", "holdout", False, None, "[]", "holdout: popular items")])


def test_sync_copies_events_consents_and_decisions(store, workspace):
    _fill(store)
    reports = {r.table: r for r in sync_to_warehouse(workspace, store)}
    assert {t: (r.read, r.loaded) for t, r in reports.items()} == {
        "events": (5, 5), "consents": (3, 3), "decisions": (1, 1),
        "consents (from warehouse)": (3, 0)}  # the store's own, just exported
    wh = workspace.warehouse
    events = wh.table("events").order_by("event_id").execute()
    assert list(events["event_id"]) == [f"e{i}" for i in range(5)]
    assert events["occurred_at"].iloc[0] == datetime(2024, 5, 1, 12, 0, 0, 123456)
    assert set(events["source"]) == {"api"}
    consents = wh.table("consents").order_by("recorded_at").execute()
    assert list(zip(consents["purpose"], consents["granted"])) == [
        ("email", False), ("personalization", True), ("personalization", False)]
    assert wh.table("decisions").execute()["arm"].tolist() == ["holdout"]


def test_sync_twice_adds_nothing(store, workspace):
    _fill(store)
    sync_to_warehouse(workspace, store)
    again = sync_to_warehouse(workspace, store)
    assert all(r.read == 0 for r in again if r.table != "consents (from warehouse)")
    assert all(r.loaded == 0 for r in again)
    assert workspace.warehouse.count("events") == 5


def test_sync_interrupted_before_marking_is_completed_without_duplicates(store, workspace):
    _fill(store)
    sync_to_warehouse(workspace, store)
    with store.db.transaction() as session:  # as if the sync died after the warehouse append
        session.execute("UPDATE events SET exported_at = NULL")
    store.write_events([record("e-new")])
    reports = {r.table: r for r in sync_to_warehouse(workspace, store, batch_rows=2)}
    assert (reports["events"].read, reports["events"].loaded, reports["events"].already_in_warehouse) == (6, 1, 5)
    assert workspace.warehouse.count("events") == 6


def test_consents_ingested_into_the_warehouse_reach_the_store_unless_the_api_changed_them_since(store, workspace):
    import pandas as pd

    from storelift.online.sync import import_warehouse_consents

    store.record_consent("C2", {"personalization": False}, source="settings")  # now, through the API
    workspace.warehouse.insert("consents", pd.DataFrame({
        "customer_id": ["C1", "C1", "C2"], "purpose": ["personalization", "email", "personalization"],
        "granted": [True, True, True],
        "recorded_at": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-03"]), "source": "file"}))
    report = import_warehouse_consents(workspace, store)
    assert (report.read, report.loaded, report.already_in_warehouse) == (3, 2, 1)
    assert store.has_consent("C1", "personalization") and store.has_consent("C1", "email")
    assert not store.has_consent("C2", "personalization")  # the older file does not override the API
    assert store.consent("C1").in_force["email"].source == "warehouse"
    assert import_warehouse_consents(workspace, store).loaded == 0  # idempotent
    reports = {r.table: r for r in sync_to_warehouse(workspace, store)}
    assert reports["consents"].read == 1  # only the API's own record goes back; imported ones count as exported
