"""cohort_activity and retention_matrix: a cohort matrix known by hand, properties, and actionable errors."""

import ibis
import numpy as np
import pandas as pd
import pytest

from storelift.customers.cohorts import cohort_activity, retention_matrix
from storelift.customers.rfm import CustomerDataError

NAN = np.nan

# January cohort: a, b; February cohort: c; March cohort: d, e. Data ends in April.
HAND_ORDERS = [
    ("a", "2024-01-01", 10.0), ("a", "2024-02-01", 20.0),
    ("b", "2024-01-15", 5.0),
    ("c", "2024-02-01", 100.0), ("c", "2024-02-03", 50.0), ("c", "2024-04-01 12:00", 25.0),
    ("d", "2024-03-01", 1.0),
    ("e", "2024-03-10", 3.0),
]


def orders_table(rows) -> ibis.Table:
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "value"])
    frame.insert(1, "order_id", [f"o{i}" for i in range(len(frame))])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], format="ISO8601")
    return ibis.memtable(frame)


@pytest.fixture
def monthly():
    return cohort_activity(orders_table(HAND_ORDERS)).execute()


def test_monthly_activity_worked_out_by_hand(monthly):
    got = monthly.assign(cohort=pd.to_datetime(monthly["cohort"]).dt.strftime("%Y-%m"))
    expected = pd.DataFrame(
        [("2024-01", 0, 2, 2, 2, 15.0), ("2024-01", 1, 2, 1, 1, 20.0),
         ("2024-02", 0, 1, 1, 2, 150.0), ("2024-02", 2, 1, 1, 1, 25.0),
         ("2024-03", 0, 2, 2, 2, 4.0)],
        columns=["cohort", "period_index", "cohort_size", "active_customers", "orders", "revenue"])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)


def test_retention_matrix_is_the_triangle_with_zeros_for_quiet_months(monthly):
    matrix = retention_matrix(monthly)
    expected = np.array([[1.0, 0.5, 0.0, 0.0], [1.0, 0.0, 1.0, NAN], [1.0, 0.0, NAN, NAN]])
    np.testing.assert_array_equal(matrix.to_numpy(), expected)
    assert [str(c) for c in matrix.index] == ["2024-01-01", "2024-02-01", "2024-03-01"]
    assert list(matrix.columns) == [0, 1, 2, 3]


def test_revenue_metrics(monthly):
    per_customer = retention_matrix(monthly, metric="revenue_per_customer")
    np.testing.assert_array_equal(per_customer.iloc[0].to_numpy(), [7.5, 10.0, 0.0, 0.0])
    cumulative = retention_matrix(monthly, metric="cumulative_revenue_per_customer")
    np.testing.assert_array_equal(cumulative.iloc[1].to_numpy(), [150.0, 150.0, 175.0, NAN])
    revenue = retention_matrix(monthly, metric="revenue")
    assert np.nansum(revenue.to_numpy()) == pytest.approx(sum(v for _, _, v in HAND_ORDERS))


def test_weekly_cohorts_start_on_monday_and_count_weeks():
    weekly = cohort_activity(orders_table(HAND_ORDERS), period="week").execute()
    cohorts = pd.to_datetime(weekly["cohort"])
    assert (cohorts.dt.day_of_week == 0).all()
    c = weekly[cohorts == pd.Timestamp("2024-01-29")]  # c's first order, Thursday 1 February
    assert list(c["period_index"]) == [0, 9] and list(c["orders"]) == [2, 1]
    matrix = retention_matrix(weekly, period="week")
    last_cohort = matrix.loc[matrix.index.max()]
    assert last_cohort.notna().sum() == 5  # 4 March to the week of 1 April


def test_retention_starts_at_one_and_never_exceeds_it():
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 60, size=400)
    times = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, size=400), unit="D")
    rows = [(f"c{i}", t, float(v)) for i, t, v in zip(ids, times, rng.integers(1, 100, size=400))]
    activity = cohort_activity(orders_table(rows)).execute()
    matrix = retention_matrix(activity)
    assert (matrix[0] == 1.0).all()
    assert ((matrix.fillna(0) >= 0) & (matrix.fillna(0) <= 1)).all().all()
    assert activity.groupby("cohort")["cohort_size"].first().sum() == len(set(ids))


def test_unknown_period_or_metric_names_the_choices(monthly):
    with pytest.raises(CustomerDataError, match="period='day'.*'month'"):
        cohort_activity(orders_table(HAND_ORDERS), period="day")
    with pytest.raises(CustomerDataError, match="metric='ltv'.*'retention'"):
        retention_matrix(monthly, metric="ltv")


def test_missing_columns_name_the_column_and_the_fix(monthly):
    no_value = orders_table(HAND_ORDERS).drop("value")
    with pytest.raises(CustomerDataError, match="'value'"):
        cohort_activity(no_value)
    with pytest.raises(CustomerDataError, match="'cohort_size'.*cohort_activity"):
        retention_matrix(monthly.drop(columns=["cohort_size"]))
    with pytest.raises(CustomerDataError, match="no rows"):
        retention_matrix(monthly.iloc[0:0])
