"""rfm_table, segments, Pareto and grid views: scores known by hand, properties, and actionable errors."""

import ibis
import numpy as np
import pandas as pd
import pytest

from storelift.customers.rfm import (
    SEGMENT_RULES, CustomerDataError, pareto_curve, rfm_cells, rfm_grid, rfm_table, segment_for,
    segment_rules_frame, segment_summary, top_share,
)
from storelift.errors import StoreliftError

AS_OF = "2024-04-01"


def orders_table(rows) -> ibis.Table:
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "value"])
    frame.insert(1, "order_id", [f"o{i}" for i in range(len(frame))])
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"], format="ISO8601")
    return ibis.memtable(frame)


# five customers, each the only one in its quintile on every measure
HAND_ORDERS = [
    ("n", "2024-03-31 12:00", 5.0),  # newest, one small order
    ("c", "2024-03-20", 100.0), ("c", "2024-02-20", 100.0), ("c", "2024-01-20", 100.0), ("c", "2023-12-20", 100.0),
    ("c", "2024-05-01", 9999.0),  # after as_of: ignored
    ("l", "2024-03-10", 100.0), ("l", "2024-02-10", 100.0), ("l", "2024-01-10", 100.0),
    ("h", "2023-09-01", 25.0), ("h", "2023-08-01", 25.0),
    ("r", "2023-06-01", 200.0), ("r", "2023-05-01", 200.0), ("r", "2023-04-01", 200.0),
    ("r", "2023-03-01", 200.0), ("r", "2023-02-01", 200.0),
    ("z", "2024-06-01", 50.0),  # only orders after as_of: not a customer yet
]


@pytest.fixture
def hand_rfm():
    return rfm_table(orders_table(HAND_ORDERS), AS_OF).execute().set_index("customer_id").sort_index()


def test_hand_built_orders_get_the_scores_and_segments_worked_out_by_hand(hand_rfm):
    assert list(hand_rfm.index) == ["c", "h", "l", "n", "r"]
    expected = {"n": ("5-1-1", "New"), "c": ("4-4-4", "Loyal"), "l": ("3-3-3", "Need attention"),
                "h": ("2-2-2", "Hibernating"), "r": ("1-5-5", "Can't lose")}
    for customer, (cell, segment) in expected.items():
        assert hand_rfm.loc[customer, "rfm_cell"] == cell
        assert hand_rfm.loc[customer, "segment"] == segment
    assert hand_rfm.loc["r", "rfm_score"] == 11


def test_rfm_values_count_only_orders_before_as_of(hand_rfm):
    assert hand_rfm.loc["n", "recency_days"] == pytest.approx(0.5)
    assert hand_rfm.loc["c", "recency_days"] == pytest.approx(12.0)
    assert hand_rfm.loc["c", "frequency"] == 4
    assert hand_rfm.loc["c", "monetary"] == pytest.approx(400.0)
    assert hand_rfm.loc["c", "mean_order_value"] == pytest.approx(100.0)
    assert hand_rfm.loc["c", "tenure_days"] == pytest.approx((pd.Timestamp(AS_OF) - pd.Timestamp("2023-12-20")).days)
    assert hand_rfm.loc["c", "last_order_at"] == pd.Timestamp("2024-03-20")
    assert hand_rfm.loc["r", "first_order_at"] == pd.Timestamp("2023-02-01")


def random_orders(customers: int, seed: int) -> ibis.Table:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, size=customers)
    ids = np.repeat([f"cust{i:03d}" for i in range(customers)], counts)
    times = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, size=len(ids)), unit="D")
    values = rng.choice([10.0, 20.0, 35.5], size=len(ids))  # many ties, on purpose
    return orders_table(list(zip(ids, times, values)))


@pytest.mark.parametrize("customers", [3, 7, 13, 50])
def test_equal_values_share_a_score_and_scores_follow_the_values(customers):
    rfm = rfm_table(random_orders(customers, seed=customers), "2024-01-02").execute()
    assert len(rfm) == customers
    for score, column in (("r_score", "last_order_at"), ("f_score", "frequency"), ("m_score", "monetary")):
        assert rfm[score].between(1, 5).all()
        assert (rfm.groupby(column)[score].nunique() == 1).all(), score
        ordered = rfm.sort_values(column)[score].to_numpy()
        assert (np.diff(ordered) >= 0).all(), score


@pytest.mark.parametrize("customers", [5, 13, 50])
def test_quintiles_without_ties_differ_in_size_by_at_most_one(customers):
    rows = [(f"c{i:03d}", pd.Timestamp("2023-01-01") + pd.Timedelta(hours=i), 10.0 + i) for i in range(customers)]
    rfm = rfm_table(orders_table(rows), "2024-01-02").execute()
    for score in ("r_score", "m_score"):
        sizes = rfm[score].value_counts().reindex(range(1, 6), fill_value=0)
        assert sizes.max() - sizes.min() <= 1, score


def test_scores_rank_customers_in_the_right_direction():
    rfm = rfm_table(random_orders(50, seed=1), "2024-01-02").execute()
    for score, column, best_is_high in (("r_score", "recency_days", False), ("f_score", "frequency", True),
                                        ("m_score", "monetary", True)):
        means = rfm.groupby(score)[column].mean()
        assert means.is_monotonic_increasing if best_is_high else means.is_monotonic_decreasing, score


def test_identical_customers_get_identical_scores_whatever_the_row_order():
    rows = [(f"c{i:02d}", "2024-01-01", 10.0) for i in range(10)]
    first = rfm_table(orders_table(rows), AS_OF).execute().sort_values("customer_id")
    again = rfm_table(orders_table(rows[::-1]), AS_OF).execute().sort_values("customer_id")
    assert first["rfm_cell"].nunique() == 1
    pd.testing.assert_frame_equal(first.reset_index(drop=True), again.reset_index(drop=True))


def test_every_one_of_the_125_cells_falls_in_exactly_one_segment():
    cells = rfm_cells()
    assert len(cells) == 125 and cells["rfm_cell"].is_unique
    for cell in cells.itertuples():
        covering = [s.name for s in SEGMENT_RULES if s.covers(cell.r_score, cell.fm_score)]
        assert covering == [cell.segment]
    assert set(cells["segment"]) == {s.name for s in SEGMENT_RULES}
    assert len(SEGMENT_RULES) == 11


def test_segment_rules_are_documented_with_an_action():
    rules = segment_rules_frame()
    assert list(rules.columns) == ["segment", "rule", "r_min", "r_max", "fm_min", "fm_max", "action"]
    assert rules["rule"].str.len().gt(10).all() and rules["action"].str.len().gt(10).all()
    assert segment_for(5, 5, 5) == "Champions" and segment_for(1, 1, 1) == "Lost"


def test_segments_in_the_warehouse_match_the_rule_table():
    rfm = rfm_table(random_orders(50, seed=2), "2024-01-02").execute()
    expected = [segment_for(r, f, m) for r, f, m in zip(rfm.r_score, rfm.f_score, rfm.m_score)]
    assert list(rfm["segment"]) == expected


def test_segment_summary_counts_customers_and_revenue(hand_rfm):
    summary = segment_summary(hand_rfm.reset_index()).set_index("segment")
    assert list(summary.index) == [s.name for s in SEGMENT_RULES]
    assert summary["customers"].sum() == 5
    assert summary.loc["Champions", "customers"] == 0
    assert summary.loc["Can't lose", "revenue"] == pytest.approx(1000.0)
    assert summary["share"].sum() == pytest.approx(1.0)
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    assert summary.loc["Can't lose", "revenue_share"] == pytest.approx(1000.0 / 1755.0)
    assert summary.loc["Loyal", "mean_frequency"] == 4


def test_rfm_grid_has_every_r_and_f_cell(hand_rfm):
    grid = rfm_grid(hand_rfm)
    assert len(grid) == 25
    assert grid["customers"].sum() == 5
    cell = grid[(grid.r_score == 5) & (grid.f_score == 1)].iloc[0]
    assert cell["customers"] == 1 and cell["mean_monetary"] == pytest.approx(5.0)
    assert grid.loc[grid.customers == 0, "mean_monetary"].isna().all()


def test_pareto_curve_rises_from_zero_to_one():
    values = np.random.default_rng(0).lognormal(3, 1.5, size=997)
    curve = pareto_curve(values)
    assert len(curve) == 101
    assert curve["revenue_share"].iloc[0] == 0.0 and curve["revenue_share"].iloc[-1] == 1.0
    assert curve["revenue_share"].is_monotonic_increasing
    assert (curve["revenue_share"] >= curve["customer_share"] - 1e-12).all()  # top customers first


def test_top_share_of_known_values():
    values = [70.0, 10.0, 10.0, 5.0, 5.0]
    assert top_share(values, top=0.2) == pytest.approx(0.7)
    assert top_share(values, top=0.4) == pytest.approx(0.8)
    assert top_share([3.0] * 10, top=0.2) == pytest.approx(0.2)
    assert top_share(values, top=1.0) == pytest.approx(1.0)


def test_missing_column_names_the_column_and_the_fix():
    table = ibis.memtable(pd.DataFrame({"customer_id": ["a"], "order_id": ["1"],
                                        "ordered_at": [pd.Timestamp("2024-01-01")]}))
    with pytest.raises(CustomerDataError, match="'value'.*customer_orders") as info:
        rfm_table(table, AS_OF)
    assert isinstance(info.value, StoreliftError) and isinstance(info.value, ValueError)


def test_text_ordered_at_is_rejected_with_the_cast_to_apply():
    table = ibis.memtable(pd.DataFrame({"customer_id": ["a"], "order_id": ["1"], "ordered_at": ["2024-01-01"],
                                        "value": [1.0]}))
    with pytest.raises(CustomerDataError, match="ordered_at.*cast"):
        rfm_table(table, AS_OF)


def test_empty_orders_are_rejected():
    empty = orders_table(HAND_ORDERS).limit(0)
    with pytest.raises(CustomerDataError, match="no rows"):
        rfm_table(empty, AS_OF)


def test_as_of_before_every_order_names_the_first_order():
    with pytest.raises(CustomerDataError, match=r"as_of=2020-01-01.*2023-02-01"):
        rfm_table(orders_table(HAND_ORDERS), "2020-01-01")
    with pytest.raises(CustomerDataError, match="as_of"):
        rfm_table(orders_table(HAND_ORDERS), "not a date")


def test_pareto_rejects_negative_or_empty_values():
    with pytest.raises(CustomerDataError, match="negative"):
        pareto_curve([10.0, -1.0])
    with pytest.raises(CustomerDataError, match="empty"):
        top_share([])
    with pytest.raises(CustomerDataError, match="top="):
        top_share([1.0], top=0.0)
