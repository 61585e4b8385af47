"""A layer puts each unit in at most one of its experiments, by share, with balanced arms inside."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from storelift.experiments import HOLDOUT_ARM, AssignmentError, Experiment, Layer, sample_ratio_check

IDS = [f"C{i:06d}" for i in range(30_000)]


def test_units_are_in_at_most_one_experiment_by_share():
    banner_a, banner_b = Experiment("banner-a"), Experiment("banner-b")
    layer = Layer("home-hero", ((banner_a, 0.5), (banner_b, 0.3)))
    table = layer.assign_many(IDS)
    shares = table.experiment.value_counts(dropna=False, normalize=True)
    assert abs(shares["banner-a"] - 0.5) < 4 * np.sqrt(0.25 / len(IDS))
    assert abs(shares["banner-b"] - 0.3) < 4 * np.sqrt(0.21 / len(IDS))
    outside = table[table.experiment.isna()]
    assert outside.arm.isna().all() and abs(len(outside) / len(IDS) - 0.2) < 0.02
    for unit, experiment, arm in table.head(300).itertuples(index=False):
        if pd.isna(experiment):
            assert layer.assign(unit) == (None, None)
        else:
            assert layer.assign(unit) == (experiment, arm)
            assert arm == {"banner-a": banner_a, "banner-b": banner_b}[experiment].assign(unit)


def test_arms_stay_balanced_inside_each_experiment():
    layer = Layer("checkout", ((Experiment("button"), 0.4), (Experiment("copy"), 0.6)))
    table = layer.assign_many(IDS)
    for name, part in table.groupby("experiment"):
        counts = part.arm.value_counts()
        assert not sample_ratio_check(counts, {"control": 1, "treatment": 1}).is_mismatch.any(), name


def test_layers_with_different_salts_overlap_independently():
    first = Layer("hero", ((Experiment("a"), 0.5),)).assign_many(IDS).experiment.notna()
    second = Layer("search", ((Experiment("b"), 0.5),)).assign_many(IDS).experiment.notna()
    table = np.array([[(first & second).sum(), (first & ~second).sum()],
                      [(~first & second).sum(), (~first & ~second).sum()]])
    assert stats.chi2_contingency(table).pvalue > 0.001


def test_global_holdout_still_applies_inside_a_layer():
    layer = Layer("recs", ((Experiment("ranker", holdout_share=0.05), 1.0),))
    arms = layer.assign_many(IDS).arm
    assert abs((arms == HOLDOUT_ARM).mean() - 0.05) < 0.01


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "", "allocations": ((Experiment("a"), 0.5),)}, "layer name is empty"),
    ({"name": "l", "allocations": ()}, "has no experiments"),
    ({"name": "l", "allocations": ((Experiment("a"), 0.5), (Experiment("a"), 0.2))}, "lists an experiment twice"),
    ({"name": "l", "allocations": ((Experiment("a"), 0.0),)}, "share 0.0"),
    ({"name": "l", "allocations": ((Experiment("a"), 0.7), (Experiment("b"), 0.4))}, "sum to 1.1"),
    ({"name": "l", "allocations": (("a", 0.5),)}, "where an Experiment belongs"),
    ({"name": "l", "allocations": ((Experiment("a"), 0.5),), "salt": "a"}, "same salt"),
])
def test_bad_layers_name_the_problem(kwargs, message):
    with pytest.raises(AssignmentError, match=message):
        Layer(**kwargs)
