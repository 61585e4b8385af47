"""Ingest behaviour on small files written here: reconciliation, idempotency, quarantine, PII."""

import json

import pandas as pd
import pytest

from storelift.data.ingest import IngestOptions, ingest_file
from storelift.errors import IngestError

from support import KEY

ORDERS = """order_id,customer_id,ordered_at,currency,status
o1,c1,2024-01-05T10:00:00Z,GBP,completed
o2,c2,2024-01-06 11:00:00,EUR,completed
o3,,2024-02-01T09:30:00+01:00,USD,completed
"""


def _rows(wh, table):
    return wh.table(table).execute()


def test_canonical_orders_load_and_reconcile(tmp_path, warehouse, options):
    p = tmp_path / "orders.csv"
    p.write_text(ORDERS)
    r = ingest_file(warehouse, p, options)
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) == (3, 3, 0, 0)
    got = _rows(warehouse, "orders").set_index("order_id")
    assert got.loc["o3", "ordered_at"] == pd.Timestamp("2024-02-01 08:30:00")  # offset honoured, stored in UTC
    assert got.loc["o2", "currency"] == "EUR"
    assert got.loc["o1", "source"] == "canonical:orders.csv"


def test_second_ingest_adds_nothing(tmp_path, warehouse, options):
    p = tmp_path / "orders.csv"
    p.write_text(ORDERS)
    ingest_file(warehouse, p, options)
    again = ingest_file(warehouse, p, options)
    assert (again.rows_loaded, again.rows_duplicate, again.rows_quarantined) == (0, 3, 0)
    assert warehouse.count("orders") == 3


def test_each_kind_of_bad_row_is_quarantined_with_its_reason(tmp_path, warehouse, options):
    p = tmp_path / "orders.csv"
    p.write_text(
        ORDERS
        + "o4,c4,not-a-date,GBP,completed\n"      # wrong type
        + ",c5,2024-01-01,GBP,completed\n"         # missing key
        + "o6,c6,2024-01-01,GBX,completed\n"       # unknown currency
        + "o7,c7,2199-01-01,GBP,completed\n"       # impossible date
        + "o8,c8,2024-01-01,GBP,shipped\n"         # value not allowed
        + 'o9,"c9,2024-01-01,GBP,completed\n'      # broken quoting
        + "o10,c10,2024-01-01,GBP\n"               # too few fields
        + "o11,c11,2024-03-01,GBP,completed\n"     # good row after the bad ones
        + "o12,c12,2024-03-0"                      # truncated last line
    )
    r = ingest_file(warehouse, p, options)
    assert r.reconciles and (r.rows_read, r.rows_loaded, r.rows_quarantined) == (12, 4, 8)
    assert sorted(_rows(warehouse, "orders")["order_id"]) == ["o1", "o11", "o2", "o3"]
    q = _rows(warehouse, "quarantine").set_index("line")["reason"]
    expected = {
        5: "'ordered_at' is 'not-a-date', not a date/time",
        6: "required 'order_id' is empty",
        7: "'GBX', not an ISO 4217 currency",
        8: "impossible date",
        9: "allowed values are",
        10: "never closed",
        11: "has 4 fields, fewer than the header's 5",
        13: "has 3 fields",
    }
    assert set(q.index) == set(expected)
    for line, phrase in expected.items():
        assert phrase in q[line], (line, q[line])


def test_negative_price_is_quarantined(tmp_path, warehouse, options):
    p = tmp_path / "order_lines.csv"
    p.write_text("order_id,line_number,product_id,quantity,unit_price,amount\no1,1,p1,2,5.0,10\no1,2,p2,1,-3,0\n")
    r = ingest_file(warehouse, p, options)
    assert (r.rows_loaded, r.rows_quarantined) == (1, 1)
    assert "'unit_price' is '-3'; it must be at least 0" in _rows(warehouse, "quarantine")["reason"][0]


def test_unknown_column_is_an_error_not_a_silent_drop(tmp_path, warehouse, options):
    p = tmp_path / "orders.csv"
    p.write_text("order_id,ordered_at,currency,colour\no1,2024-01-01,GBP,red\n")
    with pytest.raises(IngestError, match="colour"):
        ingest_file(warehouse, p, options)


def test_undetectable_file_names_the_formats(tmp_path, warehouse, options):
    p = tmp_path / "mystery.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(IngestError, match="--format"):
        ingest_file(warehouse, p, options)


def _pii_strings(warehouse) -> list[str]:
    """Every string value in every table, read back through SQL."""
    found = []
    for name in warehouse.con.list_tables():
        frame = warehouse.table(name).execute()
        for col in frame.columns:
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
                found.extend(str(v) for v in frame[col].dropna())
    return found


CUSTOMERS = """customer_id,email,phone,first_name,last_name,street_address,city,country
c1,Ann.Lee@example.com,+44 7700 900123,Ann,Lee,1 High Street,Leeds,GB
c2,bo@example.org,+1 555 010 2000,Bo,Chan,22 Elm Road,Boston,US
c3,cy@example.net,+33 6 12 34 56 78,Cy,Roux,3 Rue Neuve,Paris,XX-not-a-country-but-fine
c4,broken@example.com,+49 30 1234567,Di,"Ng,Berlin,DE
"""
SEGMENT = [
    {"type": "identify", "messageId": "m1", "userId": "c9", "timestamp": "2024-01-01T00:00:00Z",
     "traits": {"email": "nine@example.com", "phone": "+44 7700 900999", "firstName": "Nia"}},
    {"type": "track", "messageId": "m2", "userId": "c9", "event": "Products Searched",
     "timestamp": "2024-01-01T00:01:00Z", "properties": {"query": "mug", "contact": "nine@example.com"}},
    {"type": "track", "messageId": "m3", "userId": "c9", "event": "Product Teleported",
     "timestamp": "2024-01-01T00:02:00Z", "properties": {"email": "nine@example.com"}},
]
RAW_PII = ["Ann.Lee@example.com", "ann.lee@example.com", "+44 7700 900123", "bo@example.org", "+1 555 010 2000",
           "1 High Street", "broken@example.com", "+49 30 1234567", "nine@example.com", "+44 7700 900999"]


def _load_pii_sources(tmp_path, warehouse, options):
    (tmp_path / "customers.csv").write_text(CUSTOMERS)
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(m) for m in SEGMENT) + "\n")
    a = ingest_file(warehouse, tmp_path / "customers.csv", options)
    b = ingest_file(warehouse, tmp_path / "events.jsonl", options)
    return a, b


def test_no_raw_email_or_phone_anywhere_in_the_warehouse(tmp_path, warehouse, options):
    a, b = _load_pii_sources(tmp_path, warehouse, options)
    assert a.rows_quarantined == 1 and b.rows_quarantined == 1  # the broken row and the unknown event
    values = "\n".join(_pii_strings(warehouse))
    for raw in RAW_PII:
        assert raw not in values, raw
    emails = _rows(warehouse, "customers")["email"]
    assert emails.str.startswith("psn_").all() and emails.nunique() == 4


def test_raw_pii_kept_only_when_opted_in(tmp_path, warehouse):
    """The control for the scan above: with the opt-in, the same scan does find the raw values."""
    a, b = _load_pii_sources(tmp_path, warehouse, IngestOptions(keep_raw_pii=True))
    values = "\n".join(_pii_strings(warehouse))
    assert "Ann.Lee@example.com" in values and "+44 7700 900999" in values


def test_pseudonyms_are_stable_across_loads_and_case(tmp_path, warehouse, options):
    from storelift.data.pii import pseudonym

    _load_pii_sources(tmp_path, warehouse, options)
    emails = set(_rows(warehouse, "customers")["email"])
    assert pseudonym(KEY, "email", "ann.lee@EXAMPLE.com ") in emails


def test_category_file_after_purchases_fills_categories(tmp_path, warehouse, options):
    (tmp_path / "orders.csv").write_text("order_id,ordered_at,currency\no1,2024-01-01,GBP\n")
    (tmp_path / "products-a.csv").write_text("product_id,title\np1,Mug\np2,Lamp\n")
    (tmp_path / "products-b.csv").write_text("product_id,category\np1,Kitchen\np2,\np4,Garden\n")
    ingest_file(warehouse, tmp_path / "products-a.csv", options)
    r = ingest_file(warehouse, tmp_path / "products-b.csv", options)
    assert r.reconciles and (r.rows_loaded, r.rows_duplicate) == (2, 1)  # p1 filled, p4 new; p2 adds nothing
    assert r.rows_filled == {"products": 1}
    got = warehouse.table("products").execute().set_index("product_id")
    assert got.loc["p1", "title"] == "Mug" and got.loc["p1", "category"] == "Kitchen"
    assert got.loc["p4", "category"] == "Garden" and got["category"].isna().sum() == 1
    again = ingest_file(warehouse, tmp_path / "products-b.csv", options)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 3)


def test_missing_pii_stays_missing_not_a_pseudonym_of_nothing(tmp_path, warehouse, options):
    (tmp_path / "customers.csv").write_text("customer_id,email,phone\nc1,a@example.com,\nc2,,+44 7700 900111\n")
    ingest_file(warehouse, tmp_path / "customers.csv", options)
    got = warehouse.table("customers").execute().set_index("customer_id")
    assert got.loc["c1", "phone"] is None or pd.isna(got.loc["c1", "phone"])
    assert pd.isna(got.loc["c2", "email"]) and got.loc["c2", "phone"].startswith("psn_")


def _file_bytes(path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file and any WAL


@pytest.mark.parametrize("keep_raw", [False, True])
def test_scan_of_the_warehouse_file_bytes(tmp_path, keep_raw):
    """Byte scan of the DuckDB file itself. Storage compression is switched off for the scan, since
    compressed strings would hide raw values from it; keep_raw=True is the control that it finds them."""
    from storelift.warehouse import Warehouse

    path = tmp_path / "scan.duckdb"
    wh = Warehouse(f"duckdb://{path}?force_compression=uncompressed")
    wh.ensure_tables()
    _load_pii_sources(tmp_path, wh, IngestOptions(keep_raw_pii=True) if keep_raw else IngestOptions(pii_key=KEY))
    wh.close()
    content = _file_bytes(path)
    found = [raw for raw in RAW_PII if raw.encode() in content]
    if keep_raw:
        assert "Ann.Lee@example.com" in found and "nine@example.com" in found
    else:
        assert found == []
