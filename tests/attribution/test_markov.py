"""Markov removal effects on a path set small enough to solve by hand."""

import pytest

from storelift.attribution import markov_attribution, removal_effects, transition_matrix


def test_removal_effects_by_hand(make_paths):
    # start -> A (2/3), B (1/3); A -> B (1/2), null (1/2); B -> conversion (1)
    # P(conv) = 2/3 * 1/2 + 1/3 = 2/3; without A: 1/3 (effect 1/2); without B: 0 (effect 1)
    paths = make_paths([(["A", "B"], True, 30.0), (["A"], False, 0.0), (["B"], True, 60.0)])
    matrix = transition_matrix(paths)
    assert matrix.loc["(start)", "A"] == pytest.approx(2 / 3)
    assert matrix.loc["A", "(null)"] == pytest.approx(0.5)
    assert matrix.loc["B", "(conversion)"] == 1.0
    effects = removal_effects(paths).set_index("channel")
    assert effects.removal_effect.to_dict() == pytest.approx({"A": 0.5, "B": 1.0})
    out = markov_attribution(paths).set_index("channel")
    assert out.conversions.to_dict() == pytest.approx({"A": 2 / 3, "B": 4 / 3})
    assert out.revenue.to_dict() == pytest.approx({"A": 30.0, "B": 60.0})
    assert out.share.sum() == pytest.approx(1.0)


def test_self_loops_do_not_change_removal_effects_unless_dropped(make_paths):
    paths = make_paths([(["A", "A", "B"], True, 10.0), (["A"], False, 0.0), (["B", "B"], True, 10.0)])
    with_loops = removal_effects(paths).set_index("channel").removal_effect
    without = removal_effects(paths, drop_repeats=True).set_index("channel").removal_effect
    assert with_loops.to_dict() == pytest.approx(without.to_dict())


def test_a_channel_only_on_non_converting_paths_gets_nothing(make_paths):
    paths = make_paths([(["A"], True, 10.0), (["C"], False, 0.0), (["C"], False, 0.0)])
    out = markov_attribution(paths).set_index("channel")
    assert out.loc["C", "conversions"] == 0.0 and out.loc["A", "share"] == 1.0
