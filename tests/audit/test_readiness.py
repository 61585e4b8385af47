"""Readiness per capability follows the data: it flips when the missing data is loaded."""

from __future__ import annotations

import pandas as pd
import pytest

from audit.audit_store import AS_OF, clean_store, make_warehouse
from storelift.audit import READINESS_COLUMNS, ReadinessThresholds, assess_readiness, store_profile
from storelift.audit.run import warehouse_tables

CAPABILITIES = ["segmentation", "clv", "churn", "recommendations", "search_content", "experiments",
                "attribution", "forecast", "pricing", "campaigns", "fairness"]
SMALL = ReadinessThresholds(min_buyers=5, min_repeat_buyers=5, min_interactions=100, min_price_changes=3,
                            min_email_audience=5)


def readiness(frames, thresholds=SMALL) -> pd.DataFrame:
    wh = make_warehouse(frames)
    try:
        return assess_readiness(warehouse_tables(wh), as_of=AS_OF, thresholds=thresholds).set_index("capability")
    finally:
        wh.close()


def levels(frames, thresholds=SMALL) -> dict[str, str]:
    return readiness(frames, thresholds)["ready"].to_dict()


@pytest.fixture(scope="module")
def clean_levels():
    return levels(clean_store())


def test_empty_warehouse_is_ready_for_nothing():
    table = readiness({})
    assert list(table.reset_index().columns) == READINESS_COLUMNS
    assert list(table.index) == CAPABILITIES
    assert set(table["ready"]) == {"no"}
    assert "load" in table.loc["segmentation", "detail"]


def test_clean_store_is_ready_where_its_data_reaches(clean_levels):
    assert clean_levels == {
        "segmentation": "yes", "clv": "yes", "churn": "yes", "recommendations": "yes", "search_content": "yes",
        "experiments": "partly", "attribution": "no", "forecast": "yes", "pricing": "yes", "campaigns": "yes",
        "fairness": "no",
    }


def test_default_thresholds_call_a_six_customer_store_thin():
    table = readiness(clean_store(), thresholds=ReadinessThresholds())
    assert table.loc["segmentation", "ready"] == "partly"
    assert "6 identified buyers (want 100+)" in table.loc["segmentation", "detail"]
    assert table.loc["recommendations", "ready"] == "partly"
    assert "have 156" in table.loc["recommendations", "detail"]
    assert table.loc["campaigns", "ready"] == "partly"


def test_profile_counts_what_the_store_holds():
    wh = make_warehouse(clean_store())
    p = store_profile(warehouse_tables(wh), AS_OF)
    assert (p.identified_buyers, p.repeat_buyers, p.weeks_with_sales) == (6, 6, 52)
    assert (p.interactions, p.interaction_users, p.interaction_items) == (104 + 52, 6, 5)
    assert p.catalogue_items_with_interactions == 5
    assert p.products_with_price_changes == 5
    assert p.email_audience == 6
    assert p.history_months == pytest.approx(357 / 30.4375)


def test_touches_with_costs_on_two_channels_make_attribution_ready(clean_levels):
    frames = clean_store()
    frames["touches"] = pd.DataFrame({
        "touch_id": ["t1", "t2", "t3"], "customer_id": ["c0", "c1", "c2"], "touched_at": pd.Timestamp("2024-01-05"),
        "channel": ["email", "paid_search", "email"], "campaign": "winter", "cost": [0.01, 0.5, 0.01]})
    one_channel = clean_store() | {"touches": frames["touches"].assign(channel="email", cost=None)}
    assert clean_levels["attribution"] == "no"
    assert levels(one_channel)["attribution"] == "partly"
    assert levels(frames)["attribution"] == "yes"


def test_assignments_with_two_arms_make_experiments_ready():
    frames = clean_store()
    frames["assignments"] = pd.DataFrame({
        "experiment": "recs-v1", "customer_id": [f"c{i}" for i in range(6)],
        "arm": ["treatment", "holdout"] * 3, "assigned_at": pd.Timestamp("2024-01-01")})
    assert levels(frames)["experiments"] == "yes"


def test_protected_attributes_make_fairness_ready():
    frames = clean_store()
    frames["customers"]["gender"] = ["f", "m", "f", "x", "m", "f"]
    assert levels(frames)["fairness"] == "partly"
    frames["customers"]["birth_year"] = [1980, 1990, 1975, 2000, 1985, 1995]
    assert levels(frames)["fairness"] == "yes"


def test_consent_and_descriptions_decide_campaigns_and_search():
    frames = clean_store()
    del frames["consents"]
    frames["products"]["description"] = None
    table = readiness(frames)
    assert table.loc["campaigns", "ready"] == "no"
    assert "purpose 'email'" in table.loc["campaigns", "detail"]
    assert table.loc["search_content", "ready"] == "partly"
    assert "description" in table.loc["search_content", "detail"]


def test_short_history_is_not_enough_for_clv_churn_or_forecasts():
    frames = clean_store()
    recent = frames["orders"]["ordered_at"] >= pd.Timestamp("2024-05-15")
    kept = set(frames["orders"].loc[recent, "order_id"])
    frames["orders"] = frames["orders"][recent]
    frames["order_lines"] = frames["order_lines"][frames["order_lines"]["order_id"].isin(kept)]
    table = readiness(frames)
    assert table.loc["clv", "ready"] == "no"
    assert table.loc["churn", "ready"] == "no"
    assert table.loc["forecast", "ready"] == "no"
    assert "months of orders" in table.loc["clv", "detail"]


def test_line_discounts_count_as_price_changes():
    """A promotion that discounts the line, not the list price, still varies the price paid."""
    frames = clean_store()
    lines = frames["order_lines"]
    frames["order_lines"] = lines.assign(unit_price=lines["unit_price"].iloc[0], discount_amount=0.0,
                                         amount=lines["quantity"] * lines["unit_price"].iloc[0])
    flat = store_profile(warehouse_tables(make_warehouse(frames)), AS_OF)
    assert flat.products_with_price_changes == 0
    promo = frames["order_lines"].copy()
    promo.loc[promo.index[::2], "discount_amount"] = 1.0
    promo["amount"] = promo["quantity"] * promo["unit_price"] - promo["discount_amount"]
    frames["order_lines"] = promo
    p = store_profile(warehouse_tables(make_warehouse(frames)), AS_OF)
    assert p.products_with_price_changes == 5
