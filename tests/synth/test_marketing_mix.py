"""The marketing simulations are seeded and their truth is what the data were drawn from."""

import numpy as np
import pandas as pd
import pytest

from storelift.synth.marketing_mix import (MarketingTruthError, simulate_marketing_mix, simulate_touch_paths)


def test_mix_series_is_seeded_and_adds_up():
    a, b = simulate_marketing_mix(days=120, seed=5), simulate_marketing_mix(days=120, seed=5)
    pd.testing.assert_frame_equal(a.daily, b.daily)
    assert not simulate_marketing_mix(days=120, seed=6).daily.equals(a.daily)
    channels = a.truth.channel.tolist()
    parts = a.contributions
    assert np.allclose(parts.baseline + parts.noise + parts[channels].sum(axis=1), a.daily.revenue)
    truth = a.truth.set_index("channel")
    assert np.allclose(parts[channels].sum() / a.daily[channels].sum(), truth.roas)
    assert (truth.marginal_roas < truth.roas).all()  # concave response: the next unit earns less than the average
    assert (a.daily[channels] >= 0).all().all()


def test_touch_paths_truth_matches_the_planted_lifts():
    sim = simulate_touch_paths(customers=40_000, seed=2)
    truth = sim.truth.set_index("channel")
    caused = truth.caused_conversions
    # caused conversions of a channel are Binomial(reached, lift): within 4 standard errors
    sd = np.sqrt(truth.reached * truth.conversion_lift * (1 - truth.conversion_lift))
    assert ((caused - truth.expected_conversions).abs() < 4 * sd + 1).all()
    assert sim.truth.share.sum() == pytest.approx(1.0)
    assert (sim.conversions.caused_by != "baseline").sum() == caused.sum()
    touched = set(sim.touches.customer_id)
    untouched = sim.customers[~sim.customers.customer_id.isin(touched)]
    rate = untouched.customer_id.isin(sim.conversions.customer_id).mean()
    assert abs(rate - sim.baseline_conversion) < 4 * np.sqrt(0.02 * 0.98 / len(untouched))
    joined = sim.touches.merge(sim.conversions[["customer_id", "converted_at"]], on="customer_id")
    assert (joined.touched_at < joined.converted_at).all()  # every touch comes before the conversion


def test_bad_settings_are_errors():
    with pytest.raises(MarketingTruthError, match="days=10"):
        simulate_marketing_mix(days=10)
    with pytest.raises(MarketingTruthError, match="sum"):
        simulate_touch_paths(customers=10, baseline_conversion=0.99)
