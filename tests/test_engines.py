"""The same ingest and the same aggregate through DuckDB, PySpark (local mode) and PostgreSQL agree exactly."""

import os
import subprocess
import sys

import pandas as pd
import pytest

from storelift.audit import run_audit
from storelift.data.ingest import IngestOptions, ingest_file
from storelift.measure import revenue_by_month
from storelift.warehouse import Warehouse
from support import KEY, shared_file


@pytest.fixture(scope="session")
def sample_csv(tmp_path_factory):
    """The first 4,000 Online Retail rows as CSV, with a bad row: sales, cancellations, guests, quarantine."""
    frame = pd.read_parquet(shared_file("online_retail", "online_retail.parquet")).iloc[:4000]
    path = tmp_path_factory.mktemp("engines") / "online_retail_sample.csv"
    frame.to_csv(path, index=False)
    with open(path, "a") as fh:
        fh.write("536999,85123A,MUG,3,2010-12-01 08:26:00,-2.55,17850.0,United Kingdom\n")
    return path


def _table(wh, name, key):
    """Rows in key order; nulls as None, since the engines return an all-null column as None or NaN."""
    frame = wh.table(name).execute().drop(columns=["source"], errors="ignore")
    frame = frame.sort_values(list(key)).reset_index(drop=True)
    return frame.astype(object).where(frame.notna(), None)


@pytest.mark.parametrize("engine", [pytest.param("spark_warehouse", marks=pytest.mark.spark), "postgres_warehouse"])
def test_ingest_and_revenue_by_month_agree_with_duckdb(tmp_path, request, engine, sample_csv):
    other = request.getfixturevalue(engine)
    duck = Warehouse(f"duckdb://{tmp_path / 'w.duckdb'}")
    duck.ensure_tables()
    options = IngestOptions(chunk_rows=1500, pii_key=KEY)
    reports = [ingest_file(wh, sample_csv, options) for wh in (duck, other)]
    counts = [(r.rows_read, r.rows_loaded, r.rows_quarantined, r.rows_duplicate, r.rows_added, r.refunds_linked)
              for r in reports]
    assert counts[0] == counts[1]
    assert counts[0][:3] == (4001, 4000, 1)
    for name, key in (("orders", ["order_id"]), ("order_lines", ["order_id", "line_number"]),
                      ("refunds", ["refund_id"]), ("customers", ["customer_id"])):
        pd.testing.assert_frame_equal(_table(duck, name, key), _table(other, name, key), check_dtype=False)
    results = [revenue_by_month(wh.table("orders"), wh.table("order_lines"), wh.table("refunds")).execute()
               for wh in (duck, other)]
    assert len(results[0]) >= 5  # countries of December 2010
    assert results[0]["net"].sum() > 0
    pd.testing.assert_frame_equal(results[0], results[1], check_dtype=False)
    audits = [run_audit(wh, as_of="2011-01-01").checks for wh in (duck, other)]
    pd.testing.assert_frame_equal(audits[0], audits[1], check_dtype=False)
    again = ingest_file(other, sample_csv, options)
    assert (again.rows_loaded, again.rows_duplicate) == (0, 4000)


LOAD_AND_COUNT = """
import sys, warnings
warnings.filterwarnings("ignore")
from storelift import Workspace
from storelift.data.ingest import ingest_file
ws = Workspace.init(sys.argv[1], warehouse_url="pyspark://local[1]?warehouse=spark")
if len(sys.argv) > 2:
    ingest_file(ws.warehouse, sys.argv[2], ws.ingest_options())
print("ORDERS", ws.warehouse.count("orders"))
"""


@pytest.mark.spark
def test_a_spark_workspace_keeps_its_tables_across_processes(tmp_path, spark_warehouse):
    """Tables live in a Hive metastore beside the data, so a new session sees what an old one wrote."""
    import sys

    (tmp_path / "orders.csv").write_text("order_id,ordered_at,currency\no1,2024-01-01,GBP\no2,2024-01-02,EUR\n")
    env = {**os.environ, "STORELIFT_KEY_DIR": str(tmp_path / "keys")}
    runs = [subprocess.run([sys.executable, "-c", LOAD_AND_COUNT, str(tmp_path / "ws"), *extra],
                           capture_output=True, text=True, env=env, timeout=300)
            for extra in ([str(tmp_path / "orders.csv")], [])]
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    assert [r.stdout.split("ORDERS")[-1].strip() for r in runs] == ["2", "2"]
    assert (tmp_path / "ws" / "spark" / "metastore_db").is_dir()
