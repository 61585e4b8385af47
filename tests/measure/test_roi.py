"""ROI and TCO: the brief's worked example, scenarios, and a holdout readout whose interval holds the truth."""

import json

import ibis
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from storelift.measure.roi import (CostItem, RoiError, Scenario, default_scenarios, roi, roi_readout, roi_scenarios,
                                   total_cost_of_ownership, treatment_readout, window_outcomes)
from storelift.synth import generate_store

COSTS = [CostItem("licence", "software", 5_000.0, "monthly"), CostItem("setup", "implementation", 40_000.0),
         CostItem("connectors", "integration", 20_000.0), CostItem("workshops", "training", 10_000.0),
         CostItem("support", "maintenance", 5_000.0, "quarterly"), CostItem("analyst", "people", 10_000.0)]


def test_worked_example_roi_is_250_percent():
    assert roi(420_000, 120_000) == 2.5
    tco = total_cost_of_ownership(COSTS, months=6).set_index("component")
    assert tco.total.sum() == 120_000.0
    assert tco.loc["software", "recurring"] == 30_000.0 and tco.loc["maintenance", "recurring"] == 10_000.0
    assert tco.loc["implementation", "one_off"] == 40_000.0
    table = roi_scenarios(COSTS, [Scenario("expected", 420_000.0)], months=6).iloc[0]
    assert table.roi == 2.5 and table.net_gain == 300_000.0
    assert table.payback_months == pytest.approx(120_000 / 70_000)


def test_scenarios_order_and_cost_overrun():
    table = roi_scenarios(120_000.0, default_scenarios(420_000.0), months=6).set_index("scenario")
    assert table.loc["pessimistic", "cost"] == pytest.approx(144_000.0)
    assert table.loc["pessimistic", "roi"] == pytest.approx((210_000 - 144_000) / 144_000)
    assert table.roi.is_monotonic_increasing


def test_bad_costs_name_the_fix():
    with pytest.raises(RoiError, match="cost=0"):
        roi(1.0, 0)
    with pytest.raises(RoiError, match="component 'legal'"):
        total_cost_of_ownership([CostItem("x", "legal", 1.0)], months=6)
    with pytest.raises(RoiError, match="recurrence 'weekly'"):
        total_cost_of_ownership([CostItem("x", "people", 1.0, "weekly")], months=6)


def test_readout_matches_welch_t_test():
    rng = np.random.default_rng(1)
    outcomes = pd.DataFrame({"arm": ["treatment"] * 400 + ["holdout"] * 300,
                             "revenue": np.concatenate([rng.normal(12, 5, 400), rng.normal(10, 8, 300)])})
    row = treatment_readout(outcomes, ["revenue"]).iloc[0]
    a, b = outcomes.revenue[:400], outcomes.revenue[400:]
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert row.p_value == pytest.approx(ref.pvalue)
    assert (row.lift_low, row.lift_high) == pytest.approx((ci.low, ci.high))
    assert row.incremental_total == pytest.approx(row.lift * 400)
    normal = treatment_readout(outcomes, ["revenue"], method="normal").iloc[0]
    assert normal.lift_high - normal.lift_low < row.lift_high - row.lift_low


def test_roi_interval_follows_the_profit_interval():
    outcomes = pd.DataFrame({"arm": ["treatment", "treatment", "treatment", "control", "control", "control"],
                             "margin": [5.0, 7.0, 9.0, 1.0, 2.0, 3.0]})
    out = roi_readout(outcomes, cost=6.0).iloc[0]
    assert out.incremental_profit == pytest.approx(15.0)  # lift 5 per customer x 3 treated
    assert out.roi == pytest.approx(1.5)
    assert out.roi_low == pytest.approx((out.incremental_profit_low - 6) / 6)
    assert out.roi_low < out.roi < out.roi_high
    scaled = roi_readout(outcomes, cost=6.0, units=30).iloc[0]
    assert scaled.incremental_profit == pytest.approx(150.0)


def test_readout_errors_name_the_arm():
    outcomes = pd.DataFrame({"arm": ["a", "b", "c"], "revenue": [1.0, 2.0, 3.0]})
    with pytest.raises(RoiError, match="pass control="):
        treatment_readout(outcomes, treatment="a")
    with pytest.raises(RoiError, match="arm 'treatment'"):
        treatment_readout(outcomes)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    generate_store(root, customers=20_000, seed=21, events=False)
    truth = pd.read_parquet(root / "ground_truth" / "customers.parquet")
    params = json.loads((root / "ground_truth" / "truth.json").read_text())
    eligible = truth[truth.is_campaign_eligible]
    arms = ibis.memtable(pd.DataFrame({"customer_id": eligible.customer_id, "arm": eligible.treatment_arm}))
    sent = pd.Timestamp(params["campaign"]["sent_at"].rstrip("Z"))
    end = sent + pd.Timedelta(days=params["campaign"]["window_days"])
    tables = {n: ibis.memtable(pd.read_parquet(root / f"{n}.parquet")) for n in ("orders", "order_lines", "products")}
    outcomes = window_outcomes(arms, tables["orders"], tables["order_lines"], sent, end,
                               products=tables["products"]).execute()
    return outcomes, params["realized"]["average_treatment_effect_on_conversion"]


def test_synthetic_campaign_true_effect_is_inside_the_interval(campaign):
    outcomes, true_ate = campaign
    readout = treatment_readout(outcomes, ["converted", "revenue", "margin"], control="control").set_index("metric")
    conv = readout.loc["converted"]
    assert conv.lift_low < true_ate < conv.lift_high
    assert conv.lift_low > 0  # the campaign works and the test has the power to say so
    assert readout.loc["margin", "treatment_mean"] < readout.loc["revenue", "treatment_mean"]
    assert set(outcomes.arm) == {"treatment", "control"}
