"""rfm_table and cohort_activity give identical results on DuckDB and PySpark for a synthetic store."""

import pandas as pd
import pytest

from storelift.customers import customer_orders
from storelift.customers.cohorts import cohort_activity
from storelift.customers.rfm import rfm_table
from storelift.synth import generate_store

AS_OF = "2024-10-01"
# tables of their own: the Spark session (and its canonical tables) is shared by the whole run
PREFIX = "segments_parity_"
COLUMNS = {
    "orders": ["order_id", "customer_id", "ordered_at", "currency", "status"],
    "order_lines": ["order_id", "line_number", "amount"],
    "refunds": ["refund_id", "order_id", "amount"],
}


@pytest.fixture(scope="module")
def store_frames(tmp_path_factory):
    """A 500-customer synthetic store (a few thousand orders): the columns customer_orders reads."""
    folder = tmp_path_factory.mktemp("segments-store")
    generate_store(folder, customers=500, seed=11, events=False)
    frames = {}
    for name, columns in COLUMNS.items():
        frame = pd.read_parquet(folder / f"{name}.parquet", columns=columns).dropna()
        for column in frame.columns:
            if pd.api.types.is_string_dtype(frame[column]):
                frame[column] = frame[column].astype(object)
            elif pd.api.types.is_datetime64_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[us]")
        frames[name] = frame.reset_index(drop=True)
    return frames


def results(wh, frames) -> dict[str, pd.DataFrame]:
    """rfm_table and cohort_activity (month and week) on the store, loaded into `wh`."""
    for name, frame in frames.items():
        wh.con.create_table(PREFIX + name, obj=frame, overwrite=True)
    orders = customer_orders(*(wh.con.table(PREFIX + name) for name in COLUMNS))
    outputs = {
        "rfm": rfm_table(orders, AS_OF).execute(),
        "month": cohort_activity(orders, period="month").execute(),
        "week": cohort_activity(orders, period="week").execute(),
    }
    keys = {"rfm": ["customer_id"], "month": ["cohort", "period_index"], "week": ["cohort", "period_index"]}
    out = {}
    for name, frame in outputs.items():
        frame = frame.sort_values(keys[name]).reset_index(drop=True)
        for column in frame.columns:
            if pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = frame[column].astype("datetime64[us]")
            elif pd.api.types.is_string_dtype(frame[column]) or frame[column].dtype == object:
                frame[column] = frame[column].astype(str)
        if name != "rfm":
            frame["cohort"] = pd.to_datetime(frame["cohort"]).astype("datetime64[us]")
        out[name] = frame
    return out


@pytest.fixture(scope="module")
def duckdb_results(tmp_path_factory, store_frames):
    from storelift.warehouse import Warehouse

    wh = Warehouse(f"duckdb://{tmp_path_factory.mktemp('segments-duck') / 'w.duckdb'}")
    try:
        yield results(wh, store_frames)
    finally:
        wh.close()


def test_duckdb_results_cover_the_store(duckdb_results, store_frames):
    rfm = duckdb_results["rfm"]
    assert 300 < len(rfm) <= 500
    assert len(store_frames["orders"]) > 2000
    assert rfm["segment"].notna().all() and rfm["segment"].nunique() >= 8
    month = duckdb_results["month"]
    first = month[month.period_index == 0]
    assert (first["active_customers"] == first["cohort_size"]).all()
    assert first["cohort_size"].sum() == month.groupby("cohort")["cohort_size"].first().sum()


@pytest.mark.spark
def test_rfm_and_cohorts_agree_between_duckdb_and_spark(spark_warehouse, store_frames, duckdb_results):
    spark = results(spark_warehouse, store_frames)
    for name, expected in duckdb_results.items():
        pd.testing.assert_frame_equal(spark[name], expected, check_dtype=False, rtol=0, atol=1e-9, obj=name)
