"""Exact Shapley values: known games, efficiency, and incremental conversions from coalition rates."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storelift.attribution import AttributionError, coalition_rates, shapley_attribution, shapley_values


def test_glove_game():
    # player c holds the only left glove: v = 1 for any coalition with c and a right glove
    game = {frozenset("ac"): 1.0, frozenset("bc"): 1.0, frozenset("abc"): 1.0}
    phi = shapley_values(game, ["a", "b", "c"]).set_index("player").shapley_value
    assert phi.to_dict() == pytest.approx({"a": 1 / 6, "b": 1 / 6, "c": 2 / 3})


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=16, max_size=16))
def test_efficiency_values_sum_to_the_grand_coalition(values):
    players = ["a", "b", "c", "d"]
    game = {frozenset(p for i, p in enumerate(players) if mask >> i & 1): v for mask, v in enumerate(values)}
    phi = shapley_values(game, players).shapley_value
    assert phi.sum() == pytest.approx(values[15] - values[0], abs=1e-9)


def _journeys(make_paths, rates):
    """100 paths per coalition with the given number of conversions (revenue 10 each)."""
    out = []
    for channels, conversions in rates.items():
        out += [(list(channels), i < conversions, 10.0 if i < conversions else 0.0) for i in range(100)]
    return make_paths(out)


def test_additive_lifts_are_recovered_exactly(make_paths):
    # baseline 10%, A adds 20 points, B adds 10 points
    paths = _journeys(make_paths, {(): 10, ("A",): 30, ("B",): 20, ("A", "B"): 40})
    rates = coalition_rates(paths).set_index("coalition")
    assert rates.loc["A+B", "conversion_rate"] == 0.4 and rates.loc["", "paths"] == 100
    out = shapley_attribution(paths, min_paths=0).set_index("channel")
    assert out.conversions.to_dict() == pytest.approx({"A": 40.0, "B": 20.0})
    assert out.revenue.to_dict() == pytest.approx({"A": 400.0, "B": 200.0})
    assert out.share.sum() == pytest.approx(1.0)


def test_interactions_are_split_evenly_and_credit_sums_to_incremental_conversions(make_paths):
    paths = _journeys(make_paths, {(): 10, ("A",): 30, ("B",): 20, ("A", "B"): 50})
    out = shapley_attribution(paths, min_paths=0).set_index("channel")
    # in {A, B}: v(A) = .2, v(B) = .1, v(AB) = .4 -> A .25, B .15
    assert out.conversions.to_dict() == pytest.approx({"A": 20 + 25.0, "B": 10 + 15.0})
    assert out.conversions.sum() == pytest.approx(100 * (0.2 + 0.1 + 0.4))


def test_unseen_coalitions_use_the_additive_model(make_paths):
    # {A, B} is never seen alone with A: A's value comes from the additive fit
    paths = _journeys(make_paths, {(): 10, ("B",): 20, ("A", "B"): 40})
    out = shapley_attribution(paths, min_paths=0).set_index("channel")
    assert out.conversions.sum() == pytest.approx(100 * 0.1 + 100 * 0.3)
    assert out.loc["A", "conversions"] > 0


def test_too_many_channels_is_an_error(make_paths):
    paths = make_paths([([f"c{i}" for i in range(17)], True, 1.0)])
    with pytest.raises(AttributionError, match="17 channels"):
        shapley_attribution(paths)
