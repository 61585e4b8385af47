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
        "events": (5, 5), "consents": (3, 3), "decisions": (1, 1)}
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
    assert all(r.read == 0 for r in again)
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
