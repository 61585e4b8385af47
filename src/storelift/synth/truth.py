"""The generating process's global parameters and each customer's latent draws.

Per customer (Fader, Hardie & Lee 2005 BG/NBD; Fader, Hardie & Lee 2005 Gamma-Gamma spend):
  acquisition time ~ uniform in operational time over the window (so sales bring new customers);
  purchase rate lambda ~ Gamma(shape r, rate alpha) per day; dropout p ~ Beta(a, b) after each
  repeat purchase; nu ~ Gamma(shape q, rate gamma) and order value z ~ Gamma(shape p_gg, rate nu),
  so the customer's mean order value (spend level) is p_gg / nu;
  segment ~ Categorical(segment shares), favourite category from the segment's tastes;
  campaign uplift tau = segment uplift * Gamma(k, 1/k) noise, the probability that the e-mail
  causes one extra order in its window if the customer is still alive when it is sent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .calendar import StoreCalendar
from .categories import CATEGORIES, DEPARTMENTS, SEGMENTS

CONSENT_GRANT_RATES = {"analytics": 0.88, "personalization": 0.74, "email": 0.62, "sms": 0.24,
                       "pricing_profiling": 0.41}


@dataclass(frozen=True)
class TruthParams:
    """Global parameters; defaults give about 10 orders per customer over a 2-year window."""

    r: float = 1.0  # lambda ~ Gamma(shape r, rate alpha), purchases per day
    alpha: float = 12.0
    a: float = 2.0  # p ~ Beta(a, b), dropout probability after each repeat purchase
    b: float = 20.0
    gg_p: float = 6.0  # order value ~ Gamma(shape p, rate nu)
    gg_q: float = 4.0  # nu ~ Gamma(shape q, rate gamma)
    gg_gamma: float = 25.0
    currency: str = "GBP"
    favourite_share: float = 0.4  # share of lines from the customer's favourite category
    zipf_exponent: float = 1.1  # product popularity within a category ~ 1 / rank ** s
    extra_lines_base: float = 0.25  # lines per order = 1 + Poisson(base + per_spend * z / mean z)
    extra_lines_per_spend: float = 0.25
    free_shipping_over: float = 50.0
    welcome_coupon_share: float = 0.3
    welcome_coupon_amount: float = 5.0
    consent_grant_rates: dict[str, float] = field(default_factory=lambda: dict(CONSENT_GRANT_RATES))
    consent_withdraw_share: float = 0.08  # of grants, withdrawn later in the window
    campaign_name: str = "winback_email_test"
    campaign_send_fraction: float = 0.7  # send day as a fraction of the window
    campaign_window_days: float = 14.0
    campaign_treatment_share: float = 0.5
    campaign_response_mean_days: float = 2.5  # induced orders arrive 1 h + Exp(mean), truncated
    campaign_tau_shape: float = 8.0  # customer noise on the segment uplift, Gamma(k, 1/k)
    order_touch_share: float = 0.35  # repeat orders preceded by a marketing click
    abandoned_sessions_per_order: float = 0.4
    search_session_share: float = 0.3

    @property
    def mean_orders_value(self) -> float:
        """E[order value] across customers: p * gamma / (q - 1)."""
        return self.gg_p * self.gg_gamma / (self.gg_q - 1)

    def as_dict(self) -> dict:
        return asdict(self)


def segment_category_probs() -> np.ndarray:
    """(segments, categories) matrix: P(category | segment), department weight split over its categories."""
    n_in_dept = {d: sum(c.department == d for c in CATEGORIES) for d in DEPARTMENTS}
    m = np.array([[s.department_weights.get(c.department, 0.0) / n_in_dept[c.department] for c in CATEGORIES]
                  for s in SEGMENTS])
    return m / m.sum(axis=1, keepdims=True)


def categorical(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per element of `rows` from the row-wise distributions probs[rows]."""
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    keys = rows + rng.random(len(rows))
    flat = (np.arange(len(probs))[:, None] + cdf).ravel()
    return np.searchsorted(flat, keys, side="right") - rows * probs.shape[1]


@dataclass
class CustomerDraws:
    """One block's latent customer draws (arrays aligned by position in the block)."""

    created_day: np.ndarray  # days since window start (float), with the hourly clock applied
    created_op: np.ndarray  # operational time of acquisition (before the clock), where purchases start
    lam: np.ndarray
    p: np.ndarray
    nu: np.ndarray
    spend_level: np.ndarray
    segment: np.ndarray  # index into SEGMENTS
    favourite: np.ndarray  # index into CATEGORIES
    tau: np.ndarray


def draw_customers(rng: np.random.Generator, n: int, cal: StoreCalendar, params: TruthParams) -> CustomerDraws:
    """Draw the latent parameters of `n` customers."""
    created_op = rng.random(n) * cal.total
    created = cal.with_clock(cal.from_operational(created_op))
    lam = rng.gamma(params.r, 1 / params.alpha, n)
    p = rng.beta(params.a, params.b, n)
    nu = rng.gamma(params.gg_q, 1 / params.gg_gamma, n)
    shares = np.array([s.share for s in SEGMENTS])
    segment = categorical(rng, (shares / shares.sum())[None, :], np.zeros(n, dtype=np.int64))
    favourite = categorical(rng, segment_category_probs(), segment)
    seg_uplift = np.array([s.campaign_uplift for s in SEGMENTS])
    k = params.campaign_tau_shape
    tau = np.clip(seg_uplift[segment] * rng.gamma(k, 1 / k, n), 0.0, 0.9)
    return CustomerDraws(created, created_op, lam, p, nu, params.gg_p / nu, segment, favourite, tau)


def truth_summary(params: TruthParams, cal: StoreCalendar) -> dict:
    """The global parameters for truth.json (realized aggregates are added by the caller)."""
    return {
        "time_unit": "day",
        "bg_nbd": {"r": params.r, "alpha": params.alpha, "a": params.a, "b": params.b,
                   "note": "lambda ~ Gamma(shape r, rate alpha) per day of operational time; "
                           "p ~ Beta(a, b); first order at acquisition, then repeat purchases"},
        "gamma_gamma": {"p": params.gg_p, "q": params.gg_q, "gamma": params.gg_gamma,
                        "mean_order_value": params.mean_orders_value,
                        "note": "target order value at list price; realized baskets approximate it"},
        "segments": [{"name": s.name, "share": s.share, "department_weights": s.department_weights,
                      "campaign_uplift": s.campaign_uplift} for s in SEGMENTS],
        "categories": [{"path": c.path, "median_price": c.median_price, "price_sigma": c.price_sigma,
                        "cost_ratio": c.cost_ratio, "base_quantity": c.base_quantity,
                        "price_elasticity": c.elasticity, "return_rate": c.return_rate} for c in CATEGORIES],
        "price_elasticity_note": "E[quantity | discount d] = base * (1 - d) ** -elasticity per category",
        "seasonality": cal.as_dict(),
        "parameters": params.as_dict(),
    }
