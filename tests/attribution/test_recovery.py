"""Data-driven attribution recovers the channel contributions planted in simulated paths; rules do not.

Truth: each channel adds a known increment to P(conversion) and the simulation records which channel
caused each conversion. Measure: the largest absolute error in a channel's share of the
conversions channels caused.
"""

import pytest

from storelift.attribution import compare_attribution, share_errors, touch_paths
from storelift.synth.marketing_mix import simulate_touch_paths


@pytest.fixture(scope="module")
def recovery():
    sim = simulate_touch_paths(customers=60_000, seed=3)
    paths = touch_paths(sim.touches, sim.conversions, lookback_days=30, customers=sim.customers)
    results = compare_attribution(paths)
    return sim, results, share_errors(results, sim.truth).set_index("model")


def test_shapley_recovers_caused_shares(recovery):
    _, results, errors = recovery
    assert errors.loc["shapley", "max_abs_share_error"] < 0.05
    shapley = results[results.model == "shapley"]
    assert shapley.share.sum() == pytest.approx(1.0)


def test_markov_shares_the_reach_bias_of_the_rules(recovery):
    """Removal effects credit a channel with the conversions of every path through it, so display
    (broad reach, almost no lift) gets several times the share it caused, as linear credit does."""
    sim, results, errors = recovery
    share = results[results.model == "markov"].set_index("channel").share
    truth = sim.truth.set_index("channel").share
    assert share["display"] > 3 * truth["display"]
    assert errors.loc["markov", "max_abs_share_error"] > 2 * errors.loc["shapley", "max_abs_share_error"]


def test_rule_based_models_are_biased_beyond_the_data_driven_ones(recovery):
    _, _, errors = recovery
    best_rule = errors.loc[["first_touch", "last_touch", "linear", "time_decay", "position_based"],
                           "max_abs_share_error"].min()
    assert best_rule > errors.loc["shapley", "max_abs_share_error"]
    assert errors.loc["linear", "max_abs_share_error"] > 0.08
