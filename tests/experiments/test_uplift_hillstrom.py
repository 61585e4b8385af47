"""Hillstrom's randomized e-mail test: per-arm effects match the dataset's published figures."""

import numpy as np
import pandas as pd
import pytest

from support import shared_file

from storelift.experiments.uplift import UpliftError
from storelift.experiments.uplift_data import HILLSTROM_CONTROL, hillstrom_features, hillstrom_uplift_data
from storelift.experiments.uplift_effects import arm_effects

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def hillstrom():
    return pd.read_csv(shared_file("hillstrom", "hillstrom.csv"))


def test_arm_sizes_and_means_match_the_readme(hillstrom):
    assert hillstrom.segment.value_counts().to_dict() == {"Womens E-Mail": 21_387, "Mens E-Mail": 21_307,
                                                          "No E-Mail": 21_306}
    effects = arm_effects(hillstrom, "segment", HILLSTROM_CONTROL, ["visit", "conversion", "spend"]).set_index(
        ["arm", "outcome"])
    mens, womens = effects.loc["Mens E-Mail"], effects.loc["Womens E-Mail"]
    assert round(mens.loc["visit", "mean_treated"] * 100, 2) == 18.28
    assert round(womens.loc["visit", "mean_treated"] * 100, 2) == 15.14
    assert round(mens.loc["visit", "mean_control"] * 100, 2) == 10.62
    assert round(mens.loc["conversion", "mean_treated"] * 100, 3) == 1.253
    assert round(mens.loc["spend", "mean_treated"], 4) == 1.4226
    assert round(mens.loc["spend", "mean_control"], 4) == 0.6528


def test_average_effects_match_the_readme(hillstrom):
    effects = arm_effects(hillstrom, "segment", HILLSTROM_CONTROL, ["visit", "conversion", "spend"]).set_index(
        ["arm", "outcome"])
    mens, womens = effects.loc["Mens E-Mail"], effects.loc["Womens E-Mail"]
    # README: Mens visit +7.66 pp (z 22.6), conversion +0.68 pp (z 7.4), spend +$0.770 (z 5.3)
    assert (round(mens.loc["visit", "effect"] * 100, 2), round(mens.loc["visit", "statistic"], 1)) == (7.66, 22.6)
    assert (round(mens.loc["conversion", "effect"] * 100, 2), round(mens.loc["conversion", "statistic"], 1)) == \
        (0.68, 7.4)
    assert (round(mens.loc["spend", "effect"], 3), round(mens.loc["spend", "statistic"], 1)) == (0.770, 5.3)
    # README: Womens visit +4.52 pp, conversion +0.31 pp, spend +$0.424
    assert round(womens.loc["visit", "effect"] * 100, 2) == 4.52
    assert round(womens.loc["conversion", "effect"] * 100, 2) == 0.31
    assert round(womens.loc["spend", "effect"], 3) == 0.424
    assert mens.loc["spend", "method"] == "Welch t" and mens.loc["visit", "method"].startswith("difference")
    for _, row in effects.iterrows():
        assert row.ci_low < row.effect < row.ci_high and row.p_value < 0.01


def test_uplift_data_keeps_the_chosen_arms_and_encodes_every_feature(hillstrom):
    data = hillstrom_uplift_data(hillstrom, treated_arms=("Womens E-Mail",), target="visit")
    assert len(data) == 21_387 + 21_306
    assert data.treatment.sum() == 21_387
    assert data.features.shape[1] == 11 and not data.features.isna().any().any()
    assert (data.features[["zip_urban", "zip_suburban", "zip_rural"]].sum(axis=1) == 1).all()
    train, test = data.split(test_size=0.3, seed=42)
    assert len(test) == pytest.approx(0.3 * len(data), abs=1)
    # stratified: treated share and visit rate agree between the parts
    assert abs(train.treatment.mean() - test.treatment.mean()) < 1e-3
    assert abs(train.outcome.mean() - test.outcome.mean()) < 1e-3
    both = hillstrom_uplift_data(hillstrom, treated_arms=("Mens E-Mail", "Womens E-Mail"))
    assert len(both) == 64_000 and np.isclose(both.treatment.mean(), (21_387 + 21_307) / 64_000)


def test_bad_hillstrom_inputs_are_named(hillstrom):
    with pytest.raises(UpliftError, match="arm 'Kids E-Mail'"):
        hillstrom_uplift_data(hillstrom, treated_arms=("Kids E-Mail",))
    with pytest.raises(UpliftError, match="target is 'history'"):
        hillstrom_uplift_data(hillstrom, target="history")
    with pytest.raises(UpliftError, match="no column 'channel'"):
        hillstrom_features(hillstrom.drop(columns="channel"))
    with pytest.raises(UpliftError, match="control arm 'Nothing'"):
        arm_effects(hillstrom, "segment", "Nothing", ["visit"])
