"""BetaGeo: analytic gradient, parameter recovery on simulated BG/NBD data, covariates, errors a user can act on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from storelift.customers.bgnbd import BetaGeo, BgNbdLikelihood, row_terms
from storelift.customers.clv_fit import ModelDataError

TRUTH = {"r": 0.5, "alpha": 6.0, "a": 1.2, "b": 3.5}


def simulate_bgnbd(n, r, alpha, a, b, seed, lam_scale=None):
    """Continuous-time BG/NBD: Poisson purchases at rate lambda, dropout with prob p after each repeat purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n) * (1.0 if lam_scale is None else lam_scale)
    p = rng.beta(a, b, n)
    T = rng.uniform(20.0, 60.0, n)
    m = rng.poisson(lam * T)
    j = rng.geometric(p)  # repeat purchases until (and including) the one after which the customer leaves
    x = np.minimum(m, j)
    # the x-th of m sorted uniform times on [0, T] is T * Beta(x, m - x + 1)
    tx = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(m - x + 1, 1)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T})


def test_fast_likelihood_matches_per_row_terms_and_finite_differences():
    rfm = simulate_bgnbd(500, **TRUTH, seed=1)
    lik = BgNbdLikelihood(rfm.frequency, rfm.recency, rfm["T"], np.ones(len(rfm)))
    theta = np.log([0.7, 4.0, 0.9, 2.0])
    value, grad = lik(theta)
    ll, parts = row_terms(*np.exp(theta), rfm.frequency.to_numpy(float), rfm.recency.to_numpy(), rfm["T"].to_numpy())
    assert value == pytest.approx(-ll.mean(), rel=1e-12)
    assert grad == pytest.approx(-np.array([p.mean() for p in parts]) * np.exp(theta), rel=1e-9)
    for k in range(4):
        h = np.zeros(4)
        h[k] = 1e-6
        assert grad[k] == pytest.approx((lik(theta + h)[0] - lik(theta - h)[0]) / 2e-6, rel=1e-5, abs=1e-9)


def test_recovers_simulated_parameters_within_three_standard_errors():
    rfm = simulate_bgnbd(20_000, **TRUTH, seed=2)
    model = BetaGeo().fit(rfm)
    assert model.diagnostics_["converged"]
    z = (model.params_ - pd.Series(TRUTH)) / model.standard_errors_[list(TRUTH)]
    assert (z.abs() < 3).all(), z
    ci = model.confidence_intervals(0.95)
    assert (ci.lower < ci.coef).all() and (ci.coef < ci.upper).all()


def test_predictions_are_probabilities_and_expectations():
    rfm = simulate_bgnbd(3_000, **TRUTH, seed=3)
    model = BetaGeo().fit(rfm)
    probs = [model.probability_of_purchases(n, 30.0) for n in range(200)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-6)
    assert sum(n * p for n, p in enumerate(probs)) == pytest.approx(model.expected_purchases(30.0), rel=1e-6)
    alive = model.probability_alive(rfm)
    assert ((alive > 0) & (alive <= 1)).all() and (alive[rfm.frequency == 0] == 1).all()
    ahead = model.conditional_expected_purchases(rfm, 10.0)
    assert (model.conditional_expected_purchases(rfm, 20.0) >= ahead).all() and (ahead >= 0).all()


def test_holdout_predictions_match_simulated_future():
    """Simulate 40 + 30 time units, calibrate on the first 40: predicted holdout purchases track the actual ones."""
    rng = np.random.default_rng(4)
    n, cal, hold = 20_000, 40.0, 30.0
    lam = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n)
    p = rng.beta(TRUTH["a"], TRUTH["b"], n)
    start = rng.uniform(0, 20.0, n)
    j = rng.geometric(p)
    counts_cal, counts_hold, last = np.zeros(n, int), np.zeros(n, int), np.zeros(n)
    now, repeats = start.copy(), np.zeros(n, int)
    active = np.ones(n, bool)
    while active.any():
        now[active] += rng.exponential(1 / lam[active])
        active &= now < cal + hold
        in_cal = active & (now <= cal)
        counts_cal += in_cal
        last[in_cal] = now[in_cal] - start[in_cal]
        counts_hold += active & (now > cal)
        repeats += active
        active &= repeats < j
    summary = pd.DataFrame({"frequency": counts_cal, "recency": last, "T": cal - start,
                            "frequency_holdout": counts_hold, "duration_holdout": hold})
    table = BetaGeo().fit(summary).holdout_table(summary)
    assert list(table.calibration_repeats) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table.customers.sum() == n
    # 20k customers: the total's Poisson-like noise is ~1-2%; 5% allows for parameter error
    assert table.predicted_total.sum() == pytest.approx(table.actual_total.sum(), rel=0.05)


def test_covariate_effect_on_purchase_rate_is_recovered():
    rng = np.random.default_rng(6)
    frames = []
    for z, scale in ((0, 1.0), (1, np.exp(0.8))):  # alpha_i = alpha exp(-0.8 z): group 1 buys 2.2x as often
        part = simulate_bgnbd(6_000, **TRUTH, seed=int(rng.integers(1 << 30)), lam_scale=scale)
        frames.append(part.assign(is_member=float(z)))
    rfm = pd.concat(frames, ignore_index=True)
    model = BetaGeo(covariates=["is_member"]).fit(rfm)
    coef, se = model.coefficients_, model.standard_errors_
    assert model.diagnostics_["converged"]
    assert abs(coef["purchase:is_member"] - 0.8) < 3 * se["purchase:is_member"]
    assert coef["purchase:is_member"] > 3 * se["purchase:is_member"]  # a real effect, clearly non-zero
    for name in ("dropout_a:is_member", "dropout_b:is_member"):
        assert abs(coef[name]) < 3 * se[name], name
    rates = model.conditional_expected_purchases(rfm.iloc[[0, -1]].assign(frequency=0, recency=0.0, T=30.0), 10.0)
    assert rates.iloc[1] > rates.iloc[0]


@pytest.mark.parametrize("change, pattern", [
    (lambda f: f.assign(frequency=0, recency=0.0), "no customer has frequency > 0"),
    (lambda f: f.head(5), "at least 20"),
    (lambda f: f.assign(recency=f["T"] + 1), "'recency' is larger than T at row 0"),
    (lambda f: f.assign(T=f["T"].where(f.index != 3, -1.0)), "'T' is negative at row 3"),
    (lambda f: f.assign(recency=f.recency.where(f.index != 7, np.nan)), "'recency' has a missing .* row 7"),
    (lambda f: f.drop(columns="T"), r"lacks column\(s\) \['T'\]"),
])
def test_unusable_data_raises_naming_the_column_and_fix(change, pattern):
    rfm = simulate_bgnbd(200, **TRUTH, seed=7).sort_values("frequency", ascending=False, ignore_index=True)
    with pytest.raises(ModelDataError, match=pattern):
        BetaGeo().fit(change(rfm))
    with pytest.raises(ValueError):  # the family is ValueError-compatible
        BetaGeo(penalty=-1).fit(rfm)


def test_penalty_shrinks_parameters():
    rfm = simulate_bgnbd(3_000, **TRUTH, seed=8)
    plain, shrunk = BetaGeo().fit(rfm), BetaGeo(penalty=0.1).fit(rfm)
    assert shrunk.diagnostics_["converged"]
    assert (shrunk.params_[["r", "a", "b"]] ** 2).sum() < (plain.params_[["r", "a", "b"]] ** 2).sum()


def test_recovers_the_synthetic_stores_generating_parameters(tmp_path):
    """The generator draws BG/NBD purchases in its own clock (operational time: seasonal and promotional
    intensity) with every order a transaction. Summarized in that clock, the fit must land within three
    standard errors (from its own Hessian, so the tolerance shrinks with the sample) of the generator's
    r, alpha (per day -> per week), a and b. Campaign orders, which BG/NBD does not model, are few.
    (Summaries in calendar days, the papers' convention, are biased here by seasonality and by
    collapsing same-day orders of heavy buyers; tests/customers/test_gamma_gamma.py checks those
    only on population means.)"""
    from datetime import date

    from storelift.synth import generate_store
    from storelift.synth.calendar import StoreCalendar
    from storelift.synth.truth import TruthParams

    generate_store(tmp_path, customers=6000, seed=5, events=False, start="2023-01-01", end="2024-12-31")
    orders = pd.read_parquet(tmp_path / "orders.parquet", columns=["customer_id", "ordered_at"])
    calendar = StoreCalendar(date(2023, 1, 1), date(2024, 12, 31))
    days = (orders.ordered_at - pd.Timestamp("2023-01-01")).dt.total_seconds().to_numpy() / 86_400
    weeks = pd.Series(calendar.to_operational(days) / 7, index=orders.index)
    by_customer = weeks.groupby(orders.customer_id)
    end = calendar.to_operational(np.array([float(calendar.n_days)]))[0] / 7
    summary = pd.DataFrame({"frequency": by_customer.size() - 1, "recency": by_customer.max() - by_customer.min(),
                            "T": end - by_customer.min()})
    assert len(summary) == 6000

    fit = BetaGeo().fit(summary)
    truth = TruthParams()
    expected = pd.Series({"r": truth.r, "alpha": truth.alpha / 7, "a": truth.a, "b": truth.b})
    z = (fit.params_ - expected) / fit.standard_errors_[expected.index]
    assert (z.abs() < 3).all(), z.to_dict()
