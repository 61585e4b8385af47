"""CLV reasons quote the BG/NBD and Gamma-Gamma models' own numbers, and the global drivers point the way the
models say on a synthetic store."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from storelift.customers import BetaGeo, GammaGamma, ModelDataError, customer_lifetime_value, customer_orders
from storelift.customers.clv import DAYS_PER_MONTH
from storelift.customers.clv_data import rfm_summary
from storelift.customers.clv_explain import (
    CLV_REASON_COLUMNS, DRIVER_COLUMNS, PARTIAL_DEPENDENCE_COLUMNS, clv_drivers, clv_partial_dependence, clv_reasons,
)
from storelift.synth import generate_store

AS_OF = "2025-01-01"


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clv-explain")
    generate_store(folder, customers=1000, seed=7, events=False)
    tables = {n: ibis.memtable(pd.read_parquet(folder / f"{n}.parquet")) for n in ("orders", "order_lines", "refunds")}
    summary = rfm_summary(customer_orders(tables["orders"], tables["order_lines"], tables["refunds"]), AS_OF).execute()
    return BetaGeo().fit(summary), GammaGamma().fit(summary), summary


@pytest.fixture(scope="module")
def reasons(fitted):
    bg, gg, summary = fitted
    return clv_reasons(bg, gg, summary)


def quoted(texts: pd.Series, pattern: str) -> np.ndarray:
    return texts.str.extract(pattern, expand=False).astype(float).to_numpy()


def test_columns_are_the_documented_ones_one_row_per_customer(reasons, fitted):
    _, _, summary = fitted
    assert list(reasons.columns) == list(CLV_REASON_COLUMNS)
    assert reasons["customer_id"].tolist() == summary["customer_id"].tolist()
    assert reasons[["reason_1", "reason_2", "reason_3"]].notna().all().all()
    assert (reasons["clv_reasons"] == reasons["reason_1"] + "; " + reasons["reason_2"] + "; "
            + reasons["reason_3"]).all()


def test_numbers_are_the_models_own(reasons, fitted):
    bg, gg, summary = fitted
    np.testing.assert_array_equal(reasons["p_alive"], bg.probability_alive(summary).to_numpy())
    horizon = bg.conditional_expected_purchases(summary, 12 * DAYS_PER_MONTH / 7).to_numpy()
    np.testing.assert_allclose(reasons["expected_purchases"], horizon, rtol=1e-9)
    np.testing.assert_allclose(reasons["expected_order_value"], gg.conditional_expected_order_value(summary),
                               rtol=1e-12)
    clv = customer_lifetime_value(bg, gg, summary)
    np.testing.assert_allclose(reasons["clv"], clv["clv"], rtol=1e-12)
    assert (reasons["population_order_value"] == gg.mean_order_value()).all()


def test_the_words_quote_those_numbers(reasons):
    assert np.allclose(quoted(reasons["reason_1"], r"P\(alive\) ([0-9.]+)"), reasons["p_alive"], atol=0.005)
    assert np.allclose(quoted(reasons["reason_3"], r"expected ([0-9.]+) purchases"), reasons["expected_purchases"],
                       atol=0.05)
    assert np.allclose(quoted(reasons["reason_3"], r"CLV ([0-9.]+)$"), reasons["clv"], atol=0.005)
    repeat = reasons[reasons["frequency"] > 0]
    shrunk = quoted(repeat["reason_2"], r"(?:shrunk to|raised to|kept at) ([0-9.]+)")
    assert np.allclose(shrunk, repeat["expected_order_value"], atol=0.005)
    assert np.allclose(quoted(repeat["reason_2"], r"average repeat purchase ([0-9.]+)"),
                       repeat["average_order_value"], atol=0.005)
    counts = quoted(repeat["reason_1"], r"^(\d+) repeat purchase")
    np.testing.assert_array_equal(counts, repeat["frequency"])


def test_spend_is_shrunk_toward_the_store_mean(reasons, fitted):
    _, gg, _ = fitted
    pop = gg.mean_order_value()
    repeat = reasons[reasons["frequency"] > 0]
    own, value = repeat["average_order_value"], repeat["expected_order_value"]
    assert ((value - pop) * (own - pop) >= -1e-9).all()  # on the customer's side of the mean
    assert ((value - pop).abs() <= (own - pop).abs() + 1e-9).all()  # and nearer to it
    above = own > value + 0.005
    assert repeat.loc[above, "reason_2"].str.contains("shrunk to").all()
    assert repeat.loc[own < value - 0.005, "reason_2"].str.contains("raised to").all()
    once = reasons[reasons["frequency"] == 0]
    assert len(once) and np.allclose(once["expected_order_value"], pop)
    assert once["reason_1"].str.startswith("one purchase").all()
    assert once["reason_2"].str.contains(f"store mean {pop:.2f}", regex=False).all()


def test_more_repeat_purchases_mean_a_higher_p_alive_quoted(fitted):
    bg, gg, _ = fitted
    pair = pd.DataFrame({"customer_id": ["few", "many"], "frequency": [2, 12], "recency": [50.0, 50.0],
                         "T": [51.0, 51.0], "monetary_value": [40.0, 40.0]})
    out = clv_reasons(bg, gg, pair).set_index("customer_id")
    said = quoted(out["reason_1"], r"P\(alive\) ([0-9.]+)")
    assert out.at["many", "p_alive"] > out.at["few", "p_alive"]
    assert said[1] > said[0]
    # more repeat purchases also trust the customer's own average more: nearer to their 40.00
    assert abs(out.at["many", "expected_order_value"] - 40) < abs(out.at["few", "expected_order_value"] - 40)


def test_a_given_clv_frame_is_quoted_as_is(fitted):
    bg, gg, summary = fitted
    part = summary.head(50)
    clv = customer_lifetime_value(bg, gg, part, horizon_months=6, monthly_discount_rate=0.02)
    out = clv_reasons(bg, gg, part, clv.iloc[::-1], horizon_months=6)  # matched by customer_id, not position
    np.testing.assert_allclose(out["clv"], clv["clv"])
    np.testing.assert_allclose(out["expected_purchases"], clv["expected_purchases"])
    assert out["reason_3"].str.contains("in the next 6 months").all()
    with pytest.raises(ModelDataError, match="no row for customer"):
        clv_reasons(bg, gg, part, clv.iloc[1:])
    with pytest.raises(ModelDataError, match="monetary_value"):
        clv_reasons(bg, gg, part.drop(columns="monetary_value"))


def test_global_drivers_point_the_expected_way(fitted):
    bg, gg, summary = fitted
    partial = clv_partial_dependence(bg, gg, summary, sample=600)
    assert list(partial.columns) == list(PARTIAL_DEPENDENCE_COLUMNS)
    assert set(partial["input"]) == {"frequency", "days_since_last", "active_days", "average_order_value"}
    drivers = clv_drivers(bg, gg, summary, sample=600).set_index("input")
    assert list(drivers.reset_index().columns) == list(DRIVER_COLUMNS)
    assert drivers.at["frequency", "direction"] == "raises CLV"
    assert drivers.at["average_order_value", "direction"] == "raises CLV"
    assert drivers.at["days_since_last", "direction"] == "lowers CLV"
    assert (drivers["high"] > drivers["low"]).all()
    # the spend model is linear in the average order value, so its curve only climbs
    spend = partial[partial["input"] == "average_order_value"].sort_values("value")
    assert spend["mean_clv"].is_monotonic_increasing and spend["median_clv"].is_monotonic_increasing
    silence = partial[partial["input"] == "days_since_last"].sort_values("value")
    assert silence["mean_clv"].is_monotonic_decreasing


def test_drivers_need_repeat_buyers(fitted):
    bg, gg, summary = fitted
    with pytest.raises(ModelDataError, match="no repeat buyer"):
        clv_drivers(bg, gg, summary[summary["frequency"] == 0])
