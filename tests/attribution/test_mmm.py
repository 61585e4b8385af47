"""The marketing-mix model recovers planted ROAS, and the budget reallocation respects its constraints."""

import numpy as np
import pandas as pd
import pytest

from storelift.attribution import (AttributionError, MarketingMixModel, geometric_adstock, hill,
                                   reallocate_budget)
from storelift.synth.marketing_mix import MixChannel, simulate_marketing_mix


def test_adstock_and_hill_by_hand():
    assert geometric_adstock(np.array([10.0, 0.0, 0.0]), 0.5).tolist() == [10.0, 5.0, 2.5]
    assert hill(np.array([0.0, 2.0, 6.0]), 2.0).tolist() == pytest.approx([0.0, 0.5, 0.75])
    assert hill(np.array([2.0]), 2.0, shape=3.0)[0] == pytest.approx(0.5)


CHANNELS = (MixChannel("search", 3_000.0, 0.2, 1.0, 2.5, active_share=0.9),
            MixChannel("social", 2_000.0, 0.5, 0.8, 1.5),
            MixChannel("display", 1_500.0, 0.6, 1.0, 0.8, active_share=0.6))


@pytest.fixture(scope="module")
def fitted():
    sim = simulate_marketing_mix(days=365, seed=4, channels=CHANNELS)
    model = MarketingMixModel(n_starts=2, cv_folds=3).fit(sim.daily)
    return sim, model


def test_mmm_recovers_true_roas_on_a_one_year_series(fitted):
    sim, model = fitted
    got = model.channel_summary().set_index("channel")
    truth = sim.truth.set_index("channel")
    error = (got.roas - truth.roas).abs() / truth.roas
    assert error.max() < 0.25, error.to_dict()
    assert model.r2_ > 0.8


def test_outputs_are_consistent(fitted):
    _, model = fitted
    daily = model.contributions()
    assert np.allclose(daily[model.channels_].sum(axis=1) + daily.baseline, daily.predicted)
    curves = model.response_curves(np.array([0.0, 0.5, 1.0, 1.5]))
    assert set(curves.columns) == {"channel", "spend_multiplier", "spend", "contribution", "roas", "marginal_roas"}
    for _, curve in curves.groupby("channel"):
        assert curve.contribution.iloc[0] == 0.0 and curve.contribution.is_monotonic_increasing
        assert curve.marginal_roas.iloc[1:].is_monotonic_decreasing  # diminishing returns (Hill shape 1)
    summary = model.channel_summary().set_index("channel")
    at_one = curves[curves.spend_multiplier == 1.0].set_index("channel")
    assert np.allclose(at_one.contribution, summary.contribution.loc[at_one.index])


def _model_with(coef, half, spend_per_day, days=100):
    """A model with known parameters and no carry-over, for exact budget checks."""
    model = MarketingMixModel()
    model.channels_ = list(coef)
    model.data_ = pd.DataFrame({c: np.full(days, spend_per_day[c]) for c in coef})
    model.decay_ = pd.Series(0.0, index=model.channels_)
    model.half_saturation_ = pd.Series(half)
    model.half_saturation_relative_ = pd.Series(half)
    model.stock_scale_ = np.ones(len(coef))
    model.coef_ = pd.Series(coef)
    return model


def test_budget_reallocation_respects_budget_and_bounds_and_equalizes_marginal_roas():
    model = _model_with({"a": 1000.0, "b": 1000.0}, {"a": 900.0, "b": 100.0}, {"a": 200.0, "b": 200.0})
    plan = reallocate_budget(model, relative_bounds=(0.2, 1.8))
    t = plan.table.set_index("channel")
    assert t.proposed_spend.sum() == pytest.approx(40_000.0)
    assert (t.proposed_spend >= t.min_spend - 1e-6).all() and (t.proposed_spend <= t.max_spend + 1e-6).all()
    # b returns more per extra unit at the current split, so money moves to b until the margins meet
    assert t.loc["b", "change"] > 0
    assert t.loc["a", "marginal_roas_at_proposed"] == pytest.approx(t.loc["b", "marginal_roas_at_proposed"], rel=0.02)
    # per day 1000 s / (s + k); s_a + s_b = 400 with equal margins k / (s + k)^2: s_a = 150, s_b = 250
    assert t.loc["a", "proposed_spend"] / 100 == pytest.approx(150.0, rel=0.01)
    assert plan.predicted_gain > 0
    assert plan.proposed_revenue == pytest.approx(t.proposed_contribution.sum())


def test_budget_bounds_bind_and_bad_budgets_are_errors():
    model = _model_with({"a": 1000.0, "b": 1000.0}, {"a": 900.0, "b": 100.0}, {"a": 200.0, "b": 200.0})
    plan = reallocate_budget(model, bounds={"a": (18_000.0, 25_000.0)})
    t = plan.table.set_index("channel")
    assert t.loc["a", "proposed_spend"] == pytest.approx(18_000.0, rel=1e-4)
    with pytest.raises(AttributionError, match="total_budget"):
        reallocate_budget(model, total_budget=500_000.0)
    with pytest.raises(AttributionError, match="bounds names 'c'"):
        reallocate_budget(model, bounds={"c": (0.0, 1.0)})


def test_unfitted_and_short_inputs_are_errors():
    with pytest.raises(AttributionError, match="not fitted"):
        MarketingMixModel().channel_summary()
    short = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=10), "revenue": 1.0, "tv": 1.0})
    with pytest.raises(AttributionError, match="10 days"):
        MarketingMixModel().fit(short)
