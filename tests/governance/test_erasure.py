"""Erasure: afterwards no trace of the customer's id, pseudonyms or devices anywhere in the workspace.

Each workspace is built the way a store builds one (ingest, score, fit, reports, the online store the
HTTP service writes), the scan must find the customer in many places first (so it can fail), and
after `erase_customer` it must find nothing, while other customers and the sales totals stay.
"""

import json
import shutil
from datetime import datetime, timezone

import pandas as pd
import pytest

from support import shared_file
from storelift.cli import ingest_paths
from storelift.cli_customers import run_scoring
from storelift.cli_recommend import run_fit, run_report
from storelift.governance import verify_workspace
from storelift.governance.approvals import UnknownRequestError, approval_request, submit, verify_approvals
from storelift.governance.erasure import customer_identifiers, erase_customer, erase_queued
from storelift.governance.traces import count_in_bytes, scan_workspace, token_pattern
from storelift.online import OnlineStore
from storelift.online.decisions import DecisionRecord
from storelift.online.events import EventRecord
from storelift.synth import generate_store
from storelift.workspace import Workspace

NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def serve_some_traffic(ws: Workspace, customer: str, other: str) -> None:
    """What the HTTP service would have written for two customers: events, a device link, consent, a
    decision, and an erasure request for the first."""
    with OnlineStore.open(None, ws.root) as store:
        for who, device in ((customer, "dev-" + customer), (other, "dev-" + other)):
            store.link_identity(device, who, NOW)
            store.record_consent(who, {"email": False})
            store.write_events([EventRecord(f"ev-{who}-{i}", "Product Viewed", who, device, "s1", NOW, None, "p1",
                                            None, None, None, None, None, json.dumps({"userId": who}))
                                for i in range(3)])
            store.record_decisions([DecisionRecord(f"dec-{who}", NOW, who, "recommendations", "home", "treatment",
                                                   True, "v1", json.dumps(["p1"]), f"because {who} viewed p1")])
        store.request_erasure(customer)


def places(traces: pd.DataFrame) -> set[str]:
    return set(traces["location"])


@pytest.fixture(scope="module")
def synthetic_workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("erasure") / "store"
    ws = Workspace.init(root)
    generate_store(ws.root / "data" / "synthetic", customers=300, seed=3)
    ingest_paths(ws, [ws.root / "data" / "synthetic"])
    run_scoring(ws, "2025-01-01")
    run_fit(ws, "ease")
    run_report(ws, samples=3)
    ws.close()
    return root


def copy_of(source, tmp_path) -> Workspace:
    target = tmp_path / "ws"
    shutil.copytree(source, target)
    return Workspace.open(target)


def busiest_customer(ws: Workspace) -> str:
    orders = ws.warehouse.table("orders")
    counts = orders.filter(orders.customer_id.notnull()).customer_id.value_counts().execute()
    return counts.sort_values(["customer_id_count", "customer_id"], ascending=[False, True])["customer_id"].iloc[0]


def test_erasure_on_the_synthetic_store_leaves_no_trace(synthetic_workspace, tmp_path):
    ws = copy_of(synthetic_workspace, tmp_path)
    customer = busiest_customer(ws)
    other = sorted(set(ws.warehouse.table("customers").customer_id.execute()) - {customer})[0]
    serve_some_traffic(ws, customer, other)
    with OnlineStore.open(None, ws.root) as store:
        ids = customer_identifiers(ws, customer, store.db)
        before = scan_workspace(ws, set().union(*ids.values()), store.db)
    assert ids["e-mail pseudonym"] and ids["device id"], ids
    found = places(before)
    for expected in ("warehouse:customers.customer_id", "warehouse:customers.email", "warehouse:orders.customer_id",
                     "warehouse:events.customer_id", "warehouse:customer_scores.customer_id",
                     "online:events.customer_id", "online:identities.anonymous_id", "online:decisions.explanation",
                     "data/synthetic/customers.parquet.customer_id", "data/synthetic/events.jsonl"):
        assert expected in found, f"the scan should see {expected} before erasure; it saw {sorted(found)}"
    assert any(p.startswith("models/recommend-") and p.endswith("interactions.pkl:objects") for p in found)
    assert any(p.endswith("customer_scores.parquet.customer_id") for p in found)

    orders_before, lines_before = ws.warehouse.count("orders"), ws.warehouse.count("order_lines")
    revenue_before = ws.warehouse.table("order_lines").amount.sum().execute()
    other_events = ws.warehouse.table("events").filter(lambda t: t.customer_id == other).count().execute()

    result = erase_customer(ws, customer)

    assert result.complete, result.traces
    with OnlineStore.open(None, ws.root) as store:
        assert scan_workspace(ws, set().union(*ids.values()), store.db).empty
        assert store.db.query_one("SELECT status FROM erasure_requests WHERE request_id = ?",
                                  (result.request_id,))["status"] == "done"
        remaining = store.db.query_one("SELECT count(*) AS n FROM identities WHERE customer_id = ?", (other,))
        assert remaining["n"] == 1
        assert store.count("events") == 3  # the other customer's events stay
    # sales stay for the books, anonymized; other customers keep their rows
    assert (ws.warehouse.count("orders"), ws.warehouse.count("order_lines")) == (orders_before, lines_before)
    assert ws.warehouse.table("order_lines").amount.sum().execute() == pytest.approx(revenue_before)
    assert ws.warehouse.table("events").filter(lambda t: t.customer_id == other).count().execute() == other_events
    # the recommendation model was refitted without the customer and is the newest version
    folders = sorted(p.name for p in ws.models_dir.glob("recommend-*"))
    assert len(folders) == 1 and "-erased" in folders[0]
    # the audit trail records the erasure and still verifies; the report names no identifier
    count, problems = verify_workspace(ws)
    assert problems.empty and count >= 3
    report = result.report_path.read_bytes()
    assert count_in_bytes(report, set().union(*ids.values())) == 0
    assert json.loads(report)["verification"]["complete"] is True


def test_scan_finds_what_a_partial_erasure_leaves(synthetic_workspace, tmp_path):
    """The scan is what proves erasure, so it must catch a copy the erasure does not know about."""
    ws = copy_of(synthetic_workspace, tmp_path)
    customer = busiest_customer(ws)
    stray = ws.root / "exports"
    stray.mkdir()
    frame = pd.DataFrame({"customer_id": [customer, "someone-else"], "n": [1, 2]})
    frame.to_parquet(stray / "audience.parquet")  # compressed: invisible to a byte search
    (stray / "notes.bin").write_bytes(b"\x00\x01" + customer.encode("utf-16-le") + b"\x00\x00")
    result = erase_customer(ws, customer)
    # Parquet copies lose the customer's rows wherever they are; an unknown binary file cannot be
    # cleaned, so the erasure says it is incomplete and where
    assert not result.complete
    assert places(result.traces) == {"exports/notes.bin"}
    assert pd.read_parquet(stray / "audience.parquet")["customer_id"].tolist() == ["someone-else"]


def test_tokens_do_not_match_inside_longer_ids():
    pattern = token_pattern(["C0001"])
    values = pd.Series(["C0001", "C00012", "xC0001", "order C0001,", "C0001_x", None])
    from storelift.governance.traces import count_in_values

    assert count_in_values(values, pattern) == 2
    assert count_in_bytes("a C0001 b C00012".encode("utf-32-le"), ["C0001"]) == 1


def test_queued_requests_are_carried_out(synthetic_workspace, tmp_path):
    ws = copy_of(synthetic_workspace, tmp_path)
    customer = busiest_customer(ws)
    other = sorted(set(ws.warehouse.table("customers").customer_id.execute()) - {customer})[0]
    serve_some_traffic(ws, customer, other)
    hold = submit(ws, "fraud_hold", customer, {"reason": "chargebacks"}, "risk-bot", "three chargebacks")
    results = erase_queued(ws)
    assert [r.complete for r in results] == [True]
    assert ws.warehouse.table("customers").filter(lambda t: t.customer_id == customer).count().execute() == 0
    assert erase_queued(ws) == []  # nothing left in the queue
    # the hold on the customer went with them; its audit entries stay and still reconcile
    assert ws.warehouse.count("approvals") == 0
    with pytest.raises(UnknownRequestError):
        approval_request(ws, hold.request_id)
    assert verify_approvals(ws).empty and verify_workspace(ws)[1].empty


def test_erasure_on_a_workspace_built_from_online_retail(tmp_path):
    """Acceptance: a workspace built from real data keeps no trace of an erased customer."""
    source = pd.read_parquet(shared_file("online_retail", "online_retail.parquet"))
    ws = Workspace.init(tmp_path / "retail")
    export = ws.root / "data" / "online_retail.parquet"
    source.iloc[:60_000].to_parquet(export)  # the first weeks of sales keep the test quick
    ingest_paths(ws, [export])
    run_scoring(ws, "2011-01-01")
    run_fit(ws, "ease")
    run_report(ws, samples=3)
    customer = busiest_customer(ws)
    products = set(ws.warehouse.table("products").product_id.execute())
    assert customer not in products, "the check below needs a customer id that is not also a product id"
    other = sorted(set(ws.warehouse.table("customers").customer_id.execute()) - {customer})[0]
    serve_some_traffic(ws, customer, other)
    with OnlineStore.open(None, ws.root) as store:
        ids = set().union(*customer_identifiers(ws, customer, store.db).values())
        before = scan_workspace(ws, ids, store.db)
    kinds = set(before["kind"])
    assert {"warehouse", "online", "parquet", "pickle"} <= kinds, before
    assert len(before) >= 8, before

    result = erase_customer(ws, customer)

    assert result.complete, result.traces
    with OnlineStore.open(None, ws.root) as store:
        assert scan_workspace(ws, ids, store.db).empty
    assert verify_workspace(ws)[1].empty


def test_erasure_while_the_service_holds_the_online_store_open(synthetic_workspace, tmp_path):
    """A reader keeps its transaction open (as a serving worker may): the erasure still removes the rows;
    whatever copy the WAL must keep is reported, and a second run once the reader is gone cleans it."""
    import sqlite3

    ws = copy_of(synthetic_workspace, tmp_path)
    customer = busiest_customer(ws)
    other = sorted(set(ws.warehouse.table("customers").customer_id.execute()) - {customer})[0]
    serve_some_traffic(ws, customer, other)
    reader = sqlite3.connect(ws.root / "online.sqlite", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM events").fetchone()
    first = erase_customer(ws, customer)
    assert set(first.traces["kind"]) <= {"bytes"}, first.traces  # no table row is left, at most WAL bytes
    reader.execute("COMMIT")
    reader.close()
    second = erase_customer(ws, customer)
    assert second.complete, second.traces
