"""customer_features and future_labels: hand-checked values, no look-ahead, and DuckDB / PySpark parity."""

from __future__ import annotations

import math

import ibis
import pandas as pd
import pytest

from storelift.customers.features import (
    FEATURE_DESCRIPTIONS, CustomerModelError, customer_features, describe_feature, feature_names, future_labels,
    training_frame,
)

CUTOFF = pd.Timestamp("2024-06-01")


def _orders(rows) -> pd.DataFrame:
    """rows: (customer_id, days before CUTOFF (negative = after), value, refunded)."""
    frame = pd.DataFrame(rows, columns=["customer_id", "days_before", "value", "refunded"])
    frame["order_id"] = [f"o{i}" for i in range(len(frame))]
    frame["ordered_at"] = CUTOFF - pd.to_timedelta(frame.days_before, unit="D")
    frame["gross"] = frame.value + frame.refunded
    return frame[["customer_id", "order_id", "ordered_at", "gross", "refunded", "value"]]


BASE = _orders([
    ("a", 10, 20.0, 0.0), ("a", 40, 30.0, 10.0), ("a", 100, 50.0, 0.0),
    ("b", 200, 80.0, 0.0),
    ("c", 5, 10.0, 0.0), ("c", 5, 15.0, 0.0),  # two orders at the same moment
])
LATER = _orders([("a", 0, 99.0, 0.0), ("a", -3, 5.0, 0.0), ("b", -1, 7.0, 0.0), ("new", -2, 9.0, 0.0)])


def _features(frame: pd.DataFrame, cutoff=CUTOFF, **kw) -> pd.DataFrame:
    out = customer_features(ibis.memtable(frame), cutoff, **kw).execute()
    return out.sort_values("customer_id", ignore_index=True)


def test_features_match_hand_computed_values():
    f = _features(BASE).set_index("customer_id")
    a = f.loc["a"]
    assert a.recency_days == pytest.approx(10) and a.tenure_days == pytest.approx(100)
    assert (a.orders_total, a.orders_30d, a.orders_90d, a.orders_180d) == (3, 1, 2, 3)
    assert a.value_total == pytest.approx(100) and a.value_90d == pytest.approx(50)
    assert a.mean_order_value == pytest.approx(100 / 3)
    assert a.refund_share == pytest.approx(10 / 110)
    assert a.last_gap_days == pytest.approx(30) and a.mean_gap_days == pytest.approx(45)
    assert a.std_gap_days == pytest.approx(math.sqrt(((30 - 45) ** 2 + (60 - 45) ** 2) / 1))
    assert a.orders_trend_30d == pytest.approx((1 + 1) / (1 + 1))  # the order 40 days back is in [30, 60)
    assert a.orders_trend_90d == pytest.approx((2 + 1) / (1 + 1))
    assert a.distinct_order_days == 3
    b = f.loc["b"]
    assert b.orders_total == 1 and pd.isna(b.last_gap_days) and pd.isna(b.std_gap_days)
    assert (b.orders_180d, b.orders_365d) == (0, 1)
    c = f.loc["c"]
    assert c.orders_total == 2 and c.distinct_order_days == 1 and c.last_gap_days == pytest.approx(0)


def test_orders_on_or_after_the_cutoff_change_no_feature():
    before = _features(BASE)
    with_later = _features(pd.concat([BASE, LATER], ignore_index=True))
    pd.testing.assert_frame_equal(before, with_later)
    assert "new" not in set(with_later.customer_id)
    # the same orders do count once the cutoff passes them
    moved = _features(pd.concat([BASE, LATER], ignore_index=True), cutoff=CUTOFF + pd.Timedelta(days=5))
    assert moved.set_index("customer_id").loc["a", "orders_total"] == 5


def test_every_feature_has_plain_words():
    names = feature_names((7, 28))
    assert list(_features(BASE, windows_days=(7, 28)).columns) == ["customer_id", *names]
    for name in names:
        assert describe_feature(name)
    assert describe_feature("value_28d") == "spend in the last 28 days"
    assert set(FEATURE_DESCRIPTIONS) < set(names)


def test_future_labels_count_the_half_open_horizon():
    frame = pd.concat([BASE, _orders([("a", 0, 5.0, 0.0), ("a", -10, 6.0, 0.0), ("b", -30, 7.0, 0.0),
                                      ("new", -1, 1.0, 0.0)])], ignore_index=True)
    labels = future_labels(ibis.memtable(frame), CUTOFF, 30).execute().set_index("customer_id").sort_index()
    assert list(labels.index) == ["a", "b", "c"]  # only customers seen before the cutoff
    assert labels.loc["a"].tolist() == [True, 2, 11.0, 0.0]
    assert not labels.loc["b", "has_purchase"]  # day 30 is outside [cutoff, cutoff + 30 days)
    assert labels.loc["b", "future_value"] == 0 and pd.isna(labels.loc["b", "days_to_next_purchase"])


def test_training_frame_stacks_cutoffs_that_end_by_as_of():
    frame = pd.concat([BASE, LATER], ignore_index=True)
    rows = training_frame(ibis.memtable(frame), CUTOFF, 20, n_cutoffs=3, cutoff_step_days=30)
    assert sorted(rows.cutoff.unique(), reverse=True) == [CUTOFF - pd.Timedelta(days=d) for d in (20, 50, 80)]
    latest = rows[rows.cutoff == CUTOFF - pd.Timedelta(days=20)].set_index("customer_id")
    assert latest.loc["a", "has_purchase"] and latest.loc["a", "future_value"] == 20.0  # the order 10 days back
    assert "c" not in latest.index  # first ordered after that cutoff
    assert rows.future_orders.sum() == 2  # the orders 10 and 40 days back; nothing at or after as_of


@pytest.mark.parametrize("change, words", [
    (lambda f: f.drop(columns=["refunded"]), "refunded"),
    (lambda f: f.drop(columns=["ordered_at", "value"]), "ordered_at, value"),
])
def test_missing_columns_are_named_with_the_fix(change, words):
    with pytest.raises(CustomerModelError, match=words) as info:
        customer_features(ibis.memtable(change(BASE)), CUTOFF)
    assert "customer_orders" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_bad_windows_and_dates_are_refused():
    with pytest.raises(CustomerModelError, match="windows_days"):
        customer_features(ibis.memtable(BASE), CUTOFF, windows_days=(30, 0))
    with pytest.raises(CustomerModelError, match="cutoff"):
        customer_features(ibis.memtable(BASE), "not a date")
    with pytest.raises(CustomerModelError, match="horizon_days"):
        future_labels(ibis.memtable(BASE), CUTOFF, 0)


@pytest.fixture(scope="module")
def synthetic_orders(tmp_path_factory) -> pd.DataFrame:
    """customer_orders of a 300-customer synthetic store, as a DataFrame."""
    from storelift.customers import customer_orders
    from storelift.synth import generate_store

    folder = tmp_path_factory.mktemp("features-store")
    generate_store(folder, customers=300, seed=5, events=False)
    tables = [ibis.memtable(pd.read_parquet(folder / f"{t}.parquet")) for t in ("orders", "order_lines", "refunds")]
    return customer_orders(*tables).execute()


@pytest.mark.spark
def test_duckdb_and_pyspark_compute_the_same_features(spark_warehouse, synthetic_orders):
    frame = synthetic_orders.drop(columns=["currency"])
    cutoff = "2024-03-15"
    duck = _features(frame, cutoff)
    spark = spark_warehouse.con.execute(customer_features(ibis.memtable(frame), cutoff))
    spark = spark.sort_values("customer_id", ignore_index=True)
    assert len(duck) > 100
    pd.testing.assert_frame_equal(duck, spark, check_dtype=False, rtol=1e-9)
    labels = [con.execute(future_labels(ibis.memtable(frame), cutoff, 60)).sort_values("customer_id",
                                                                                       ignore_index=True)
              for con in (ibis.duckdb.connect(), spark_warehouse.con)]
    assert labels[0].has_purchase.any() and not labels[0].has_purchase.all()
    pd.testing.assert_frame_equal(labels[0], labels[1], check_dtype=False, rtol=1e-9)
