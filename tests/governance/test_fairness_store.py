"""Fairness audits on the synthetic store: with one group's orders under-recorded (the planted bias),
storelift's propensity audience under-selects that group, the audit flags it and threshold mitigation
lowers the disparity; on stores without the bias nothing is flagged, over several seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("fairlearn", reason="fairness audits come with the governance extra")

from storelift.governance.fairness import FairnessError  # noqa: E402
from storelift.governance.fairness_audiences import audience_audit  # noqa: E402
from storelift.governance.fairness_store import alarm_rates, store_fairness  # noqa: E402
from storelift.governance.fairness_targeting import age_band, audit_groups, protected_groups  # noqa: E402
from storelift.synth import generate_store  # noqa: E402
from storelift.synth.bias import PlantedBias  # noqa: E402


@pytest.fixture(scope="module")
def biased(tmp_path_factory):
    folder = tmp_path_factory.mktemp("biased-store")
    generate_store(folder, customers=2000, seed=5, events=False, planted_bias=PlantedBias("female", "gender", 0.7))
    return store_fairness(folder)


def _row(audit: pd.DataFrame, attribute: str, group: str) -> pd.Series:
    return audit.set_index(["attribute", "group"]).loc[(attribute, group)]


def test_the_planted_group_is_flagged_and_only_it(biased):
    before = biased.targeting.before
    female = _row(before, "gender", "female")
    assert female["flagged"] and female["disparate_impact"] < 0.75 and female["p_value"] < 1e-4
    assert _row(before, "gender", "male")["disparate_impact"] == 1.0  # the reference group
    flagged = set(zip(before.loc[before["flagged"], "attribute"], before.loc[before["flagged"], "group"]))
    assert flagged == {("gender", "female")}  # age is independent of the bias: no age band is flagged
    assert biased.planted_bias["group"] == "female" and biased.planted_bias["unlinked_orders"] > 0


def test_the_group_buys_like_everyone_else_in_truth(biased):
    """The disparity comes from the recorded history: in the true orders the group's purchase rate is the same."""
    d = biased.targeting.decisions
    rates = d.groupby("gender")["outcome"].mean()
    assert abs(rates["female"] - rates["male"]) < 0.05
    assert d.loc[d.gender == "female", "is_selected"].mean() < 0.8 * d.loc[d.gender == "male", "is_selected"].mean()


def test_threshold_mitigation_lowers_the_disparity(biased):
    t = biased.targeting
    assert t.mitigated_attribute == "gender" and t.constraint == "demographic_parity"
    summary = t.summary().set_index("attribute").loc["gender"]
    assert summary["demographic_parity_difference_after"] < summary["demographic_parity_difference_before"] / 2
    assert summary["equalized_odds_difference_after"] < summary["equalized_odds_difference_before"]
    assert not t.after.loc[t.after["attribute"] == "gender", "flagged"].any()
    female = t.comparison().set_index(["attribute", "group"]).loc[("gender", "female")]
    assert female["selection_rate_after"] > female["selection_rate_before"]
    assert female["disparate_impact_after"] >= 0.8
    size_before, size_after = t.decisions[["is_selected", "is_selected_mitigated"]].mean()
    assert abs(size_after - size_before) < 0.15  # mitigation re-draws the audience, it does not empty it


def test_the_randomized_campaign_audience_is_not_flagged(biased):
    campaigns = biased.campaigns
    assert set(campaigns["campaign"]) == {"winback_email_test"}
    assert not campaigns["flagged"].any()
    assert campaigns["audience"].iat[0] / campaigns["population"].iat[0] == pytest.approx(0.5, abs=0.08)


def test_unbiased_stores_are_not_flagged_over_seeds():
    rates = alarm_rates(range(300, 304), customers=1500)
    assert len(rates) == 4 and (rates["flagged_groups"] == "").all()
    assert not rates["has_alarm"].any()
    assert (rates["demographic_parity_difference_before"] < 0.08).all()


def test_an_audience_that_skips_a_group_is_flagged():
    rng = np.random.default_rng(0)
    customers = pd.DataFrame({"customer_id": [f"C{i}" for i in range(1000)],
                              "gender": np.where(np.arange(1000) < 500, "female", "male"),
                              "birth_year": rng.integers(1950, 2000, 1000),
                              "created_at": pd.Timestamp("2023-01-01")})
    chosen = np.where(customers.gender == "female", rng.random(1000) < 0.25, rng.random(1000) < 0.5)
    audit = audience_audit(customers.customer_id[chosen], customers, "2024-01-01")
    assert _row(audit, "gender", "female")["flagged"] and not _row(audit, "gender", "male")["flagged"]
    assert not audit.loc[audit["attribute"] == "age_band", "flagged"].any()


def test_small_groups_are_shown_but_never_flagged_nor_the_reference():
    groups = pd.DataFrame({"g": ["a"] * 400 + ["b"] * 400 + ["tiny"] * 10})
    selected = np.r_[np.ones(200), np.zeros(200), np.ones(100), np.zeros(300), np.ones(10)]
    audit = audit_groups(selected, groups, min_group_units=50).set_index("group")
    assert audit.loc["b", "flagged"] and audit.loc["a", "disparate_impact"] == 1.0
    assert np.isnan(audit.loc["tiny", "p_value"]) and not audit.loc["tiny", "flagged"]
    assert audit.loc["tiny", "disparate_impact"] == pytest.approx(2.0)


def test_age_bands_and_protected_groups():
    years = pd.Series([2006, 2007, 1999, 1990, 1960, 1959, None])
    assert list(age_band(years, 2024)) == ["18-24", "under 18", "25-34", "25-34", "55-64", "65+", "unknown"]
    groups = protected_groups(pd.DataFrame({"customer_id": ["a", "b"], "gender": ["female", None],
                                            "birth_year": [1980, None]}), "2024-06-30")
    assert list(groups.gender) == ["female", "unknown"] and list(groups.age_band) == ["35-44", "unknown"]
    with pytest.raises(FairnessError, match="birth_year"):
        protected_groups(pd.DataFrame({"customer_id": ["a"], "gender": ["x"]}), "2024-01-01")
