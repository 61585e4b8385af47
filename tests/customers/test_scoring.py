"""A scoring run on a synthetic store: one row per customer, every column of customer_scores, scores
that agree with the generator's ground truth, and a round trip through the warehouse and the report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from storelift.customers import customer_orders, score_customers
from storelift.customers.scoring import ScoringError
from storelift.data.folder import data_files
from storelift.data.ingest import IngestOptions, ingest_file
from storelift.reports.customers_report import churn_risk_list, write_customer_report
from storelift.schema import TABLES
from storelift.synth import generate_store
from storelift.warehouse import Warehouse
from support import KEY

AS_OF = "2025-01-01"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoring")
    generate_store(folder / "data", customers=1500, seed=11, events=False)
    wh = Warehouse(f"duckdb://{folder / 'warehouse.duckdb'}")
    wh.ensure_tables()
    options = IngestOptions(pii_key=KEY)
    for path in data_files(folder / "data"):
        ingest_file(wh, path, options)
    truth = pd.read_parquet(folder / "data" / "ground_truth" / "customers.parquet")
    yield wh, truth
    wh.close()


@pytest.fixture(scope="module")
def result(store):
    wh, _ = store
    orders = customer_orders(wh.table("orders"), wh.table("order_lines"), wh.table("refunds"), refunds_before=AS_OF)
    return score_customers(orders, AS_OF, churn_horizon_days=90)


def test_one_row_per_customer_with_every_column_of_the_table(result, store):
    wh, _ = store
    scores = result.scores
    assert list(scores.columns) == TABLES["customer_scores"].column_names
    assert scores["customer_id"].is_unique
    orders = wh.table("orders")
    buyers = orders.filter(orders.customer_id.notnull() & (orders.ordered_at < pd.Timestamp(AS_OF)))
    assert len(scores) == buyers.customer_id.nunique().execute()
    assert result.notes == []
    assert scores[["rfm_segment", "cluster_name", "p_alive", "clv", "churn_probability"]].notna().all().all()


def test_scores_are_internally_consistent(result):
    s = result.scores
    assert s["rfm_cell"].str.fullmatch(r"[1-5]-[1-5]-[1-5]").all()
    assert ((s["clv_low"] <= s["clv"] + 1e-9) & (s["clv"] <= s["clv_high"] + 1e-9)).all()
    assert s["p_alive"].between(0, 1).all() and s["churn_probability"].between(0, 1).all()
    assert (s["next_purchase_low"] <= s["next_purchase_days"]).all()
    assert (s["next_purchase_days"] <= s["next_purchase_high"]).all()
    assert s["churn_reasons"].str.contains(r"\(\+|\(-", regex=True).mean() > 0.99
    assert s["model_version"].nunique() == 1 and s["model_version"].iat[0] == result.model_version


def test_scores_agree_with_the_generators_truth(result, store):
    """Customers the generator kept alive to the end get lower churn risk and higher P(alive)."""
    _, truth = store
    merged = result.scores.merge(truth[["customer_id", "is_alive_at_end"]], on="customer_id")
    assert len(merged) == len(result.scores)
    alive = merged["is_alive_at_end"].astype(bool)
    # 1,500 customers, about a third dropped out: an AUC of 0.75 is far above chance (0.5 +- ~0.03)
    assert roc_auc_score(alive, merged["p_alive"]) > 0.75
    assert roc_auc_score(~alive, merged["churn_probability"]) > 0.75


def test_top_customers_bring_most_revenue_and_segments_add_up(result):
    assert 0.2 < result.top20_share < 1.0
    assert result.segments["customers"].sum() == len(result.scores)
    assert result.segments["revenue_share"].sum() == pytest.approx(1.0)


def test_scores_round_trip_through_the_warehouse(result, store):
    wh, _ = store
    wh.insert("customer_scores", result.scores)
    back = wh.execute(wh.table("customer_scores")).sort_values("customer_id", ignore_index=True)
    mine = result.scores.sort_values("customer_id", ignore_index=True)
    assert len(back) == len(mine)
    np.testing.assert_allclose(back["clv"].to_numpy(float), mine["clv"].to_numpy(float))
    assert (back["rfm_segment"] == mine["rfm_segment"]).all()


def test_report_shows_the_customer_sections(result, tmp_path):
    page = write_customer_report(result, tmp_path / "customers.html", store_name="Mugs & Co").read_text()
    for title in ("RFM grid", "Pareto", "Retention", "Predicted lifetime value", "What drives churn risk"):
        assert title in page, title
    risk = churn_risk_list(result.scores, 10)
    assert len(risk) == 10 and risk["value_at_risk"].is_monotonic_decreasing
    assert risk["customer_id"].iat[0] in page


def test_too_little_history_is_a_clear_error(store):
    wh, _ = store
    orders = customer_orders(wh.table("orders"), wh.table("order_lines"))
    first = pd.Timestamp(wh.table("orders").ordered_at.min().execute())
    with pytest.raises(ScoringError, match="as_of"):
        score_customers(orders, first + pd.Timedelta(seconds=1))
