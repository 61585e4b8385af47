"""Marketing ground truth, self-contained: a daily media-mix series and customer touch paths.

simulate_marketing_mix draws two years of daily spend per channel (flighted campaigns) and revenue
= baseline (trend, weekly and yearly seasonality) + sum over channels of beta * Hill(geometric
adstock(spend)) + noise, with each channel's beta set so its true ROAS over the series is the
planted one. simulate_touch_paths draws customers' touch paths where each channel reached adds a
known increment to the probability of converting (exposure independent of the customer's own
propensity), and records which channel caused each conversion, so attribution can be scored.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ..errors import StoreliftError


class MarketingTruthError(StoreliftError):
    """The marketing simulation's settings are unusable."""

    exit_code = 2


# -- marketing mix ------------------------------------------------------------------------------
@dataclass(frozen=True)
class MixChannel:
    """A channel of the media-mix series: mean daily spend, carry-over, saturation and true ROAS."""

    name: str
    mean_daily_spend: float
    adstock_decay: float
    half_saturation_ratio: float  # half-saturation point / mean adstocked spend
    roas: float  # revenue added per unit of spend over the series
    hill_shape: float = 1.0
    active_share: float = 0.8  # share of weeks with a flight on


MIX_CHANNELS: tuple[MixChannel, ...] = (
    MixChannel("paid_search", 3_000.0, 0.15, 1.2, 2.6, active_share=0.95),
    MixChannel("paid_social", 2_000.0, 0.45, 0.8, 1.6),
    MixChannel("display", 1_200.0, 0.55, 0.7, 0.7, active_share=0.6),
    MixChannel("video", 2_500.0, 0.7, 1.0, 1.2, active_share=0.5),
    MixChannel("affiliate", 700.0, 0.1, 1.5, 3.2, active_share=0.9),
)


@dataclass
class MarketingMixSimulation:
    """daily: date, revenue, one spend column per channel; contributions: date, baseline, noise and
    one column per channel; truth: per channel (MIX_TRUTH_COLUMNS)."""

    daily: pd.DataFrame
    contributions: pd.DataFrame
    truth: pd.DataFrame


MIX_TRUTH_COLUMNS = ["channel", "spend", "contribution", "roas", "marginal_roas", "adstock_decay",
                     "half_saturation", "hill_shape", "coefficient"]


def _adstock(x: np.ndarray, decay: float) -> np.ndarray:
    return lfilter([1.0], [1.0, -decay], x)


def _hill(stock: np.ndarray, k: float, shape: float) -> np.ndarray:
    r = (np.maximum(stock, 0) / k) ** shape
    return r / (1 + r)


def _flighted_spend(rng: np.random.Generator, days: int, ch: MixChannel, season: np.ndarray) -> np.ndarray:
    """Weekly flights on or off, a log-normal level per flight and daily jitter, mild seasonality."""
    weeks = -(-days // 7)
    on = rng.random(weeks) < ch.active_share
    level = rng.lognormal(0.0, 0.45, weeks) * on
    daily = np.repeat(level, 7)[:days] * rng.lognormal(0.0, 0.2, days) * (1 + 0.3 * season)
    return daily * ch.mean_daily_spend / max(daily.mean(), 1e-9)


def simulate_marketing_mix(days: int = 730, seed: int = 0, start: str = "2023-01-01",
                           channels: tuple[MixChannel, ...] = MIX_CHANNELS, baseline: float = 40_000.0,
                           trend_per_year: float = 0.08, weekly_amplitude: float = 0.06,
                           yearly_amplitude: float = 0.12, noise_sd: float = 0.03) -> MarketingMixSimulation:
    """A seeded daily series with known media effects. Amplitudes and noise_sd are fractions of the
    baseline; each channel's coefficient is set so its contribution / spend equals its roas."""
    if days < 60:
        raise MarketingTruthError(f"days={days}: pass at least 60 days (two years, 730, is the usual test)")
    if not channels:
        raise MarketingTruthError("channels is empty: pass at least one MixChannel")
    for ch in channels:
        if not 0 <= ch.adstock_decay < 1 or ch.half_saturation_ratio <= 0 or ch.roas < 0:
            raise MarketingTruthError(f"channel {ch.name!r}: adstock_decay must be in [0, 1), "
                                      "half_saturation_ratio > 0 and roas >= 0")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 31]))
    t = np.arange(days, dtype=float)
    dates = pd.date_range(start, periods=days, freq="D")
    yearly = np.sin(2 * np.pi * (t + dates[0].day_of_year - 80) / 365.25)
    weekly = np.cos(2 * np.pi * (dates.day_of_week.to_numpy() - 5) / 7)
    base = baseline * (1 + trend_per_year * t / 365.25 + yearly_amplitude * yearly + weekly_amplitude * weekly)
    noise = rng.normal(0.0, noise_sd * baseline, days)
    daily = pd.DataFrame({"date": dates})
    contributions = pd.DataFrame({"date": dates, "baseline": base, "noise": noise})
    rows = []
    revenue = base + noise
    for ch in channels:
        spend = _flighted_spend(rng, days, ch, yearly)
        stock = _adstock(spend, ch.adstock_decay)
        k = ch.half_saturation_ratio * stock.mean()
        response = _hill(stock, k, ch.hill_shape)
        coef = ch.roas * spend.sum() / response.sum()
        contribution = coef * response
        bumped = coef * _hill(_adstock(spend * 1.01, ch.adstock_decay), k, ch.hill_shape)
        lowered = coef * _hill(_adstock(spend * 0.99, ch.adstock_decay), k, ch.hill_shape)
        marginal = (bumped.sum() - lowered.sum()) / (0.02 * spend.sum())
        daily[ch.name] = spend
        contributions[ch.name] = contribution
        revenue = revenue + contribution
        rows.append({"channel": ch.name, "spend": spend.sum(), "contribution": contribution.sum(),
                     "roas": ch.roas, "marginal_roas": marginal, "adstock_decay": ch.adstock_decay,
                     "half_saturation": k, "hill_shape": ch.hill_shape, "coefficient": coef})
    daily.insert(1, "revenue", revenue)
    return MarketingMixSimulation(daily, contributions, pd.DataFrame(rows, columns=MIX_TRUTH_COLUMNS))


# -- touch paths ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PathChannel:
    """A channel of the path simulation: how often it reaches a customer, how many touches, how
    long before the end of the journey, and the increment it adds to P(conversion)."""

    name: str
    reach: float  # P(the channel reaches a customer)
    conversion_lift: float  # added to P(conversion) when it does
    extra_touches: float  # Poisson mean of touches beyond the first
    mean_days_before: float  # touches come Exponential(mean) days before the journey's end
    kind: str = "click"
    cost_per_touch: float = 0.5


PATH_CHANNELS: tuple[PathChannel, ...] = (
    PathChannel("display", 0.30, 0.002, 3.0, 12.0, "impression", 0.004),
    PathChannel("video", 0.18, 0.012, 1.0, 10.0, "impression", 0.02),
    PathChannel("paid_social", 0.22, 0.010, 1.5, 6.0, "click", 0.35),
    PathChannel("email", 0.25, 0.016, 1.0, 3.0, "click", 0.0),
    PathChannel("paid_search", 0.14, 0.030, 0.3, 0.7, "click", 0.55),
    PathChannel("affiliate", 0.06, 0.035, 0.1, 0.4, "click", 0.9),
)
PATH_TRUTH_COLUMNS = ["channel", "conversion_lift", "reached", "expected_conversions", "caused_conversions",
                      "caused_revenue", "share"]


@dataclass
class TouchPathSimulation:
    """touches (canonical columns), conversions (conversion_id, customer_id, converted_at,
    revenue, caused_by), customers (customer_id) and truth (PATH_TRUTH_COLUMNS; share is of the
    conversions channels caused)."""

    touches: pd.DataFrame
    conversions: pd.DataFrame
    customers: pd.DataFrame
    truth: pd.DataFrame
    baseline_conversion: float


def simulate_touch_paths(customers: int = 100_000, seed: int = 0, channels: tuple[PathChannel, ...] = PATH_CHANNELS,
                         baseline_conversion: float = 0.02, start: str = "2024-01-01", days: int = 120,
                         max_days_before: float = 28.0, mean_order_value: float = 80.0) -> TouchPathSimulation:
    """Each customer has one journey ending at a uniform time in the window; each channel reaches
    them independently (probability reach) with 1 + Poisson(extra_touches) touches before the end;
    they convert at the end with P = baseline + sum of the lifts of the channels that reached them.
    A shared uniform draw decides conversion, so the channel whose lift interval the draw falls in
    caused it; a channel's caused conversions are what would be lost without it."""
    if customers < 1:
        raise MarketingTruthError(f"customers={customers}: pass a positive number")
    lifts = np.array([c.conversion_lift for c in channels])
    if baseline_conversion < 0 or (lifts < 0).any() or baseline_conversion + lifts.sum() > 1:
        raise MarketingTruthError("baseline_conversion and the channels' conversion_lift must be >= 0 and sum "
                                  f"to at most 1 (they sum to {baseline_conversion + lifts.sum():.3f})")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 32]))
    n, k = customers, len(channels)
    ids = np.array([f"S{i:08d}" for i in range(1, n + 1)], dtype=object)
    t0 = pd.Timestamp(start)
    end_day = max_days_before + rng.random(n) * (days - max_days_before)
    reached = rng.random((n, k)) < np.array([c.reach for c in channels])
    p_baseline = baseline_conversion
    u = rng.random(n)
    converted = u < p_baseline + reached @ lifts
    # the channel whose increment interval holds u caused the conversion (channels in random order)
    caused_by = np.full(n, -1)
    order = np.argsort(rng.random((n, k)), axis=1)
    level = np.full(n, p_baseline)
    for step in range(k):
        j = order[:, step]
        inc = lifts[j] * reached[np.arange(n), j]
        hit = converted & (u >= level) & (u < level + inc)
        caused_by[hit] = j[hit]
        level = level + inc

    cust_rows, ch_rows, day_rows = [], [], []
    for j, ch in enumerate(channels):
        who = np.flatnonzero(reached[:, j])
        count = 1 + rng.poisson(ch.extra_touches, len(who))
        person = np.repeat(who, count)
        before = np.minimum(rng.exponential(ch.mean_days_before, len(person)), max_days_before)
        before = np.maximum(before, 1 / 1440)  # at least a minute before the end
        cust_rows.append(person)
        ch_rows.append(np.full(len(person), j))
        day_rows.append(end_day[person] - before)
    person, chan, day = np.concatenate(cust_rows), np.concatenate(ch_rows), np.concatenate(day_rows)
    order_t = np.lexsort((day, person))
    person, chan, day = person[order_t], chan[order_t], day[order_t]
    names = np.array([c.name for c in channels], dtype=object)
    touches = pd.DataFrame({
        "touch_id": [f"ST{i:09d}" for i in range(1, len(person) + 1)],
        "customer_id": ids[person], "channel": names[chan],
        "campaign": names[chan] + "_sim", "kind": np.array([c.kind for c in channels], dtype=object)[chan],
        "touched_at": t0 + pd.to_timedelta(np.round(day * 86_400), unit="s"),
        "cost": np.array([c.cost_per_touch for c in channels])[chan], "currency": "USD",
    })
    buyers = np.flatnonzero(converted)
    revenue = np.round(rng.gamma(4.0, mean_order_value / 4.0, len(buyers)), 2)
    conversions = pd.DataFrame({
        "conversion_id": [f"SC{i:08d}" for i in range(1, len(buyers) + 1)], "customer_id": ids[buyers],
        "converted_at": t0 + pd.to_timedelta(np.round(end_day[buyers] * 86_400), unit="s"),
        "revenue": revenue,
        "caused_by": np.where(caused_by[buyers] >= 0, names[np.maximum(caused_by[buyers], 0)], "baseline"),
    })
    caused = np.bincount(caused_by[buyers][caused_by[buyers] >= 0], minlength=k)
    caused_revenue = np.bincount(caused_by[buyers][caused_by[buyers] >= 0],
                                 weights=revenue[caused_by[buyers] >= 0], minlength=k)
    truth = pd.DataFrame({"channel": names, "conversion_lift": lifts, "reached": reached.sum(axis=0),
                          "expected_conversions": lifts * reached.sum(axis=0), "caused_conversions": caused,
                          "caused_revenue": caused_revenue})
    truth["share"] = truth["caused_conversions"] / max(truth["caused_conversions"].sum(), 1)
    return TouchPathSimulation(touches, conversions, pd.DataFrame({"customer_id": ids}), truth[PATH_TRUTH_COLUMNS],
                               baseline_conversion)
