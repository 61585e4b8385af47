"""ThompsonSlot: learns the best item, regret grows ever slower, posterior means, clear errors."""

import numpy as np
import pytest

from storelift.recommend.explore import ThompsonSlot, simulate_regret
from storelift.recommend.models import RecommendModelError

RATES = {"a": 0.02, "b": 0.05, "c": 0.10}


def test_the_slot_finds_the_best_item_and_its_regret_flattens():
    played = simulate_regret(RATES, rounds=4000, random_state=3)
    late = played.iloc[-1000:]
    assert (late.item_id == "c").mean() > 0.8
    regret = played.cumulative_regret.to_numpy()
    first, last = regret[999], regret[-1] - regret[-1001]
    assert last < first / 3  # the last 1,000 rounds cost far less than the first 1,000
    uniform = np.mean([0.10 - r for r in RATES.values()]) * 4000  # showing items at random
    assert regret[-1] < uniform / 3


def test_summary_counts_and_posterior_means():
    slot = ThompsonSlot(random_state=0)
    for clicked in (True, False, False, False):
        slot.update("x", clicked)
    slot.update("y", True)
    summary = slot.summary().set_index("item_id")
    assert summary.loc["x", "impressions"] == 4 and summary.loc["x", "clicks"] == 1
    assert summary.loc["x", "posterior_mean"] == pytest.approx(2 / 6)
    assert summary.loc["y", "posterior_mean"] == pytest.approx(2 / 3)
    assert summary.index[0] == "y"


def test_bad_inputs():
    with pytest.raises(RecommendModelError, match="prior_clicks"):
        ThompsonSlot(prior_clicks=0)
    with pytest.raises(RecommendModelError, match="candidates is empty"):
        ThompsonSlot().choose([])
