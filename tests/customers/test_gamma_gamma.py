"""GammaGamma: recovery on simulated spend, conditional order value, errors, and a synthetic store's truth."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from storelift.customers import customer_orders
from storelift.customers.bgnbd import BetaGeo
from storelift.customers.clv_data import rfm_summary
from storelift.customers.clv_fit import ModelDataError
from storelift.customers.gamma_gamma import GammaGamma
from storelift.synth import generate_store
from storelift.synth.truth import TruthParams

TRUTH = {"p": 3.0, "q": 5.0, "gamma": 40.0}


def simulate_spend(n, p, q, gamma, seed):
    """x ~ 1 + Poisson(2) repeat purchases, nu ~ Gamma(q, rate gamma), each value ~ Gamma(p, rate nu)."""
    rng = np.random.default_rng(seed)
    x = 1 + rng.poisson(2.0, n)
    nu = rng.gamma(q, 1.0 / gamma, n)
    total = rng.gamma(p * x, 1.0 / nu)  # the sum of x Gamma(p, nu) values
    return pd.DataFrame({"frequency": x, "monetary_value": total / x})


def test_recovers_simulated_parameters_within_three_standard_errors():
    rfm = simulate_spend(10_000, **TRUTH, seed=1)
    model = GammaGamma().fit(rfm)
    assert model.diagnostics_["converged"]
    z = (model.params_ - pd.Series(TRUTH)) / model.standard_errors_
    assert (z.abs() < 3).all(), z


def test_conditional_order_value_moves_from_population_mean_to_own_mean():
    model = GammaGamma().fit(simulate_spend(3_000, **TRUTH, seed=2))
    rfm = pd.DataFrame({"frequency": [0, 1, 50], "monetary_value": [0.0, 200.0, 200.0]})
    value = model.conditional_expected_order_value(rfm)
    assert value.iloc[0] == pytest.approx(model.mean_order_value())
    assert model.mean_order_value() < value.iloc[1] < value.iloc[2] < 200.0


def test_too_few_repeat_customers_or_bad_values_raise():
    rfm = simulate_spend(100, **TRUTH, seed=3)
    with pytest.raises(ModelDataError, match="only 0 repeat customers"):
        GammaGamma().fit(rfm.assign(frequency=0))
    with pytest.raises(ModelDataError, match="'monetary_value' is missing, negative .* row 4"):
        GammaGamma().fit(rfm.assign(monetary_value=rfm.monetary_value.where(rfm.index != 4, -1.0)))


def _auc(score, label):
    ranks = pd.Series(score).rank().to_numpy()
    pos = label.astype(bool)
    return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())


def test_synthetic_store_truth_is_approximately_recovered(tmp_path):
    """The generator is BG/NBD + Gamma-Gamma, but in operational time (seasonality, promotions), with
    campaign orders added and order values built from catalog baskets and refunds: the models are
    misspecified, so only population means are compared, within 15%, plus ranking of who is alive."""
    generate_store(tmp_path, customers=3000, seed=3, events=False)
    tables = {n: ibis.memtable(pd.read_parquet(tmp_path / f"{n}.parquet")) for n in ("orders", "order_lines", "refunds")}
    summary = rfm_summary(customer_orders(tables["orders"], tables["order_lines"], tables["refunds"]),
                          "2024-12-31", time_unit_days=7).execute()
    truth = TruthParams()
    bg, gg = BetaGeo().fit(summary), GammaGamma().fit(summary)
    r, alpha, a, b = bg.params_
    assert r / alpha == pytest.approx(truth.r / (truth.alpha / 7), rel=0.15)  # mean purchases per week
    assert a / (a + b) == pytest.approx(truth.a / (truth.a + truth.b), rel=0.15)  # mean dropout probability
    assert gg.mean_order_value() == pytest.approx(truth.mean_orders_value, rel=0.15)
    known = pd.read_parquet(tmp_path / "ground_truth" / "customers.parquet")
    merged = summary.merge(known, on="customer_id")
    assert len(merged) == len(summary)
    assert _auc(bg.probability_alive(merged).to_numpy(), merged.is_alive_at_end.to_numpy()) > 0.75
