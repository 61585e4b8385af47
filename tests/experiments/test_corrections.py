"""Holm and Benjamini-Hochberg agree with statsmodels' multipletests."""

import numpy as np
import pandas as pd
import pytest

from storelift.experiments import AnalysisError, adjust_p_values, benjamini_hochberg, holm

multitest = pytest.importorskip("statsmodels.stats.multitest", reason="statsmodels is the reference here")

P_SETS = [
    np.random.default_rng(0).uniform(0, 0.2, 15),
    np.array([0.01, 0.01, 0.04, 0.04, 0.2, 0.5, 0.001]),  # ties
    np.array([0.9]),
    np.concatenate([np.random.default_rng(1).uniform(0, 1e-4, 5), np.random.default_rng(2).uniform(0, 1, 40)]),
]


@pytest.mark.parametrize("p", P_SETS)
@pytest.mark.parametrize("ours, theirs", [(holm, "holm"), (benjamini_hochberg, "fdr_bh")])
def test_adjusted_p_values_and_rejections_match_statsmodels(p, ours, theirs):
    reject, corrected, _, _ = multitest.multipletests(p, alpha=0.05, method=theirs)
    np.testing.assert_allclose(ours(p), corrected, atol=1e-12)
    method = "holm" if theirs == "holm" else "bh"
    assert (adjust_p_values(p, method, 0.05).is_significant.to_numpy() == reject).all()


def test_a_series_keeps_its_index():
    p = pd.Series([0.01, 0.04, 0.03], index=["conversion", "revenue", "aov"])
    result = adjust_p_values(p, "bh")
    assert list(result.index) == ["conversion", "revenue", "aov"]
    assert list(result.columns) == ["p_value", "p_value_adjusted", "is_significant"]


@pytest.mark.parametrize("p, method, message", [
    ([0.1, 1.2], "holm", "p-values in \\[0, 1\\]"),
    ([], "holm", "p_values is empty"),
    ([0.1], "bonferroni", "method is 'bonferroni'; pass 'holm'"),
])
def test_bad_inputs_name_the_parameter(p, method, message):
    with pytest.raises(AnalysisError, match=message):
        adjust_p_values(p, method)
