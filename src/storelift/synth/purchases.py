"""When customers buy: BG/NBD purchase times plus a randomized e-mail campaign's extra orders.

A customer's first order is at acquisition. Repeat purchases follow a Poisson process with rate
lambda in operational time (seasonality and promotions); after each repeat purchase the customer
drops out for good with probability p. So the repeat count is min(M, J) with M ~ Poisson(lambda *
span) and J ~ Geometric(p), and E[repeats] = (1 - exp(-p * lambda * span)) / p (Fader et al. 2005).
The campaign (50/50 among customers with e-mail consent on the send day) gives each treated
customer still alive at the send one extra order in the window with probability tau.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import StoreCalendar
from .truth import CustomerDraws, TruthParams

FIRST, REPEAT, CAMPAIGN = 0, 1, 2


@dataclass
class Campaign:
    """The randomized e-mail campaign for one block: when it is sent and who is in which arm."""

    send_day: float
    window_days: float
    eligible: np.ndarray
    treated: np.ndarray


def campaign_send_day(cal: StoreCalendar, params: TruthParams) -> float:
    """The send time: 09:00 UTC on the day at `campaign_send_fraction` of the window."""
    return float(np.floor(cal.n_days * params.campaign_send_fraction)) + 9 / 24


def plan_campaign(rng: np.random.Generator, cal: StoreCalendar, params: TruthParams,
                  created_day: np.ndarray, email_ok_at_send: np.ndarray) -> Campaign:
    """Randomize customers acquired at least a day before the send and with e-mail consent then."""
    send = campaign_send_day(cal, params)
    eligible = (created_day < send - 1) & email_ok_at_send
    treated = eligible & (rng.random(len(created_day)) < params.campaign_treatment_share)
    return Campaign(send, params.campaign_window_days, eligible, treated)


@dataclass
class Purchases:
    """One block's orders (customer position, time, kind) and each customer's realized truth."""

    customer: np.ndarray
    day: np.ndarray
    kind: np.ndarray  # FIRST, REPEAT or CAMPAIGN
    n_repeat: np.ndarray
    is_alive_at_end: np.ndarray
    dropout_day: np.ndarray  # NaN while alive
    alive_at_send: np.ndarray
    campaign_order: np.ndarray  # the campaign caused an extra order
    expected_orders: np.ndarray  # E[orders | lambda, p, acquisition, arm]
    conversion_uplift: np.ndarray  # true effect of the e-mail on P(order in window), given the state at send


def _repeat_positions(rng: np.random.Generator, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """For each customer, the first n of m sorted Uniform(0, 1) draws, without drawing all m.

    The k-th of m sorted uniforms is E_1 + .. + E_k over E_1 + .. + E_{m+1} (exponential spacings).
    """
    total = int(n.sum())
    e = rng.standard_exponential(total)
    cs = np.cumsum(e)
    ends = np.cumsum(n)
    starts = ends - n
    base = np.where(starts > 0, cs[np.maximum(starts - 1, 0)], 0.0)
    within = cs - np.repeat(base, n)
    last = np.where(n > 0, within[np.maximum(ends - 1, 0)], 0.0)
    rest = rng.gamma(np.maximum(m - n + 1, 1).astype(float))
    return within / np.repeat(last + rest, n)


def simulate_purchases(rng: np.random.Generator, cal: StoreCalendar, draws: CustomerDraws,
                       campaign: Campaign, params: TruthParams) -> Purchases:
    """Draw every order time of one block of customers."""
    n_cust = len(draws.lam)
    span = cal.total - draws.created_op
    m = rng.poisson(draws.lam * span)
    j = rng.geometric(draws.p)
    n = np.minimum(m, j)
    is_alive_at_end = m < j
    cust = np.repeat(np.arange(n_cust), n)
    op = draws.created_op[cust] + _repeat_positions(rng, n, m) * span[cust]
    repeat_day = cal.with_clock(cal.from_operational(op))

    ends = np.cumsum(n)
    dropout_day = np.full(n_cust, np.nan)
    dead = ~is_alive_at_end
    dropout_day[dead] = repeat_day[ends[dead] - 1]

    send, window = campaign.send_day, campaign.window_days
    alive_at_send = (draws.created_day < send) & ~(dead & (dropout_day <= send))
    tail = window - 1 / 24
    mean = params.campaign_response_mean_days
    u = rng.random(n_cust)
    offset = 1 / 24 - mean * np.log1p(-u * (1 - np.exp(-tail / mean)))  # 1 h + truncated exponential
    hit = rng.random(n_cust) < draws.tau
    campaign_order = campaign.treated & alive_at_send & hit & (send + offset < cal.n_days)

    send_op = cal.to_operational(np.array([send, send + window]))
    since_acq = np.maximum(send_op[0] - draws.created_op, 0.0)
    p_alive_at_send = np.exp(-draws.lam * draws.p * since_acq)
    expected = (1 + (1 - np.exp(-draws.p * draws.lam * span)) / draws.p
                + campaign.treated * draws.tau * p_alive_at_send)
    no_baseline_order = np.exp(-draws.lam * (send_op[1] - send_op[0]))
    uplift = np.where(campaign.eligible & alive_at_send, draws.tau * no_baseline_order, 0.0)

    camp_cust = np.flatnonzero(campaign_order)
    customer = np.concatenate([np.arange(n_cust), cust, camp_cust])
    day = np.concatenate([draws.created_day, repeat_day, send + offset[camp_cust]])
    kind = np.concatenate([np.full(n_cust, FIRST), np.full(len(cust), REPEAT), np.full(len(camp_cust), CAMPAIGN)])
    order = np.lexsort((day, customer))
    return Purchases(customer[order], day[order], kind[order].astype(np.int8), n, is_alive_at_end, dropout_day,
                     alive_at_send, campaign_order, expected, uplift)
