"""Marketing touchpoints: acquisition clicks, assisting impressions, clicks before repeat orders,
non-converting impressions, and the randomized campaign's sends, opens and clicks.

Each channel has a cost per click or impression and a share of marketing-driven repeat orders;
a share `order_touch_share` of repeat orders is preceded by a click on one channel. Only the
treatment arm of the campaign is e-mailed; campaign orders always follow an open and a click.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .calendar import StoreCalendar
from .purchases import REPEAT, Campaign
from .text import numbered_ids
from .truth import TruthParams

MINUTE = 1 / 1440
KINDS = ("send", "open", "click", "impression")
SEND, OPEN, CLICK, IMPRESSION = range(4)
SEND_COST = 0.002
OPEN_RATE, CLICK_RATE = 0.28, 0.15  # campaign opens, and clicks per open, that lead to no order


@dataclass(frozen=True)
class Channel:
    """A marketing channel: how it acquires customers, drives repeat orders, and what it costs."""

    name: str
    acquisition_share: float
    order_touch_share: float
    cost_per_click: float
    cost_per_impression: float
    campaigns: tuple[str, str]  # (acquisition or prospecting, retention or retargeting)


CHANNELS: tuple[Channel, ...] = (
    Channel("paid_search", 0.24, 0.28, 0.55, 0.0, ("generic_search", "brand_search")),
    Channel("paid_social", 0.17, 0.14, 0.35, 0.006, ("social_prospecting", "social_retargeting")),
    Channel("organic_search", 0.22, 0.0, 0.0, 0.0, ("organic", "organic")),
    Channel("direct", 0.16, 0.0, 0.0, 0.0, ("direct", "direct")),
    Channel("referral", 0.07, 0.0, 5.0, 0.0, ("refer_a_friend", "refer_a_friend")),
    Channel("affiliate", 0.08, 0.10, 0.90, 0.0, ("affiliate_network", "affiliate_network")),
    Channel("display", 0.06, 0.08, 0.40, 0.004, ("display_prospecting", "display_retargeting")),
    Channel("email", 0.0, 0.40, 0.0, 0.0, ("newsletter", "newsletter")),
)
_NAMES = [c.name for c in CHANNELS]
PAID_SEARCH, PAID_SOCIAL, DIRECT, DISPLAY, EMAIL = (_NAMES.index(n) for n in
                                                     ("paid_search", "paid_social", "direct", "display", "email"))
_CPC = np.array([c.cost_per_click for c in CHANNELS])
_CPI = np.array([c.cost_per_impression for c in CHANNELS])


@dataclass
class Touches:
    """One block's touches, ordered by customer and time."""

    customer: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray  # campaign name (object array)
    kind: np.ndarray
    day: np.ndarray
    cost: np.ndarray


@dataclass
class EmailEngagement:
    """The campaign e-mail per treated customer: send, open and click days (NaN when none)."""

    customer: np.ndarray
    send_day: np.ndarray
    open_day: np.ndarray
    click_day: np.ndarray


def _campaign_email(rng: np.random.Generator, campaign: Campaign, campaign_order_day: np.ndarray) -> EmailEngagement:
    cust = np.flatnonzero(campaign.treated)
    k = len(cust)
    send = campaign.send_day + rng.uniform(0, 5, k) * MINUTE
    ordered = ~np.isnan(campaign_order_day[cust])
    click_before = rng.uniform(2, 20, k) * MINUTE
    open_before = rng.uniform(1, 30, k) * MINUTE
    opened = ordered | (rng.random(k) < OPEN_RATE)
    later_open = send + np.minimum(rng.exponential(0.25, k), campaign.window_days)
    open_day = np.where(ordered, campaign_order_day[cust] - click_before - open_before,
                        np.where(opened, later_open, np.nan))
    clicked = ordered | (opened & (rng.random(k) < CLICK_RATE))
    click_day = np.where(ordered, campaign_order_day[cust] - click_before,
                         np.where(clicked, open_day + open_before, np.nan))
    return EmailEngagement(cust, send, open_day, click_day)


def draw_touches(rng: np.random.Generator, cal: StoreCalendar, params: TruthParams, created_day: np.ndarray,
                 channel: np.ndarray, email_ok_at_signup: np.ndarray, order_customer: np.ndarray,
                 order_day: np.ndarray, order_kind: np.ndarray, campaign: Campaign,
                 campaign_order_day: np.ndarray) -> tuple[Touches, EmailEngagement]:
    """Draw every touch of one block of customers."""
    n = len(created_day)
    parts: list[tuple] = []  # (customer, channel, campaign slot or name, kind, day, cost)

    acq = np.flatnonzero(channel != DIRECT)
    parts.append((acq, channel[acq], 0, np.full(len(acq), CLICK),
                  created_day[acq] - rng.uniform(5, 60, len(acq)) * MINUTE, _CPC[channel[acq]]))

    assists = rng.poisson(0.8, n)
    cust = np.repeat(np.arange(n), assists)
    ch = np.where(rng.random(len(cust)) < 0.5, PAID_SOCIAL, DISPLAY)
    parts.append((cust, ch, 0, np.full(len(cust), IMPRESSION),
                  created_day[cust] - rng.uniform(1, 14, len(cust)), _CPI[ch]))

    repeat = np.flatnonzero((order_kind == REPEAT) & (rng.random(len(order_kind)) < params.order_touch_share))
    shares = np.array([c.order_touch_share for c in CHANNELS])
    ch = np.minimum(np.searchsorted(np.cumsum(shares / shares.sum()), rng.random(len(repeat)), side="right"),
                    len(CHANNELS) - 1)
    ch = np.where((ch == EMAIL) & ~email_ok_at_signup[order_customer[repeat]], PAID_SEARCH, ch)
    parts.append((order_customer[repeat], ch, 1, np.full(len(repeat), CLICK),
                  order_day[repeat] - rng.uniform(1, 120, len(repeat)) * MINUTE, _CPC[ch]))

    active_share = (cal.n_days - created_day) / cal.n_days
    idle = rng.poisson(1.5 * active_share)
    cust = np.repeat(np.arange(n), idle)
    ch = np.where(rng.random(len(cust)) < 0.5, PAID_SOCIAL, DISPLAY)
    day = created_day[cust] + rng.random(len(cust)) * (cal.n_days - created_day[cust])
    parts.append((cust, ch, 1, np.full(len(cust), IMPRESSION), day, _CPI[ch]))

    email = _campaign_email(rng, campaign, campaign_order_day)
    for kind, days in ((SEND, email.send_day), (OPEN, email.open_day), (CLICK, email.click_day)):
        has = ~np.isnan(days)
        k = int(has.sum())
        parts.append((email.customer[has], np.full(k, EMAIL), params.campaign_name, np.full(k, kind), days[has],
                      np.full(k, SEND_COST if kind == SEND else 0.0)))

    names = []
    for cust, ch, slot, _, _, _ in parts:
        if isinstance(slot, str):
            names.append(np.full(len(cust), slot, dtype=object))
        else:
            names.append(np.array([c.campaigns[slot] for c in CHANNELS], dtype=object)[ch])
    customer = np.concatenate([p[0] for p in parts])
    day = np.concatenate([p[4] for p in parts])
    order = np.lexsort((day, customer))
    return Touches(customer[order], np.concatenate([p[1] for p in parts])[order],
                   np.concatenate(names)[order], np.concatenate([p[3] for p in parts])[order], day[order],
                   np.concatenate([p[5] for p in parts])[order]), email


def touches_table(t: Touches, first_number: int, customer_ids: pa.Array, touched_at: pa.Array,
                  currency: str) -> pa.Table:
    n = len(t.customer)
    return pa.table({
        "touch_id": numbered_ids("T", np.arange(first_number, first_number + n), 10),
        "customer_id": customer_ids.take(pa.array(t.customer)),
        "channel": pa.array(np.array(_NAMES, dtype=object)[t.channel], pa.string()),
        "campaign": pa.array(t.campaign, pa.string()),
        "kind": pa.array(np.array(KINDS, dtype=object)[t.kind], pa.string()),
        "touched_at": touched_at,
        "cost": pa.array(np.round(t.cost, 4)),
        "currency": pa.array([currency] * n, pa.string()),
    })


def channels_truth() -> list[dict]:
    """Channel parameters for truth.json."""
    return [{"channel": c.name, "acquisition_share": c.acquisition_share,
             "repeat_order_touch_share": c.order_touch_share, "cost_per_click": c.cost_per_click,
             "cost_per_impression": c.cost_per_impression, "campaigns": list(dict.fromkeys(c.campaigns))}
            for c in CHANNELS]
