"""rfm_summary: one purchase per customer-day, CDNOW's week convention, holdout columns, engines agree."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from storelift.customers.clv_data import SummaryError, rfm_summary, rfm_summary_frame


def _orders():
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c", "a", "b"],
        "ordered_at": pd.to_datetime(["1997-01-01 10:00", "1997-01-01 22:00", "1997-02-01 00:00", "1997-03-01 00:00",
                                      "1997-10-05 00:00", "1997-12-01 00:00", "1997-09-30 23:59"]),
        "value": [10.0, 5.0, 20.0, 7.0, 3.0, 4.0, 9.0],
    })


def test_cdnow_week_convention_and_same_day_purchases_collapse():
    out = rfm_summary_frame(_orders(), "1997-09-30").set_index("customer_id")
    assert list(out.index) == ["a", "b"]  # c first bought after calibration_end
    assert out.loc["a", "T"] == pytest.approx(272 / 7)  # 1997-01-01 .. 1997-09-30
    assert out.loc["a", "frequency"] == 1  # two orders on 1997-01-01 are one purchase day
    assert out.loc["a", "recency"] == pytest.approx(31 / 7)
    assert out.loc["a", "monetary_value"] == pytest.approx(20.0)  # first day's 15 left out
    assert out.loc["b", "frequency"] == 1  # the last calibration day is included
    assert out.loc["b", "recency"] == pytest.approx(213 / 7)


def test_holdout_columns_count_days_after_calibration():
    out = rfm_summary_frame(_orders(), "1997-09-30", "1998-06-30", time_unit_days=1).set_index("customer_id")
    assert out.loc["a", "frequency_holdout"] == 1 and out.loc["a", "value_holdout"] == pytest.approx(4.0)
    assert out.loc["b", "frequency_holdout"] == 0 and out.loc["b", "value_holdout"] == 0.0
    assert (out["duration_holdout"] == 273).all()
    assert out.loc["b", "monetary_value"] == pytest.approx(9.0)


def test_bad_periods_and_columns_raise_with_the_fix():
    with pytest.raises(SummaryError, match="holdout_end"):
        rfm_summary_frame(_orders(), "1997-09-30", "1997-01-01")
    with pytest.raises(SummaryError, match="value"):
        rfm_summary(ibis.memtable(_orders().drop(columns="value")), "1997-09-30")
    with pytest.raises(SummaryError, match="time_unit_days"):
        rfm_summary_frame(_orders(), "1997-09-30", time_unit_days=0)


def _random_orders(n=300, seed=5):
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in rng.integers(0, 60, n)],
        "ordered_at": start + pd.to_timedelta(rng.integers(0, 400 * 86400, n), unit="s"),
        "value": np.round(rng.gamma(2.0, 20.0, n), 2),
    })


@pytest.mark.spark
def test_duckdb_and_pyspark_give_identical_summaries(spark_warehouse):
    frame = _random_orders()
    duck = rfm_summary(ibis.memtable(frame), "2023-09-30", "2024-02-01").execute()
    spark = spark_warehouse.execute(rfm_summary(ibis.memtable(frame), "2023-09-30", "2024-02-01"))
    assert len(duck) > 30
    pd.testing.assert_frame_equal(duck.reset_index(drop=True), spark.reset_index(drop=True), check_dtype=False)
