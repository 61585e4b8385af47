"""CDNOW paper setting (Fader, Hardie & Lee 2005) and customer_lifetime_value."""

from __future__ import annotations

import glob
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from storelift.customers.bgnbd import BetaGeo
from storelift.customers.clv import customer_lifetime_value
from storelift.customers.clv_data import rfm_summary_frame
from storelift.customers.clv_fit import ModelDataError
from storelift.customers.gamma_gamma import GammaGamma
from support import REPO, shared_file

SAMPLE = "lifetimes/datasets/CDNOW_sample.txt"
CACHE = Path.home() / ".cache" / "storelift-tests"


def cdnow_sample_ids() -> set[int]:
    """Master ids of the paper's 2,357-customer sample, shipped inside the PyPI package lifetimes 0.11.3."""
    found = glob.glob(str(REPO / "benchmarks" / ".venv-lifetimes" / "lib" / "python*" / "site-packages" / SAMPLE))
    if found:
        text = Path(found[0]).read_text()
    else:
        CACHE.mkdir(parents=True, exist_ok=True)
        wheels = sorted(CACHE.glob("[Ll]ifetimes-0.11.3-*.whl"))
        if not wheels:
            subprocess.run([sys.executable, "-m", "pip", "download", "lifetimes==0.11.3", "--no-deps",
                            "--only-binary=:all:", "-d", str(CACHE), "-q"], capture_output=True, timeout=120)
            wheels = sorted(CACHE.glob("[Ll]ifetimes-0.11.3-*.whl"))
        if not wheels:
            pytest.skip("CDNOW_sample.txt not found: run benchmarks/setup_lifetimes_venv.sh or allow "
                        "`pip download lifetimes==0.11.3` (PyPI) to fetch it")
        text = zipfile.ZipFile(wheels[0]).read(SAMPLE).decode()
    return {int(line.split()[0]) for line in text.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def cdnow_summary():
    master = pd.read_csv(shared_file("cdnow", "CDNOW_master.txt"), sep=r"\s+",
                         dtype={"customer_id": str, "date": str})
    ids = cdnow_sample_ids()
    sample = master[master.customer_id.astype(int).isin(ids)]
    orders = pd.DataFrame({"customer_id": sample.customer_id, "value": sample.dollar_value,
                           "ordered_at": pd.to_datetime(sample.date, format="%Y%m%d")})
    return rfm_summary_frame(orders, "1997-09-30", "1998-06-30", time_unit_days=7)


def test_cdnow_sample_gives_the_published_parameters(cdnow_summary):
    assert len(cdnow_summary) == 2357
    bg = BetaGeo().fit(cdnow_summary)
    published = pd.Series({"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426})
    assert bg.params_.to_numpy() == pytest.approx(published.to_numpy(), rel=0.005)
    assert bg.diagnostics_["log_likelihood"] == pytest.approx(-9582.4, abs=0.1)  # the paper's LL
    gg = GammaGamma().fit(cdnow_summary)
    assert gg.n_customers_ == 946
    assert gg.params_.to_numpy() == pytest.approx([6.25, 3.74, 15.44], rel=0.005)


def test_cdnow_holdout_table_over_39_weeks(cdnow_summary):
    bg = BetaGeo().fit(cdnow_summary)
    table = bg.holdout_table(cdnow_summary)
    assert (cdnow_summary.duration_holdout == 39).all()
    assert {"actual_mean", "predicted_mean", "actual_total", "predicted_total"} <= set(table.columns)
    assert table.customers.sum() == 2357
    # the paper's conditional expectations (Fig. 4) run below the actuals for 1-2 repeat buyers;
    # the total stays within 15% of the actual holdout purchases
    assert table.predicted_total.sum() == pytest.approx(table.actual_total.sum(), rel=0.15)
    assert np.corrcoef(table.predicted_mean, table.actual_mean)[0, 1] > 0.95


def test_clv_on_cdnow_is_discounted_value_with_an_interval(cdnow_summary):
    bg, gg = BetaGeo().fit(cdnow_summary), GammaGamma().fit(cdnow_summary)
    clv = customer_lifetime_value(bg, gg, cdnow_summary, horizon_months=12)
    assert list(clv.columns) == ["customer_id", "p_alive", "expected_purchases", "expected_order_value",
                                 "clv", "clv_low", "clv_high"]
    assert len(clv) == 2357
    undiscounted = clv.expected_purchases * clv.expected_order_value
    assert ((clv.clv < undiscounted) & (clv.clv > undiscounted / 1.01 ** 12)).all()
    assert ((clv.clv_low <= clv.clv) & (clv.clv <= clv.clv_high)).mean() > 0.95
    boot = customer_lifetime_value(bg, gg, cdnow_summary, horizon_months=12, interval="bootstrap", n_draws=400)
    # the two intervals describe the same parameter uncertainty: their widths agree to within a fifth
    ratio = (clv.clv_high - clv.clv_low) / (boot.clv_high - boot.clv_low)
    assert 0.8 < ratio.median() < 1.25
    no_discount = customer_lifetime_value(bg, gg, cdnow_summary, monthly_discount_rate=0.0, n_draws=0)
    assert no_discount.clv.to_numpy() == pytest.approx(undiscounted.to_numpy(), rel=1e-9)
    longer = customer_lifetime_value(bg, gg, cdnow_summary, horizon_months=24, n_draws=0)
    assert (longer.clv >= clv.clv).all()


def test_clv_rejects_unfitted_models_and_bad_horizon(cdnow_summary):
    bg = BetaGeo().fit(cdnow_summary)
    with pytest.raises(ModelDataError, match="gg is not fitted"):
        customer_lifetime_value(bg, GammaGamma(), cdnow_summary)
    with pytest.raises(ModelDataError, match="horizon_months"):
        customer_lifetime_value(bg, GammaGamma().fit(cdnow_summary), cdnow_summary, horizon_months=0)
