"""The ground truth is recoverable from the data, loosely: the process behind the tables is the one
written in ground_truth/. Tolerances are 4 standard errors where the truth gives an exact
expectation (a false alarm about 1 in 16,000 for a fresh seed), and stated bounds elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from storelift.synth import TruthParams, generate_store

N = 20_000


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    generate_store(root, customers=N, seed=21, events=False)
    read = lambda name: pd.read_parquet(root / name)  # noqa: E731
    return {"orders": read("orders.parquet"), "lines": read("order_lines.parquet"),
            "products": read("products.parquet"), "touches": read("touches.parquet"),
            "consents": read("consents.parquet"), "truth": read("ground_truth/customers.parquet"),
            "params": json.loads((root / "ground_truth" / "truth.json").read_text())}


def test_mean_orders_per_customer_matches_the_process_expectation(store):
    """expected_orders is E[orders | lambda, p, acquisition, arm] (BG/NBD closed form), so the
    residuals are independent with mean zero."""
    truth = store["truth"]
    resid = truth.orders - truth.expected_orders
    assert abs(resid.mean()) < 4 * resid.std() / np.sqrt(N)
    assert 9.0 < truth.orders.mean() < 11.5  # the defaults are tuned for about 10 orders per customer
    counts = store["orders"].groupby("customer_id").size()
    assert (counts.loc[truth.customer_id].values == truth.orders.values).all()
    assert (truth.orders == 1 + truth.repeat_purchases + truth.has_campaign_order).all()


def test_latent_parameters_follow_their_distributions(store):
    truth, p = store["truth"], TruthParams()
    lam, drop, nu = truth.purchase_rate_per_day, truth.dropout_probability, truth.spend_nu
    assert abs(lam.mean() - p.r / p.alpha) < 4 * np.sqrt(p.r) / p.alpha / np.sqrt(N)
    beta_sd = np.sqrt(p.a * p.b / ((p.a + p.b) ** 2 * (p.a + p.b + 1)))
    assert abs(drop.mean() - p.a / (p.a + p.b)) < 4 * beta_sd / np.sqrt(N)
    assert abs(nu.mean() - p.gg_q / p.gg_gamma) < 4 * np.sqrt(p.gg_q) / p.gg_gamma / np.sqrt(N)
    assert store["params"]["bg_nbd"] == {**store["params"]["bg_nbd"], "r": p.r, "alpha": p.alpha,
                                         "a": p.a, "b": p.b}


def test_customers_who_dropped_out_buy_nothing_afterwards(store):
    orders, truth = store["orders"], store["truth"]
    last = orders.groupby("customer_id").ordered_at.max()
    dropped = truth[truth.dropout_at.notna() & ~truth.has_campaign_order].set_index("customer_id")
    assert (last.loc[dropped.index] == dropped.dropout_at).all()
    assert 0.25 < truth.is_alive_at_end.mean() < 0.6


def test_order_value_follows_the_customer_spend_level(store):
    """Baskets approximate the Gamma-Gamma target at list price: the mean within 10% (lines are
    whole units of real prices), and customers' mean order values track their spend level."""
    lines, orders, truth = store["lines"], store["orders"], store["truth"]
    lines = lines.assign(gross=lines.quantity * lines.unit_price)
    value = orders.join(lines.groupby("order_id").gross.sum(), on="order_id")
    assert value.gross.mean() == pytest.approx(TruthParams().mean_orders_value, rel=0.10)
    per_customer = value.groupby("customer_id").gross.mean()
    spend = truth.set_index("customer_id").spend_level.loc[per_customer.index]
    assert np.corrcoef(per_customer, spend)[0, 1] > 0.6


def test_price_elasticity_is_recoverable_from_promotions(store):
    lines = store["lines"].merge(store["products"][["product_id", "category"]], on="product_id")
    lines["depth"] = (lines.discount_amount / (lines.quantity * lines.unit_price)).round(2)
    truth = {c["path"]: c["price_elasticity"] for c in store["params"]["categories"]}
    estimates, actual = [], []
    for category, group in lines.groupby("category"):
        base = group[group.depth == 0].quantity.mean()
        promo = group[group.depth >= 0.2]
        if len(promo) < 300:
            continue
        per_depth = promo.groupby("depth").quantity.mean()
        est = np.mean([np.log(q / base) / -np.log(1 - d) for d, q in per_depth.items()])
        estimates.append(est)
        actual.append(truth[category])
    assert len(estimates) >= 15
    estimates, actual = np.array(estimates), np.array(actual)
    assert np.corrcoef(estimates, actual)[0, 1] > 0.7
    assert np.median(np.abs(estimates - actual)) < 0.3


def test_campaign_lift_matches_the_true_average_effect(store):
    """Randomized 50/50: the difference in P(order in window) between arms estimates the mean of
    true_conversion_uplift over eligible customers."""
    truth, orders, params = store["truth"], store["orders"], store["params"]
    sent = pd.Timestamp(params["campaign"]["sent_at"].rstrip("Z"))
    window_end = sent + pd.Timedelta(days=params["campaign"]["window_days"])
    in_window = orders[(orders.ordered_at >= sent) & (orders.ordered_at < window_end)].customer_id.unique()
    eligible = truth[truth.is_campaign_eligible].assign(converted=lambda t: t.customer_id.isin(in_window))
    rates = eligible.groupby("treatment_arm").converted.agg(["mean", "count"])
    lift = rates.loc["treatment", "mean"] - rates.loc["control", "mean"]
    se = np.sqrt((rates["mean"] * (1 - rates["mean"]) / rates["count"]).sum())
    true_ate = eligible.true_conversion_uplift.mean()
    assert abs(lift - true_ate) < 4 * se
    assert true_ate == pytest.approx(params["realized"]["average_treatment_effect_on_conversion"])
    assert abs(rates.loc["treatment", "count"] / len(eligible) - 0.5) < 4 * 0.5 / np.sqrt(len(eligible))


def test_campaign_reaches_only_the_treatment_arm_with_email_consent(store):
    truth, touches, consents = store["truth"], store["touches"], store["consents"]
    sends = touches[touches.kind == "send"]
    treated = truth[truth.treatment_arm == "treatment"].customer_id
    assert set(sends.customer_id) == set(treated)
    sent = sends.touched_at.min()
    email = consents[(consents.purpose == "email") & (consents.recorded_at <= sent)]
    in_force = email.sort_values("recorded_at").groupby("customer_id").granted.last()
    assert in_force.reindex(truth[truth.is_campaign_eligible].customer_id).fillna(False).all()
    assert truth.loc[truth.treatment_arm.isna(), "is_campaign_eligible"].eq(False).all()


def test_black_friday_week_lifts_daily_orders(store):
    orders, params = store["orders"], store["params"]
    week = next(p for p in params["seasonality"]["promotions"] if p["name"] == "Black Friday"
                and p["start"].startswith("2024"))
    start, end = pd.Timestamp(week["start"]), pd.Timestamp(week["end"]) + pd.Timedelta(days=1)
    during = orders.ordered_at.between(start, end, inclusive="left").sum() / 7
    before = orders.ordered_at.between(start - pd.Timedelta(days=28), start, inclusive="left").sum() / 28
    assert during / before > 1.4  # promotion lift 1.8 on a near-flat stretch of the yearly cycle
