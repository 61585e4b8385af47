"""Qini and uplift curves, their normalized areas, uplift@k and the targeting policy, on cases worked by hand."""

import numpy as np
import pytest

from storelift.experiments.uplift import UpliftError
from storelift.experiments.uplift_metrics import (auuc, qini_coefficient, qini_curve, uplift_at_k,
                                                  uplift_by_percentile, uplift_curve)
from storelift.experiments.uplift_policy import evaluate_policy, targeting_policy

# Six customers already in score order: treated responder, treated non-responder, control responder,
# control non-responder, treated responder, control non-responder.
Y = np.array([1, 0, 1, 0, 1, 0])
T = np.array([1, 1, 0, 0, 1, 0])
SCORE = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])


def test_qini_curve_matches_the_hand_computed_points():
    # Q(k) = Y_T - Y_C * N_T / N_C, the control term 0 while no control customer is in
    curve = qini_curve(Y, SCORE, T)
    assert curve.targeted.tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert curve.qini.tolist() == pytest.approx([0, 1, 1, -1, 0, 0.5, 1])
    assert curve.random.iloc[-1] == pytest.approx(1) and curve.random.iloc[3] == pytest.approx(0.5)


def test_uplift_curve_matches_the_hand_computed_points():
    # U(k) = (Y_T / N_T - Y_C / N_C) * k
    curve = uplift_curve(Y, SCORE, T)
    assert curve.uplift.tolist() == pytest.approx([0, 1, 1, -1.5, 0, 5 / 6, 2])
    assert curve.share.iloc[-1] == 1.0


def test_normalized_scores_match_the_hand_computed_areas():
    # Qini: model area 2.0, random 6 * 1 / 2 = 3, perfect (treated responders first, control responder
    # last: points (0,0) (2,2) (5,2) (6,1)) 9.5 -> (2 - 3) / (9.5 - 3)
    assert qini_coefficient(Y, SCORE, T) == pytest.approx(-1 / 6.5)
    assert qini_coefficient(Y, SCORE, T, normalize=False) == pytest.approx(2.0)
    # uplift curve: model 7/3, random 6 * 2 / 2 = 6, perfect 43/3 -> (7/3 - 6) / (43/3 - 6) = -11/25
    assert auuc(Y, SCORE, T) == pytest.approx(-11 / 25)
    assert auuc(Y, SCORE, T, normalize=False) == pytest.approx(7 / 3)


def test_uplift_at_k_takes_the_top_share_overall_or_per_arm():
    # top 3 overall: treated [1, 0], control [1] -> 0.5 - 1
    assert uplift_at_k(Y, SCORE, T, k=0.5) == pytest.approx(-0.5)
    # top floor(1.5) = 1 of each arm: treated [1], control [1]; top 2 of each: treated [1, 0], control [1, 0]
    assert uplift_at_k(Y, SCORE, T, k=0.5, strategy="by_group") == pytest.approx(0.0)
    assert uplift_at_k(Y, SCORE, T, k=0.7, strategy="by_group") == pytest.approx(0.0)
    assert uplift_at_k(Y, SCORE, T, k=1.0, strategy="by_group") == pytest.approx(2 / 3 - 1 / 3)


def test_tied_scores_are_never_split_so_a_constant_score_is_random():
    flat = np.zeros(len(Y))
    assert qini_curve(Y, flat, T).targeted.tolist() == [0, 6]
    assert qini_coefficient(Y, flat, T) == pytest.approx(0.0)
    assert auuc(Y, flat, T) == pytest.approx(0.0)


def _experiment(n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    tau = np.where(rng.random(n) < 0.3, 0.15, 0.0)
    t = (rng.random(n) < 0.5).astype(int)
    y = (rng.random(n) < 0.1 + t * tau).astype(int)
    return y, t, tau


def test_a_perfect_ranking_scores_one():
    y, t, _ = _experiment()
    assert qini_coefficient(y, y * t - y * (1 - t), t) == pytest.approx(1.0)
    assert auuc(y, 2.0 * (y == t) + t, t) == pytest.approx(1.0)  # more treated than control responders


def test_random_rankings_score_near_zero_and_the_true_effect_well_above():
    y, t, tau = _experiment()
    rng = np.random.default_rng(1)
    for metric in (qini_coefficient, auuc):
        random_scores = [metric(y, rng.random(len(y)), t) for _ in range(20)]
        assert abs(np.mean(random_scores)) < 3 * np.std(random_scores) / np.sqrt(20) + 1e-3
        # the perfect ranking sorts by realized outcomes, so even the true effect stays well below 1
        assert np.mean(random_scores) + 8 * np.std(random_scores) < metric(y, tau, t) < 0.5


def test_uplift_by_percentile_recovers_the_effect_in_the_top_band():
    y, t, tau = _experiment()
    bands = uplift_by_percentile(y, tau + np.random.default_rng(2).random(len(y)) * 1e-6, t, bins=10)
    assert bands.customers.sum() == len(y) and bands.band.tolist() == list(range(1, 11))
    assert bands.uplift.iloc[0] == pytest.approx(0.15, abs=4 * bands.uplift_se.iloc[0])
    assert bands.uplift.iloc[-1] == pytest.approx(0.0, abs=4 * bands.uplift_se.iloc[-1])


def test_policy_treats_only_where_uplift_times_value_beats_cost_within_the_cap():
    policy = targeting_policy([0.10, 0.02, 0.05, -0.01], value=20.0, cost=0.5)
    # expected value 2.0, 0.4, 1.0, -0.2 against a cost of 0.5
    assert policy.treat.tolist() == [True, False, True, False]
    assert policy["rank"].tolist() == [1, 3, 2, 4]
    assert policy.expected_net.tolist() == pytest.approx([1.5, -0.1, 0.5, -0.7])
    capped = targeting_policy([0.10, 0.02, 0.05, -0.01], value=20.0, cost=0.5, max_share=0.25)
    assert capped.treat.tolist() == [True, False, False, False]


def test_policy_evaluation_reads_the_incremental_outcome_off_the_experiment():
    y, t, tau = _experiment()
    policy = targeting_policy(tau, value=10.0, cost=0.5)  # treat the 30% with uplift 0.15
    result = evaluate_policy(policy.treat, y, t, value=10.0, cost=0.5)
    assert result.targeted == int((tau > 0).sum())
    assert result.uplift_targeted_low < 0.15 < result.uplift_targeted_high
    assert result.net_value == pytest.approx(result.incremental_outcome * 10 - 0.5 * result.targeted)


@pytest.mark.parametrize("call, message", [
    (lambda: qini_coefficient(Y, SCORE, [1, 1, 0, 0, 2, 0]), "treatment\\[4\\] is 2.0"),
    (lambda: qini_coefficient(Y, SCORE, np.ones(6)), "only treated"),
    (lambda: qini_coefficient(Y, SCORE[:5], T), "uplift has 5 values"),
    (lambda: qini_coefficient([1, 0, np.nan, 0, 1, 0], SCORE, T), "y\\[2\\] is nan"),
    (lambda: auuc(Y * 3.5, SCORE, T), "binary outcome"),
    (lambda: qini_coefficient(np.zeros(6), SCORE, T), "undefined"),
    (lambda: uplift_at_k(Y, SCORE, T, k=1.5), "k is 1.5"),
    (lambda: uplift_at_k(Y, SCORE, T, k=0.2), "no control customers"),
    (lambda: uplift_at_k(Y, SCORE, T, strategy="top"), "strategy is 'top'"),
    (lambda: uplift_by_percentile(Y, SCORE, T, bins=0), "bins is 0"),
    (lambda: targeting_policy(SCORE, max_share=0), "max_share is 0"),
    (lambda: targeting_policy(SCORE, value=[1.0, 2.0]), "value"),
])
def test_bad_inputs_name_the_parameter(call, message):
    with pytest.raises(UpliftError, match=message):
        call()
