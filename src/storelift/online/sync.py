"""Copy what the service received (events, consents, decisions) into the warehouse tables, and
consents the warehouse holds (ingested from files) into the online store.

Rows not exported yet are read in batches, appended to the warehouse by natural key (a row
already there is skipped, so an interrupted sync is completed by running it again), then marked
exported. Run one sync at a time per workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from ..workspace import Workspace
from .decisions import DECISION_FIELDS
from .events import EVENT_FIELDS
from .store import OnlineStore


@dataclass(frozen=True)
class SyncReport:
    """Counts for one table: read = loaded + already_in_warehouse."""

    table: str
    read: int
    loaded: int
    already_in_warehouse: int

    def as_dict(self) -> dict:
        return {"table": self.table, "read": self.read, "loaded": self.loaded,
                "already_in_warehouse": self.already_in_warehouse}


@dataclass(frozen=True)
class _Export:
    table: str
    columns: list[str]  # columns read, in the warehouse's names
    key: str  # online key used to mark rows exported
    order: str
    times: tuple[str, ...]
    booleans: tuple[str, ...] = ()


_EXPORTS = (
    _Export("events", EVENT_FIELDS, "event_id", "received_at, event_id", ("occurred_at",)),
    _Export("consents", ["id", "customer_id", "purpose", "granted", "recorded_at", "source"], "id", "id",
            ("recorded_at",), ("granted",)),
    _Export("decisions", DECISION_FIELDS, "decision_id", "decided_at, decision_id", ("decided_at",),
            ("has_consent",)),
)


def _pending(store: OnlineStore, export: _Export, limit: int) -> pd.DataFrame:
    db = store.db
    with db.read() as session:
        rows = session.execute(
            f"SELECT {', '.join(export.columns)} FROM {export.table} WHERE exported_at IS NULL "
            f"ORDER BY {export.order} LIMIT ?", (limit,)).fetchall()
    frame = pd.DataFrame([dict(r) for r in rows], columns=export.columns)
    for column in export.times:
        frame[column] = [db.read_time(v) for v in frame[column]]
    for column in export.booleans:
        frame[column] = [None if v is None else bool(v) for v in frame[column]]
    return frame


def _mark_exported(store: OnlineStore, export: _Export, keys: list) -> None:
    db = store.db
    now = db.time(store.clock())
    with db.transaction() as session:
        session.executemany(f"UPDATE {export.table} SET exported_at = ? WHERE {export.key} = ?",
                            [(now, k) for k in keys])


def sync_to_warehouse(workspace: Workspace, store: OnlineStore, batch_rows: int = 20_000,
                      progress: Callable[[str, int], None] | None = None) -> list[SyncReport]:
    """Append the online rows not exported yet to the warehouse; idempotent by each table's natural key."""
    warehouse = workspace.warehouse
    reports = []
    for export in _EXPORTS:
        read = loaded = 0
        while True:
            frame = _pending(store, export, batch_rows)
            if frame.empty:
                break
            rows = frame.drop(columns=["id"]) if export.table == "consents" else frame
            is_new = warehouse.insert_new(export.table, rows)
            read += len(frame)
            loaded += int(is_new.sum())
            _mark_exported(store, export, frame[export.key].tolist())
            if progress is not None:
                progress(export.table, read)
            if len(frame) < batch_rows:
                break
        reports.append(SyncReport(export.table, read, loaded, read - loaded))
    reports.append(import_warehouse_consents(workspace, store))
    return reports


def import_warehouse_consents(workspace: Workspace, store: OnlineStore) -> SyncReport:
    """The warehouse's consent records that are newer than the online store's for the same customer
    and purpose, added to the store, so the service enforces consents ingested from files too.
    Reported as table 'consents (from warehouse)'; 'already' counts records the store had or
    that an API change has since overridden."""
    from ..warehouse import fetch

    warehouse = workspace.warehouse
    name = "consents (from warehouse)"
    if not warehouse.has_table("consents"):
        return SyncReport(name, 0, 0, 0)
    frame = fetch(warehouse.table("consents").select("customer_id", "purpose", "granted", "recorded_at"))
    added = store.import_consents(frame, source="warehouse") if len(frame) else 0
    return SyncReport(name, len(frame), added, len(frame) - added)
