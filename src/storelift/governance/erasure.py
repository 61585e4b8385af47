"""Erase a customer from everything a workspace holds, then prove it with a scan.

Steps: collect the customer's identifiers (their id, their e-mail and phone pseudonyms, and device
ids seen with no other customer); erase the online store first (the service stops using them at
once), then the warehouse, then the files (recommendation models refitted without them, exports
filtered, reports redacted); rewrite the databases so no freed page keeps old bytes; scan every
table and file for what is left; write an audit-log entry and a verification report
(reports/erasure/<request id>.json). Neither names an identifier: they count them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from ..errors import StoreliftError
from .audit_log import append_audit, local_actor
from .erase_files import erase_files
from .erase_online import erase_online
from .retention import open_online_store
from .erase_warehouse import compact_duckdb, erase_warehouse, rows_holding
from .traces import scan_workspace, token_pattern

REPORT_FOLDER = "erasure"
IDENTIFIER_KINDS = ("customer id", "e-mail pseudonym", "phone pseudonym", "device id")


class ErasureError(StoreliftError):
    """An erasure cannot start (unknown customer, empty id) or could not remove every trace."""

    exit_code = 9


@dataclass(frozen=True)
class ErasureResult:
    """What an erasure did and what the scan found afterwards (empty `traces`: nothing left)."""

    request_id: str
    identifiers: dict[str, int]  # kind -> how many identifiers of that kind were erased
    actions: pd.DataFrame  # where, action, rows
    traces: pd.DataFrame  # location, kind, hits (see traces.TRACE_COLUMNS)
    report_path: Path

    @property
    def complete(self) -> bool:
        return self.traces.empty


def customer_identifiers(ws, customer_id: str, online_db=None) -> dict[str, set[str]]:
    """The customer's identifiers by kind; pseudonyms and device ids shared with another customer are
    left out (they identify someone else too)."""
    from ..warehouse import fetch

    wh = ws.warehouse
    found = {kind: set() for kind in IDENTIFIER_KINDS}
    found["customer id"].add(customer_id)
    customers = wh.table("customers")
    for column, kind in (("email", "e-mail pseudonym"), ("phone", "phone pseudonym")):
        mine = fetch(customers.filter(customers.customer_id == customer_id).select(column))[column].dropna()
        for value in set(mine.astype(str)):
            owners = customers.filter(customers[column] == value).customer_id.nunique().execute()
            if int(owners) == 1:
                found[kind].add(value)
    pairs = []
    for name in ("events", "orders", "touches"):
        table = wh.table(name)
        pairs.append(fetch(table.filter(table.anonymous_id.notnull() & table.customer_id.notnull())
                           .select("anonymous_id", "customer_id").distinct()))
    if online_db is not None:
        with online_db.read() as session:
            rows = session.execute("SELECT anonymous_id, customer_id FROM identities").fetchall()
        pairs.append(pd.DataFrame([dict(r) for r in rows], columns=["anonymous_id", "customer_id"]))
    links = pd.concat(pairs, ignore_index=True).drop_duplicates()
    devices = set(links.loc[links["customer_id"] == customer_id, "anonymous_id"].astype(str))
    shared = set(links.loc[links["customer_id"] != customer_id, "anonymous_id"].astype(str))
    found["device id"] = devices - shared
    return found


def erase_customer(ws, customer_id: str, *, online_url: str | None = None, request_id: str | None = None,
                   actor: str | None = None) -> ErasureResult:
    """Remove every trace of one customer from the workspace and report what the scan finds afterwards."""
    customer_id = str(customer_id or "").strip()
    if not customer_id:
        raise ErasureError("customer id is empty; pass the customer's id as the store knows it")
    store = open_online_store(ws, online_url)
    try:
        return _erase(ws, customer_id, store, request_id, actor or local_actor())
    finally:
        if store is not None:
            store.close()


def _erase(ws, customer_id: str, store, request_id: str | None, actor: str) -> ErasureResult:
    db = store.db if store is not None else None
    found = customer_identifiers(ws, customer_id, db)
    identifiers = set().union(*found.values())
    pattern = token_pattern(identifiers)
    queued = _queued_requests(db, customer_id)
    request_id = request_id or (queued[0] if queued else "er_" + uuid.uuid4().hex)

    actions = []
    if db is not None:
        for table, (action, rows) in erase_online(db, pattern, identifiers).items():
            actions.append({"where": f"online:{table}", "action": action, "rows": rows})
    approvals = rows_holding(ws.warehouse, "approvals", "request_id", pattern)  # their audit entries stay
    erased = erase_warehouse(ws.warehouse, pattern)
    actions += [{"where": f"warehouse:{r.table}", "action": r.action, "rows": int(r.rows)}
                for r in erased.itertuples()]
    skip = set()
    if ws.warehouse.engine == "duckdb" and ws.warehouse.location.target != ":memory:":
        path = Path(ws.warehouse.location.target).resolve()
        ws.close()
        compact_duckdb(path)
        skip |= {path, Path(str(path) + ".wal")}
    if db is not None and db.dialect == "sqlite":
        skip |= {Path(db.path).resolve(), Path(str(db.path) + "-wal").resolve(), Path(str(db.path) + "-shm").resolve()}
    files = erase_files(Path(ws.root), ws.models_dir, identifiers, pattern, skip)
    actions += [{"where": r.path, "action": r.action, "rows": int(r.rows)} for r in files.itertuples()]
    if db is not None:
        from ..online.erasure import mark_erasure_done

        now = datetime.now(timezone.utc)
        for queued_id in queued:
            mark_erasure_done(db, queued_id, now)

    counts = {kind: len(values) for kind, values in found.items()}
    actions_frame = pd.DataFrame(actions, columns=["where", "action", "rows"])
    append_audit(ws, actor, "erasure.done", request_id,
                 {"identifiers": counts, "places": len(actions_frame), "rows": int(actions_frame["rows"].sum()),
                  "approvals_erased": approvals})
    traces = scan_workspace(ws, identifiers, db)
    report = _write_report(ws, request_id, actor, counts, actions_frame, traces)
    return ErasureResult(request_id, counts, actions_frame, traces, report)


def _queued_requests(db, customer_id: str) -> list[str]:
    if db is None:
        return []
    with db.read() as session:
        rows = session.execute("SELECT request_id FROM erasure_requests WHERE customer_id = ? AND status = ? "
                               "ORDER BY requested_at", (customer_id, "queued")).fetchall()
    return [r["request_id"] for r in rows]


def _write_report(ws, request_id: str, actor: str, counts: dict, actions: pd.DataFrame,
                  traces: pd.DataFrame) -> Path:
    folder = ws.reports_dir / REPORT_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "request_id": request_id,
        "done_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "actor": actor,
        "identifiers_erased": counts,
        "actions": actions.to_dict("records"),
        "verification": {"complete": traces.empty, "traces_left": traces.to_dict("records"),
                         "scanned": "every warehouse table, the online store, and every file in the workspace"},
    }
    path = folder / f"{request_id}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    return path


def erase_queued(ws, online_url: str | None = None, actor: str | None = None) -> list[ErasureResult]:
    """Carry out every erasure request the HTTP service queued (DELETE /v1/customers/{id})."""
    store = open_online_store(ws, online_url)
    if store is None:
        return []
    try:
        with store.db.read() as session:
            rows = session.execute("SELECT DISTINCT customer_id FROM erasure_requests WHERE status = ?",
                                   ("queued",)).fetchall()
        customers = sorted(r["customer_id"] for r in rows)
    finally:
        store.close()
    return [erase_customer(ws, customer, online_url=online_url, actor=actor) for customer in customers]
