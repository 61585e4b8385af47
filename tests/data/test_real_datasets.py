"""Ingest of the public datasets in ../shared/data: counts reconcile to the verified source counts
(each dataset's README), a second ingest adds nothing, and injected bad rows are quarantined."""

import pandas as pd
import pytest

from storelift.data.ingest import IngestOptions, ingest_file
from support import KEY, shared_file

pytestmark = pytest.mark.realdata
OPTIONS = IngestOptions(chunk_rows=100_000, pii_key=KEY)
CANONICAL = ("customers", "products", "orders", "order_lines", "refunds", "events")


def _counts(wh) -> dict[str, int]:
    return {t: wh.count(t) for t in CANONICAL}


def _sql(wh, query: str):
    return wh.con.sql(query).execute()


def _ingest_twice(wh, path):
    first = ingest_file(wh, path, OPTIONS)
    before = _counts(wh)
    second = ingest_file(wh, path, OPTIONS)
    assert _counts(wh) == before, "a second ingest must add no rows"
    assert (second.rows_loaded, second.rows_duplicate) == (0, first.rows_loaded)
    assert first.reconciles and second.reconciles
    return first


def test_online_retail(warehouse):
    r = _ingest_twice(warehouse, shared_file("online_retail", "online_retail.parquet"))
    assert r.rows_read == 541_909
    # the two bad-debt adjustments with a negative price are the only bad rows in the file
    assert (r.rows_loaded, r.rows_quarantined) == (541_907, 2)
    q = warehouse.table("quarantine").execute()
    assert q["reason"].str.contains("'UnitPrice' \\(unit_price\\) is -11062.06").all()
    refunds = warehouse.table("refunds").execute()
    assert len(refunds) == 10_624  # every negative quantity
    assert (refunds["kind"] == "cancellation").sum() == 9_288  # every "C" invoice row
    assert (refunds["quantity"] > 0).all() and (refunds["amount"] >= 0).all()
    assert refunds["order_id"].notna().sum() > 0.5 * len(refunds), "most cancellations link to their order"
    lines = warehouse.count("order_lines")
    assert lines == 541_909 - 10_624 - 2
    guests = _sql(warehouse, """
        select (select count(*) from order_lines l join orders o using (order_id) where o.customer_id is null)
             + (select count(*) from refunds where customer_id is null) as n""")["n"][0]
    assert guests == 135_080 - 2  # rows without a customer, less the two quarantined ones
    assert warehouse.count("customers") == 4_372
    # sales minus refunds equals the file's signed total, less the quarantined adjustments
    net = _sql(warehouse, "select (select sum(amount) from order_lines) - (select sum(amount) from refunds) as v")["v"][0]
    assert net == pytest.approx(9_747_747.93 + 2 * 11_062.06, abs=0.05)


def test_online_retail_with_injected_bad_rows(tmp_path, warehouse):
    frame = pd.read_parquet(shared_file("online_retail", "online_retail.parquet"))
    csv_path = tmp_path / "online_retail_copy.csv"
    frame.to_csv(csv_path, index=False)
    good = csv_path.read_text().rstrip("\n").split("\n")
    injected = [
        "536999,85123A,MUG,three,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",   # wrong type
        ",85123A,MUG,3,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",             # missing key
        "537000,85123A,MUG,3,2010-12-01 08:26:00,-2.55,17850.0,United Kingdom",      # negative price
        "537001,85123A,MUG,3,2010-02-30 08:26:00,2.55,17850.0,United Kingdom",       # impossible date
        "537002,85123A,MUG,3,2099-12-01 08:26:00,2.55,17850.0,United Kingdom",       # future date
        '537003,85123A,"MUG,3,2010-12-01 08:26:00,2.55,17850.0,United Kingdom',      # broken quoting
        "537004,85123A,MUG,3,2010-12-01 08:26:00",                                   # too few fields
    ]
    lines = good[:1000] + injected[:4] + good[1000:300000] + injected[4:] + good[300000:]
    csv_path.write_text("\n".join(lines) + "\n537005,85123A,MUG,3,2010-12-0")    # truncated last line
    r = ingest_file(warehouse, csv_path, OPTIONS)
    assert r.reconciles
    assert r.rows_read == 541_909 + len(injected) + 1
    assert r.rows_loaded == 541_907  # every good row of the original
    assert r.rows_quarantined == 2 + len(injected) + 1
    reasons = warehouse.table("quarantine").execute().sort_values("line")["reason"].tolist()
    for phrase in ["'three', not a number", "required 'InvoiceNo' (order_id) is empty", "-2.55",
                   "'2010-02-30 08:26:00', not a date", "impossible date", "never closed", "fewer than the header",
                   "has 5 fields"]:
        assert any(phrase in r for r in reasons), phrase


def test_cdnow(warehouse):
    r = _ingest_twice(warehouse, shared_file("cdnow", "CDNOW_master.txt"))
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (69_659, 69_659, 0)
    assert warehouse.count("customers") == 23_570
    span = _sql(warehouse, "select min(ordered_at) a, max(ordered_at) b, sum(amount) v from orders join order_lines using (order_id)")
    assert str(span["a"][0].date()) == "1997-01-01" and str(span["b"][0].date()) == "1998-06-30"
    assert span["v"][0] == pytest.approx(2_500_315.63, abs=0.01)


def test_diginetica(warehouse):
    r = _ingest_twice(warehouse, shared_file("diginetica", "train-purchases.csv"))
    assert (r.rows_read, r.rows_loaded) == (18_025, 18_025)
    assert _counts(warehouse) | {} == {"customers": 4_425, "products": 11_244, "orders": 13_506,
                                       "order_lines": 18_025, "refunds": 0, "events": 0}
    # an order belongs to a customer when any of its rows names one (order 5449 mixes "NA" and a user)
    source = pd.read_csv(shared_file("diginetica", "train-purchases.csv"), sep=";", dtype=str, keep_default_na=False)
    assert (source["userId"] != "NA").sum() == 6_703
    with_user = set(source.loc[source["userId"] != "NA", "ordernumber"])
    expected = int(source["ordernumber"].isin(with_user).sum())
    known = _sql(warehouse, "select count(*) n from order_lines join orders using (order_id) where customer_id is not null")
    assert known["n"][0] == expected
    # the category map, loaded after the purchases, fills the categories of the products bought
    cats = _ingest_twice(warehouse, shared_file("diginetica", "product-categories.csv"))
    assert (cats.rows_read, cats.rows_loaded, cats.rows_filled) == (184_047, 184_047, {"products": 11_244})
    assert warehouse.count("products") == 184_047
    assert int(_sql(warehouse, "select count(*) n from products where category is null")["n"][0]) == 0


@pytest.mark.parametrize("folder,name,users,items,interactions", [
    ("amazon_beauty", "Beauty.txt", 22_363, 12_101, 198_502),
    ("amazon_toys_and_games", "Toys_and_Games.txt", 19_412, 11_924, 167_597),
])
def test_amazon_sequences(warehouse, folder, name, users, items, interactions):
    r = _ingest_twice(warehouse, shared_file(folder, name))
    assert (r.rows_read, r.rows_loaded) == (users, users)
    assert _counts(warehouse)["events"] == interactions
    assert warehouse.count("products") == items and warehouse.count("customers") == users
    order = _sql(warehouse, "select customer_id, product_id from events where customer_id = '1' order by sequence")
    first_line = shared_file(folder, name).read_text().split("\n")[0].split()
    assert order["product_id"].tolist() == first_line[1:]


def test_canonical_copy_of_cdnow_with_injected_bad_rows(tmp_path, warehouse):
    """CDNOW's orders as a canonical orders.csv, with an unknown currency and other bad rows mixed in."""
    ingest_file(warehouse, shared_file("cdnow", "CDNOW_master.txt"), OPTIONS)
    orders = warehouse.table("orders").execute()[["order_id", "customer_id", "ordered_at", "currency"]]
    path = tmp_path / "orders.csv"
    orders.to_csv(path, index=False)
    good = path.read_text().rstrip("\n").split("\n")
    injected = [
        "x1,00001,1997-01-01 00:00:00,USX",      # unknown currency
        "x2,00001,1997-01-01 00:00:00,",         # missing required currency
        "x3,00001,yesterday,USD",                # wrong type
        ",00001,1997-01-01 00:00:00,USD",        # missing key
        "x5,00001,1897-01-01 00:00:00,USD",      # impossible date
        'x6,"00001,1997-01-01 00:00:00,USD',     # broken quoting
    ]
    path.write_text("\n".join(good[:20_000] + injected + good[20_000:]) + "\nx7,00001,1997-0")
    other = type(warehouse)(f"duckdb://{tmp_path / 'copy.duckdb'}")
    other.ensure_tables()
    r = ingest_file(other, path, OPTIONS)
    assert r.reconciles and (r.rows_read, r.rows_loaded, r.rows_quarantined) == (69_659 + 7, 69_659, 7)
    reasons = " | ".join(other.table("quarantine").execute()["reason"])
    for phrase in ["'USX', not an ISO 4217 currency", "required 'currency' is empty", "'yesterday', not a date",
                   "required 'order_id' is empty", "impossible date", "never closed", "fewer than the header"]:
        assert phrase in reasons, phrase
    other.close()
