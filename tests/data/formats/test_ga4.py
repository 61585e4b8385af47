"""GA4 BigQuery export: e-commerce events under Segment names, purchases as orders, refunds."""

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from storelift.data.formats import registry
from storelift.data.formats.ga4 import GA4Adapter
from storelift.data.formats.segment import SegmentAdapter
from storelift.data.ingest import IngestOptions, ingest_file
from storelift.warehouse import Warehouse

from support import KEY

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "ga4_events.jsonl"
DEVICE = "1187324561.1709289990"
SESSION = f"{DEVICE}:1709290000"


def _rows(wh, table) -> pd.DataFrame:
    return wh.table(table).execute()


def _events(path=FIXTURE) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _write(tmp_path, events, name="events_20240301.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _parquet(tmp_path, events) -> Path:
    """The same rows as BigQuery writes them to Parquet: INT64 columns as numbers, not text."""
    for e in events:
        e["event_timestamp"] = int(e["event_timestamp"])
        for p in e["event_params"]:
            if p["value"]["int_value"] is not None:
                p["value"]["int_value"] = int(p["value"]["int_value"])
    path = tmp_path / "events_20240301.parquet"
    pq.write_table(pa.Table.from_pylist(events), path)
    return path


def test_export_is_detected_as_ga4_and_segment_stays_segment(tmp_path):
    assert isinstance(registry.detect(FIXTURE), GA4Adapter)
    assert isinstance(registry.detect(_parquet(tmp_path, _events())), GA4Adapter)
    segment = _write(tmp_path, [{"type": "track", "messageId": "m1", "event": "Product Viewed",
                                 "timestamp": "2024-03-01T10:00:00Z"}], "segment.jsonl")
    assert isinstance(registry.detect(segment), SegmentAdapter)


def test_detection_reads_a_first_row_longer_than_the_sniffed_head(tmp_path):
    events = _events()
    events[0]["event_params"] += [{"key": f"p{i}", "value": {"string_value": "x" * 50}} for i in range(300)]
    assert len(json.dumps(events[0])) > 8192
    assert isinstance(registry.detect(_write(tmp_path, events)), GA4Adapter)


def test_ecommerce_events_load_and_others_are_quarantined_saying_how_to_keep_them(warehouse, options):
    r = ingest_file(warehouse, FIXTURE, options)
    assert r.format == "ga4" and r.reconciles
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) == (8, 7, 1, 0)
    assert r.rows_added == {"products": 2, "orders": 1, "order_lines": 2, "refunds": 1, "events": 8}
    events = _rows(warehouse, "events").sort_values(["occurred_at", "product_id"])
    assert events["event"].tolist() == [
        "Page Viewed", "Products Searched", "Product Viewed", "Product Added", "Product Added",
        "Checkout Started", "Order Completed", "Order Refunded"]
    q = _rows(warehouse, "quarantine")
    assert q["line"].tolist() == [1]
    assert "'event_name' (event) is 'session_start'" in q["reason"][0] and "custom_events" in q["reason"][0]


def test_custom_events_keep_ga4_events_under_their_own_name(warehouse):
    r = ingest_file(warehouse, FIXTURE, IngestOptions(pii_key=KEY, custom_events=("session_start",)))
    assert (r.rows_loaded, r.rows_quarantined) == (8, 0)
    assert "session_start" in set(_rows(warehouse, "events")["event"])


def test_event_fields_come_from_params_items_and_the_timestamp(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    events = _rows(warehouse, "events")
    by_name = events.set_index("event")
    assert set(events["anonymous_id"]) == {DEVICE}
    assert by_name.loc["Page Viewed", "occurred_at"] == pd.Timestamp("2024-03-01 10:46:40.120000")
    assert by_name.loc["Page Viewed", "session_id"] == SESSION  # ga_session_id is only unique per device
    assert pd.isna(by_name.loc["Page Viewed", "customer_id"])
    assert by_name.loc["Order Completed", "customer_id"] == "cust-42"
    assert by_name.loc["Products Searched", "query"] == "organic tee"
    assert by_name.loc["Product Viewed", ["product_id", "value", "currency"]].tolist() == ["SKU_TEE_BLK", 25.0, "USD"]
    added = events[events["event"] == "Product Added"].sort_values("product_id")
    assert added["product_id"].tolist() == ["SKU_SOCK_3P", "SKU_TEE_BLK"] and added["event_id"].nunique() == 2
    assert by_name.loc["Order Completed", ["order_id", "value"]].tolist() == ["T-9001", 62.0]
    assert by_name.loc["Order Refunded", ["order_id", "value"]].tolist() == ["T-9001", 12.0]
    props = json.loads(by_name.loc["Order Completed", "properties"])
    assert props["ga4_event"] == "purchase" and props["transaction_id"] == "T-9001" and len(props["items"]) == 2


def test_purchase_writes_the_order_its_lines_and_products(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    order = _rows(warehouse, "orders").set_index("order_id").loc["T-9001"]
    assert order[["customer_id", "anonymous_id", "currency", "status", "channel", "country"]].tolist() == \
        ["cust-42", DEVICE, "USD", "completed", "web", "United States"]
    assert (order["shipping_amount"], order["tax_amount"], order["session_id"]) == (4.99, 5.12, SESSION)
    assert order["ordered_at"] == pd.Timestamp("2024-03-01 10:53:32.345678")
    lines = _rows(warehouse, "order_lines").sort_values("line_number")
    assert lines[["line_number", "product_id", "quantity", "unit_price", "amount"]].values.tolist() == [
        [1, "SKU_TEE_BLK", 2.0, 25.0, 50.0], [2, "SKU_SOCK_3P", 1.0, 12.0, 12.0]]
    products = _rows(warehouse, "products").set_index("product_id")
    assert products.loc["SKU_SOCK_3P", ["title", "brand", "category", "price", "currency"]].tolist() == \
        ["Crew Socks, 3 pack", "Northwind", "Apparel > Basics", 12.0, "USD"]  # "(not set)" levels dropped


def test_refund_event_writes_a_refund(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    refunds = _rows(warehouse, "refunds")
    assert len(refunds) == 1
    refund = refunds.iloc[0]
    assert (refund["order_id"], refund["amount"], refund["currency"], refund["kind"]) == ("T-9001", 12.0, "USD", "refund")
    assert refund["refunded_at"] == pd.Timestamp("2024-03-02 11:48:20")
    assert refund["refund_id"] in set(_rows(warehouse, "events")["event_id"])


def test_reingest_adds_no_rows(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    tables = ("events", "orders", "order_lines", "products", "refunds")
    before = {t: warehouse.count(t) for t in tables}
    again = ingest_file(warehouse, FIXTURE, options)
    assert again.reconciles and (again.rows_loaded, again.rows_duplicate, again.rows_quarantined) == (0, 7, 1)
    assert sum(again.rows_added.values()) == 0
    assert {t: warehouse.count(t) for t in tables} == before


def test_parquet_export_loads_the_same_events_with_the_same_ids(tmp_path, warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    path = _parquet(tmp_path, _events())
    other = Warehouse(f"duckdb://{tmp_path / 'parquet.duckdb'}")
    try:
        r = ingest_file(other, path, options)
        assert r.format == "ga4" and (r.rows_read, r.rows_loaded, r.rows_quarantined) == (8, 7, 1)
        assert set(_rows(other, "events")["event_id"]) == set(_rows(warehouse, "events")["event_id"])
        assert _rows(other, "order_lines")["amount"].sum() == 62.0
    finally:
        other.close()
    again = ingest_file(warehouse, path, options)  # the JSON and Parquet copies are the same events
    assert (again.rows_loaded, again.rows_duplicate) == (0, 7)


def test_same_moment_events_of_one_device_keep_apart(tmp_path, warehouse, options):
    """Two view_promotion hits in the same millisecond are two events, told apart by their batch index."""
    events = _events()
    a, b = dict(events[1], event_name="view_promotion"), dict(events[1], event_name="view_promotion")
    a["batch_event_index"], b["batch_event_index"] = "1", "2"
    r = ingest_file(warehouse, _write(tmp_path, [a, b]), options)
    assert (r.rows_loaded, r.rows_duplicate) == (2, 0) and warehouse.count("events") == 2


def test_bad_rows_are_quarantined_naming_the_field(tmp_path, warehouse, options):
    events = _events()
    events[1]["event_timestamp"] = "yesterday"                           # page_view
    purchase = events[6]
    purchase["event_params"] = [p for p in purchase["event_params"] if p["key"] != "currency"]
    r = ingest_file(warehouse, _write(tmp_path, events), options)
    assert r.reconciles and (r.rows_loaded, r.rows_quarantined) == (5, 3)
    q = _rows(warehouse, "quarantine").set_index("line")["reason"]
    assert "'event_timestamp' is 'yesterday', not microseconds" in q[2]
    assert "required 'event_params.currency' (currency) is empty" in q[7]
    assert warehouse.count("orders") == 0 and "Order Completed" not in set(_rows(warehouse, "events")["event"])
