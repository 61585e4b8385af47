"""The generating process saved beside the data, so models can be scored against the truth.

ground_truth/customers.parquet holds each customer's latent parameters and realized outcomes;
ground_truth/truth.json holds the global parameters plus realized totals.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .categories import CATEGORIES, SEGMENTS
from .purchases import Campaign, Purchases
from .truth import CustomerDraws

TRUTH_SCHEMA = pa.schema([
    ("customer_id", pa.string()),
    ("segment", pa.string()),
    ("favourite_category", pa.string()),
    ("purchase_rate_per_day", pa.float64()),  # lambda
    ("dropout_probability", pa.float64()),  # p
    ("spend_level", pa.float64()),  # expected order value p_gg / nu
    ("spend_nu", pa.float64()),
    ("repeat_purchases", pa.int64()),
    ("orders", pa.int64()),
    ("expected_orders", pa.float64()),
    ("is_alive_at_end", pa.bool_()),
    ("dropout_at", pa.timestamp("s")),
    ("is_campaign_eligible", pa.bool_()),
    ("treatment_arm", pa.string()),  # treatment, control, or null when not eligible
    ("campaign_uplift", pa.float64()),  # tau: P(extra order | treated, alive at send)
    ("is_alive_at_send", pa.bool_()),
    ("has_campaign_order", pa.bool_()),
    ("true_conversion_uplift", pa.float64()),  # effect of the e-mail on P(order within the window)
])


def customer_truth_table(ids: pa.Array, draws: CustomerDraws, purchases: Purchases, campaign: Campaign,
                         dropout_s: np.ndarray) -> pa.Table:
    """One row per customer of the block."""
    n = len(draws.lam)
    orders = np.bincount(purchases.customer, minlength=n)
    arm = np.where(campaign.treated, "treatment", np.where(campaign.eligible, "control", None)).astype(object)
    has_dropout = ~np.isnan(purchases.dropout_day)
    dropout = pa.array(np.where(has_dropout, dropout_s, 0).astype(np.int64), mask=~has_dropout)
    return pa.table({
        "customer_id": ids,
        "segment": pa.array(np.array([s.name for s in SEGMENTS], dtype=object)[draws.segment], pa.string()),
        "favourite_category": pa.array(np.array([c.path for c in CATEGORIES], dtype=object)[draws.favourite],
                                       pa.string()),
        "purchase_rate_per_day": draws.lam,
        "dropout_probability": draws.p,
        "spend_level": draws.spend_level,
        "spend_nu": draws.nu,
        "repeat_purchases": purchases.n_repeat.astype(np.int64),
        "orders": orders.astype(np.int64),
        "expected_orders": purchases.expected_orders,
        "is_alive_at_end": purchases.is_alive_at_end,
        "dropout_at": dropout.cast(pa.timestamp("s")),
        "is_campaign_eligible": campaign.eligible,
        "treatment_arm": pa.array(arm, pa.string()),
        "campaign_uplift": draws.tau,
        "is_alive_at_send": purchases.alive_at_send,
        "has_campaign_order": purchases.campaign_order,
        "true_conversion_uplift": purchases.conversion_uplift,
    }, schema=TRUTH_SCHEMA)


class TruthTotals:
    """Realized aggregates accumulated over blocks, for truth.json."""

    def __init__(self) -> None:
        self.sums = dict(customers=0, orders=0, expected_orders=0.0, alive_at_end=0, eligible=0, treated=0,
                         campaign_orders=0, eligible_tau=0.0, eligible_uplift=0.0)
        self.segment_eligible = np.zeros(len(SEGMENTS))
        self.segment_uplift = np.zeros(len(SEGMENTS))

    def add(self, draws: CustomerDraws, purchases: Purchases, campaign: Campaign) -> None:
        s = self.sums
        s["customers"] += len(draws.lam)
        s["orders"] += len(purchases.customer)
        s["expected_orders"] += float(purchases.expected_orders.sum())
        s["alive_at_end"] += int(purchases.is_alive_at_end.sum())
        s["eligible"] += int(campaign.eligible.sum())
        s["treated"] += int(campaign.treated.sum())
        s["campaign_orders"] += int(purchases.campaign_order.sum())
        s["eligible_tau"] += float(draws.tau[campaign.eligible].sum())
        s["eligible_uplift"] += float(purchases.conversion_uplift[campaign.eligible].sum())
        seg = draws.segment[campaign.eligible]
        self.segment_eligible += np.bincount(seg, minlength=len(SEGMENTS))
        self.segment_uplift += np.bincount(seg, weights=purchases.conversion_uplift[campaign.eligible],
                                           minlength=len(SEGMENTS))

    def as_dict(self) -> dict:
        s = self.sums
        c, e = max(s["customers"], 1), max(s["eligible"], 1)
        return {"customers": s["customers"], "orders": s["orders"],
                "mean_orders_per_customer": s["orders"] / c,
                "expected_mean_orders_per_customer": s["expected_orders"] / c,
                "alive_at_end_share": s["alive_at_end"] / c,
                "campaign_eligible": s["eligible"], "campaign_treated": s["treated"],
                "campaign_orders": s["campaign_orders"],
                "mean_campaign_uplift_tau_eligible": s["eligible_tau"] / e,
                "average_treatment_effect_on_conversion": s["eligible_uplift"] / e,
                "treatment_effect_on_conversion_by_segment": {
                    seg.name: float(u / max(k, 1)) for seg, u, k in
                    zip(SEGMENTS, self.segment_uplift, self.segment_eligible)}}
