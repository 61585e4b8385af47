"""Shopify orders export: orders, lines, customers, consents and refunds from one row per line item."""

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storelift.data.formats import registry
from storelift.data.formats.shopify import ShopifyAdapter, whole_orders
from storelift.data.ingest import IngestOptions, ingest_file
from storelift.data.pii import pseudonym
from storelift.data.readers import RawChunk

from support import KEY

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "shopify_orders_export.csv"
JANE, BOB, CARLA, DAN = "jane.doe@example.com", "bob.smith@example.com", "carla.rossi@example.com", "dan.lee@example.com"
# Every e-mail, phone, name and street of the fixture, as written there.
RAW_PII = [JANE, "Jane.Doe@Example.com", BOB, CARLA, DAN, "+1 555 201 0001", "+1 555 201 0005", "+1 555 201 0006",
           "555 201", "Jane Doe", "Bob Smith", "Carla Rossi", "Dan Lee", "12 Harbor Road", "Apt 4B",
           "400 Pine Street", "Via Roma 10", "77 Elm Street"]


def _rows(wh, table) -> pd.DataFrame:
    return wh.table(table).execute()


def _orders(wh) -> pd.DataFrame:
    return _rows(wh, "orders").set_index("order_id")


def _copy_with(tmp_path, old: str, new: str, count: int = 1) -> Path:
    text = FIXTURE.read_text()
    assert text.count(old) >= count, old
    path = tmp_path / "orders_export_1.csv"
    path.write_text(text.replace(old, new, count))
    return path


def test_export_is_detected_as_shopify(tmp_path):
    assert isinstance(registry.detect(FIXTURE), ShopifyAdapter)
    renamed = tmp_path / "orders_export_1.csv"  # Shopify's own file name also fits the canonical orders rule
    renamed.write_bytes(FIXTURE.read_bytes())
    assert isinstance(registry.detect(renamed), ShopifyAdapter)
    other = tmp_path / "orders.csv"
    other.write_text("order_id,ordered_at,currency\no1,2024-01-01,GBP\n")
    assert not isinstance(registry.detect(other), ShopifyAdapter)


def test_counts_reconcile_one_record_per_line_item(warehouse, options):
    r = ingest_file(warehouse, FIXTURE, options)
    assert r.format == "shopify" and r.reconciles
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate) == (9, 9, 0, 0)
    assert r.rows_added == {"customers": 4, "products": 7, "orders": 6, "order_lines": 9, "refunds": 2,
                            "consents": 5}


def test_orders_carry_their_first_rows_fields(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    got = _orders(warehouse)
    assert sorted(got.index) == [f"512345600100{i}" for i in range(1, 7)]  # the Id column, not the Name
    assert got["status"].to_dict() == {
        "5123456001001": "completed", "5123456001002": "completed", "5123456001003": "refunded",
        "5123456001004": "partially_refunded", "5123456001005": "pending", "5123456001006": "cancelled"}
    assert got["currency"].value_counts().to_dict() == {"USD": 4, "CAD": 1, "EUR": 1}
    assert got.loc["5123456001001", "ordered_at"] == pd.Timestamp("2024-03-01 15:15:42")  # -0500 to UTC
    assert got.loc["5123456001005", "ordered_at"] == pd.Timestamp("2024-03-10 08:05:00")  # +0100 to UTC
    assert got["channel"].to_dict() == {
        "5123456001001": "web", "5123456001002": "pos", "5123456001003": "web", "5123456001004": "app",
        "5123456001005": "web", "5123456001006": "web"}
    assert got.loc["5123456001005", "country"] == "IT" and pd.isna(got.loc["5123456001002", "country"])
    assert got.loc["5123456001001", "shipping_amount"] == 5.0 and got.loc["5123456001005", "tax_amount"] == 14.08
    # #1001's 11.00 discount sits on its lines; #1004's 5.00 code is not allocated to any line
    assert got["discount_amount"].to_dict()["5123456001001"] == 0.0
    assert got["discount_amount"].to_dict()["5123456001004"] == 5.0


def test_lines_are_numbered_within_their_order_and_net_of_line_discounts(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    lines = _rows(warehouse, "order_lines").sort_values(["order_id", "line_number"])
    assert len(lines) == 9
    assert lines.groupby("order_id")["line_number"].apply(list).to_dict() == {
        "5123456001001": [1, 2], "5123456001002": [1], "5123456001003": [1], "5123456001004": [1, 2, 3],
        "5123456001005": [1], "5123456001006": [1]}
    first = lines[lines["order_id"] == "5123456001001"].set_index("line_number")
    assert first.loc[1, ["product_id", "quantity", "unit_price", "discount_amount", "amount"]].tolist() == \
        ["LS-BLU-M", 2.0, 45.0, 9.0, 81.0]
    assert first.loc[2, "amount"] == 18.0
    assert lines["amount"].sum() == pytest.approx(305.0)
    # a line without a SKU is keyed by its name
    assert "Handmade Soap - Lavender" in set(lines["product_id"])
    products = _rows(warehouse, "products").set_index("product_id")
    assert products.loc["NAP-4", "title"] == "Linen Napkins, Set of 4"
    assert products.loc["OWB-L", ["vendor", "price", "currency"]].tolist() == ["Bosco", 32.0, "EUR"]


def test_order_split_across_chunks_loads_the_same(warehouse, options, tmp_path):
    whole = ingest_file(warehouse, FIXTURE, options)
    from storelift.warehouse import Warehouse

    small = Warehouse(f"duckdb://{tmp_path / 'small.duckdb'}")
    try:
        r = ingest_file(small, FIXTURE, IngestOptions(chunk_rows=1, pii_key=KEY))
        assert r.reconciles and r.rows_added == whole.rows_added
        for table, key in (("orders", ["order_id"]), ("order_lines", ["order_id", "line_number"])):
            a = _rows(warehouse, table).drop(columns="source").sort_values(key).reset_index(drop=True)
            b = _rows(small, table).drop(columns="source").sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(a, b)
    finally:
        small.close()


def test_customer_id_is_the_emails_pseudonym_and_guests_have_none(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    got = _orders(warehouse)["customer_id"]
    jane = pseudonym(KEY, "email", JANE)
    assert got["5123456001001"] == jane and got["5123456001004"] == jane  # Jane.Doe@Example.com too
    assert got["5123456001003"] == pseudonym(KEY, "email", BOB)
    assert pd.isna(got["5123456001002"])  # the POS sale without an e-mail
    customers = _rows(warehouse, "customers").set_index("customer_id")
    assert len(customers) == 4 and (customers.index == customers["email"]).all()
    assert customers.loc[jane, "first_name"] == pseudonym(KEY, "first_name", "Jane")
    assert customers.loc[jane, "last_name"] == pseudonym(KEY, "last_name", "Doe")
    assert customers.loc[jane, "street_address"] == pseudonym(KEY, "street_address", "12 Harbor Road, Apt 4B")
    assert customers.loc[jane, ["city", "postal_code", "region", "country"]].tolist() == ["Portland", "04101", "ME", "US"]
    assert customers.loc[jane, "phone"] == pseudonym(KEY, "phone", "+1 555 201 0001")
    assert pd.isna(customers.loc[pseudonym(KEY, "email", BOB), "phone"])  # no phone is no phone, not a pseudonym
    # Dan's order has only a shipping address: it stands in for the billing one
    assert customers.loc[pseudonym(KEY, "email", DAN), "city"] == "Austin"
    for table in ("consents", "refunds"):
        assert _rows(warehouse, table)["customer_id"].str.startswith("psn_").all()


def test_accepts_marketing_becomes_email_consent_history(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    consents = _rows(warehouse, "consents")
    assert len(consents) == 5 and set(consents["purpose"]) == {"email"}
    jane = consents[consents["customer_id"] == pseudonym(KEY, "email", JANE)].sort_values("recorded_at")
    assert jane["granted"].tolist() == [True, False]  # granted with #1001, withdrawn with #1004
    assert jane["recorded_at"].tolist() == [pd.Timestamp("2024-03-01 15:15:42"), pd.Timestamp("2024-03-09 00:30:00")]
    by_customer = consents.groupby("customer_id")["granted"].last()
    assert by_customer[pseudonym(KEY, "email", CARLA)] and not by_customer[pseudonym(KEY, "email", BOB)]


def test_refunded_amount_becomes_an_order_level_refund(warehouse, options):
    r = ingest_file(warehouse, FIXTURE, options)
    refunds = _rows(warehouse, "refunds").set_index("refund_id")
    assert sorted(refunds.index) == ["5123456001003:refund", "5123456001004:refund"]
    bob = refunds.loc["5123456001003:refund"]
    assert (bob["order_id"], bob["amount"], bob["currency"], bob["kind"]) == ("5123456001003", 33.6, "USD", "refund")
    assert bob["refunded_at"] == pd.Timestamp("2024-03-05 19:20:00")  # the cancellation time, in UTC
    assert pd.isna(bob["product_id"]) and bob["source_document"] == "#1003"
    assert refunds.loc["5123456001004:refund", "amount"] == 12.0
    assert refunds.loc["5123456001004:refund", "refunded_at"] == pd.Timestamp("2024-03-09 00:30:00")
    assert r.refunds_linked == 0  # each refund names its order already


def test_reingest_adds_no_rows(warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    tables = ("orders", "order_lines", "products", "customers", "consents", "refunds")
    before = {t: warehouse.count(t) for t in tables}
    again = ingest_file(warehouse, FIXTURE, options)
    assert again.reconciles and (again.rows_loaded, again.rows_duplicate, again.rows_quarantined) == (0, 9, 0)
    assert sum(again.rows_added.values()) == 0 and again.rows_filled == {}
    assert {t: warehouse.count(t) for t in tables} == before


def _every_value(warehouse) -> str:
    values = []
    for name in warehouse.con.list_tables():
        frame = warehouse.table(name).execute()
        for col in frame.columns:
            values.extend(str(v) for v in frame[col].dropna())
    return "\n".join(values).lower()


def test_no_raw_email_phone_name_or_street_in_any_table(tmp_path, warehouse, options):
    ingest_file(warehouse, FIXTURE, options)
    # and a quarantined row of Jane's, whose raw text is kept
    ingest_file(warehouse, _copy_with(tmp_path, "1,Canvas Tote,20.00", "1,Canvas Tote,twenty"), options)
    assert warehouse.count("quarantine") == 1
    values = _every_value(warehouse)
    for raw in RAW_PII:
        assert raw.lower() not in values, raw


def test_raw_pii_kept_only_when_opted_in(warehouse):
    """The control for the scan above: it does find the raw values when the workspace keeps them."""
    ingest_file(warehouse, FIXTURE, IngestOptions(keep_raw_pii=True))
    values = _every_value(warehouse)
    assert JANE in values and "+1 555 201 0005" in values


def test_non_numeric_price_quarantines_its_row_naming_the_column(tmp_path, warehouse, options):
    path = _copy_with(tmp_path, "1,Canvas Tote,20.00", "1,Canvas Tote,twenty")  # #1001's second line, line 4
    r = ingest_file(warehouse, path, options)
    assert r.reconciles and (r.rows_read, r.rows_loaded, r.rows_quarantined) == (9, 8, 1)
    q = _rows(warehouse, "quarantine").set_index("line")
    assert list(q.index) == [4]
    assert "'Lineitem price' (unit_price) is 'twenty', not a number" in q.loc[4, "reason"]
    assert "twenty" in q.loc[4, "raw"] and JANE not in q.loc[4, "raw"]
    assert pseudonym(KEY, "email", JANE) in q.loc[4, "raw"]
    lines = _rows(warehouse, "order_lines")
    assert len(lines) == 8 and lines[lines["order_id"] == "5123456001001"]["line_number"].tolist() == [1]


def test_bad_order_field_quarantines_the_whole_order(tmp_path, warehouse, options):
    path = _copy_with(tmp_path, "2024-03-08 19:30:00 -0500", "last friday")  # #1004's Created at, 3 rows
    r = ingest_file(warehouse, path, options)
    assert r.reconciles and (r.rows_loaded, r.rows_quarantined) == (6, 3)
    q = _rows(warehouse, "quarantine").set_index("line")["reason"]
    assert list(q.index) == [7, 8, 9]
    assert all("'Created at' (ordered_at) is 'last friday', not a date/time" in reason for reason in q)
    assert "5123456001004" not in set(_rows(warehouse, "order_lines")["order_id"])
    assert "5123456001004:refund" not in set(_rows(warehouse, "refunds")["refund_id"])


def test_unknown_financial_status_is_quarantined_with_the_statuses(tmp_path, warehouse, options):
    path = _copy_with(tmp_path, "#1003,bob.smith@example.com,refunded", "#1003,bob.smith@example.com,settled")
    r = ingest_file(warehouse, path, options)
    assert (r.rows_loaded, r.rows_quarantined) == (8, 1)
    reason = _rows(warehouse, "quarantine")["reason"][0]
    assert "'Financial Status' is 'settled', not a Shopify financial status" in reason and "partially_refunded" in reason


def test_row_apart_from_its_order_is_quarantined_not_misread(tmp_path, warehouse, options):
    rows = FIXTURE.read_text().split("\n")
    tote = next(i for i, r in enumerate(rows) if r.startswith("#1001,jane.doe@example.com,,"))
    moved = rows[:tote] + rows[tote + 1:-1] + [rows[tote], ""]  # #1001's second line, now last
    path = tmp_path / "orders_export_1.csv"
    path.write_text("\n".join(moved))
    r = ingest_file(warehouse, path, options)
    assert r.reconciles and (r.rows_loaded, r.rows_quarantined) == (8, 1)
    reason = _rows(warehouse, "quarantine").set_index("line").loc[11, "reason"]
    assert "row of order '#1001' is apart from the order's first row" in reason
    assert _rows(warehouse, "order_lines").groupby("order_id").size()["5123456001001"] == 1


def test_missing_required_column_is_an_error(tmp_path, warehouse, options):
    from storelift.errors import IngestError

    path = tmp_path / "orders_export_1.csv"
    frame = pd.read_csv(FIXTURE, dtype=str, keep_default_na=False)
    frame.drop(columns="Currency").to_csv(path, index=False)
    with pytest.raises(IngestError, match="Currency"):
        ingest_file(warehouse, path, options, fmt="shopify")


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 5), min_size=1, max_size=12), chunk_rows=st.integers(1, 7))
def test_rechunking_keeps_every_row_and_never_splits_an_order(sizes, chunk_rows):
    names = [f"#{1000 + i}" for i, n in enumerate(sizes) for _ in range(n)]
    frame = pd.DataFrame({"Name": names, "_line": range(2, 2 + len(names))})
    chunks = [RawChunk(frame.iloc[i:i + chunk_rows].reset_index(drop=True))
              for i in range(0, len(frame), chunk_rows)]
    out = [c.frame for c in whole_orders(iter(chunks))]
    assert pd.concat(out)["_line"].tolist() == frame["_line"].tolist()
    assert sum(f["Name"].nunique() for f in out) == len(sizes)  # each order in exactly one chunk
