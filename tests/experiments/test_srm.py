"""The sample-ratio check flags a broken split and stays quiet on a fair one."""

import numpy as np
import pytest

from storelift.experiments import AnalysisError, Experiment, sample_ratio_check


def test_a_505_to_495_split_of_a_million_is_flagged():
    result = sample_ratio_check({"control": 505_000, "treatment": 495_000}, {"control": 1, "treatment": 1})
    assert result.is_mismatch.all()
    assert result.p_value.iloc[0] < 1e-20
    assert result.chi2.iloc[0] == pytest.approx(100.0)


def test_a_fair_split_of_a_million_is_not_flagged():
    result = sample_ratio_check({"control": 500_200, "treatment": 499_800}, {"control": 1, "treatment": 1})
    assert not result.is_mismatch.any()
    assert result.p_value.iloc[0] == pytest.approx(0.6892, abs=1e-4)  # chi2 0.16 on 1 dof
    assert list(result.columns) == ["arm", "observed", "expected", "observed_share", "expected_share", "chi2", "dof",
                                    "p_value", "is_mismatch"]


def test_threshold_is_a_parameter():
    counts = {"control": 50_300, "treatment": 49_700}  # p about 0.058
    assert not sample_ratio_check(counts, {"control": 1, "treatment": 1}).is_mismatch.any()
    assert sample_ratio_check(counts, {"control": 1, "treatment": 1}, threshold=0.1).is_mismatch.all()


def test_experiment_design_includes_weights_and_the_holdout():
    experiment = Experiment("offer", arms=(("none", 2.0), ("ten_off", 1.0), ("free_ship", 1.0)), holdout_share=0.1)
    ids = [f"C{i:06d}" for i in range(20_000)]
    counts = experiment.assign_many(ids).arm.value_counts()
    result = sample_ratio_check(counts, experiment)
    assert set(result.arm) == {"none", "ten_off", "free_ship", "holdout"}
    assert result.expected_share.sum() == pytest.approx(1.0)
    assert result.set_index("arm").expected_share["none"] == pytest.approx(0.45)
    assert not result.is_mismatch.any()


def test_matches_scipy_chisquare():
    from scipy import stats

    observed = np.array([1000, 2100, 950])
    result = sample_ratio_check(dict(zip("abc", observed)), {"a": 1, "b": 2, "c": 1})
    expected = stats.chisquare(observed, observed.sum() * np.array([0.25, 0.5, 0.25]))
    assert result.chi2.iloc[0] == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value.iloc[0] == pytest.approx(expected.pvalue, rel=1e-9)


@pytest.mark.parametrize("observed, design, threshold, message", [
    ({"control": 10, "other": 5}, {"control": 1, "treatment": 1}, 0.001, "observed arm 'other' is not in the design"),
    ({"control": 10}, {"control": 1}, 0.001, "at least 2 arms"),
    ({"control": 10, "treatment": 5}, {"control": 1, "treatment": 0}, 0.001, "number > 0"),
    ({"control": 10.5, "treatment": 5}, {"control": 1, "treatment": 1}, 0.001, "whole numbers"),
    ({"control": 0, "treatment": 0}, {"control": 1, "treatment": 1}, 0.001, "all 0"),
    ({"control": 10, "treatment": 5}, {"control": 1, "treatment": 1}, 1.5, "threshold is 1.5"),
])
def test_bad_inputs_name_the_parameter(observed, design, threshold, message):
    with pytest.raises(AnalysisError, match=message):
        sample_ratio_check(observed, design, threshold)
