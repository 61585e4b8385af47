"""Assignment is deterministic, splits by weight, and the global holdout is the same everywhere."""

import numpy as np
import pytest
from scipy import stats

from storelift.experiments import HOLDOUT_ARM, AssignmentError, Experiment, bucket, is_held_out

IDS = [f"C{i:06d}" for i in range(40_000)]


def test_the_same_unit_always_gets_the_same_arm_and_salts_decorrelate():
    a = Experiment("hero-banner")
    assert [a.assign(u) for u in IDS[:500]] == [Experiment("hero-banner").assign(u) for u in IDS[:500]]
    b = Experiment("email-subject")
    together = a.assign_many(IDS).arm.eq("treatment") & b.assign_many(IDS).arm.eq("treatment")
    # independent 50/50 splits overlap on a quarter of the units
    assert abs(together.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / len(IDS))


def test_arms_split_by_weight():
    experiment = Experiment("offer", arms=(("none", 2.0), ("ten_off", 1.0), ("free_ship", 1.0)))
    counts = experiment.assign_many(IDS).arm.value_counts().reindex(["none", "ten_off", "free_ship"])
    expected = np.array([0.5, 0.25, 0.25]) * len(IDS)
    assert stats.chisquare(counts.to_numpy(), expected).pvalue > 0.001


def test_global_holdout_is_shared_nested_and_sized():
    recs = Experiment("recommendations", holdout_share=0.05)
    mail = Experiment("winback", holdout_share=0.05)
    held = {u for u in IDS if recs.assign(u) == HOLDOUT_ARM}
    assert held == {u for u in IDS if mail.assign(u) == HOLDOUT_ARM}
    assert abs(len(held) / len(IDS) - 0.05) < 4 * np.sqrt(0.05 * 0.95 / len(IDS))
    assert held <= {u for u in IDS if is_held_out(u, 0.10)}
    assert not any(is_held_out(u, 0.0) for u in IDS[:1000])


def test_buckets_are_uniform():
    counts = np.bincount([bucket(u, "s") // 1000 for u in IDS], minlength=10)
    assert stats.chisquare(counts).pvalue > 0.001


@pytest.mark.parametrize("kwargs, message", [
    ({"name": ""}, "name is empty"),
    ({"name": "x", "arms": ()}, "has no arms"),
    ({"name": "x", "arms": (("a", 1.0), ("a", 1.0))}, "repeat a name"),
    ({"name": "x", "arms": (("holdout", 1.0),)}, "reserved"),
    ({"name": "x", "arms": (("a", 0.0),)}, "weight 0.0"),
    ({"name": "x", "holdout_share": 1.0}, "holdout_share is 1.0"),
])
def test_bad_definitions_name_the_problem(kwargs, message):
    with pytest.raises(AssignmentError, match=message):
        Experiment(**kwargs)
