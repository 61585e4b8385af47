"""Order headers and the canonical orders, order_lines and refunds tables for one block.

Prices include VAT, so tax_amount is the VAT inside the net total at the customer country's rate;
shipping is free over a threshold; a share of first orders use a fixed welcome coupon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .baskets import Lines
from .people import COUNTRIES
from .purchases import FIRST
from .refunds import REASONS, Refunds
from .text import numbered_ids
from .truth import TruthParams

_VAT = np.array([c.vat_rate for c in COUNTRIES])
_SHIPPING = np.array([c.shipping for c in COUNTRIES])
CHANNELS = ("web", "app")


@dataclass
class OrderHeaders:
    """Per order: money totals and channel (arrays aligned with the block's orders)."""

    line_total: np.ndarray
    line_discount: np.ndarray
    coupon: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    channel: np.ndarray  # index into CHANNELS

    @property
    def revenue(self) -> np.ndarray:
        """Net merchandise revenue after line discounts and coupon (Segment 'revenue')."""
        return np.round(self.line_total - self.coupon, 2)


def order_headers(rng: np.random.Generator, lines: Lines, order_customer: np.ndarray, order_kind: np.ndarray,
                  customer_country: np.ndarray, app_propensity: np.ndarray, params: TruthParams) -> OrderHeaders:
    """Totals, coupon, shipping, VAT and channel of each order."""
    n = len(order_customer)
    line_total = np.round(np.bincount(lines.order, weights=lines.amount, minlength=n), 2)
    line_discount = np.round(np.bincount(lines.order, weights=lines.discount, minlength=n), 2)
    coupon_ok = (order_kind == FIRST) & (rng.random(n) < params.welcome_coupon_share)
    coupon = np.where(coupon_ok & (line_total >= 4 * params.welcome_coupon_amount),
                      params.welcome_coupon_amount, 0.0)
    net = line_total - coupon
    country = customer_country[order_customer]
    shipping = np.where(net >= params.free_shipping_over, 0.0, _SHIPPING[country])
    tax = np.round(net * _VAT[country] / (1 + _VAT[country]), 2)
    channel = (rng.random(n) < app_propensity[order_customer]).astype(np.int64)
    return OrderHeaders(line_total, line_discount, coupon, shipping, tax, channel)


def orders_table(order_ids: pa.Array, customer_ids: pa.Array, order_customer: np.ndarray, ordered_at: pa.Array,
                 country_codes: pa.Array, headers: OrderHeaders, status: np.ndarray, session_ids: pa.Array,
                 currency: str) -> pa.Table:
    n = len(order_customer)
    take = pa.array(order_customer)
    return pa.table({
        "order_id": order_ids,
        "customer_id": customer_ids.take(take),
        "ordered_at": ordered_at,
        "currency": pa.array([currency] * n, pa.string()),
        "country": country_codes.take(take),
        "channel": pa.array(np.array(CHANNELS, dtype=object)[headers.channel], pa.string()),
        "status": pa.array(status, pa.string()),
        "shipping_amount": pa.array(headers.shipping),
        "tax_amount": pa.array(headers.tax),
        "discount_amount": pa.array(headers.coupon),
        "session_id": session_ids,
    })


def order_lines_table(lines: Lines, order_ids: pa.Array, product_ids: pa.Array) -> pa.Table:
    return pa.table({
        "order_id": order_ids.take(pa.array(lines.order)),
        "line_number": pa.array(lines.line_number),
        "product_id": product_ids.take(pa.array(lines.product)),
        "quantity": pa.array(lines.quantity),
        "unit_price": pa.array(lines.unit_price),
        "discount_amount": pa.array(lines.discount),
        "amount": pa.array(lines.amount),
    })


def refunds_table(refunds: Refunds, first_number: int, lines: Lines, order_ids: pa.Array, order_customer_ids: pa.Array,
                  product_ids: pa.Array, refunded_at: pa.Array, currency: str) -> pa.Table:
    n = len(refunds.line)
    order_pos = pa.array(lines.order[refunds.line])
    return pa.table({
        "refund_id": numbered_ids("R", np.arange(first_number, first_number + n), 9),
        "order_id": order_ids.take(order_pos),
        "customer_id": order_customer_ids.take(order_pos),
        "refunded_at": refunded_at,
        "product_id": product_ids.take(pa.array(lines.product[refunds.line])),
        "quantity": pa.array(refunds.quantity),
        "amount": pa.array(refunds.amount),
        "currency": pa.array([currency] * n, pa.string()),
        "kind": pa.array(["return"] * n, pa.string()),
        "reason": pa.array(np.array(REASONS, dtype=object)[refunds.reason], pa.string()),
    })

