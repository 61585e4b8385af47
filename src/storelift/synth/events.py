"""Segment-spec e-commerce track events, consistent with the orders, written as JSON lines.

Every order has a session: optional search and click, then view and add for each line, optional
cart view, Checkout Started and an Order Completed carrying the same order_id and products.
Before orders, some abandoned sessions browse (and sometimes add or start checkout) products the
customer likes; sessions before sign-up have no userId. Campaign e-mails are Delivered, Opened
and Link Clicked. Lines are rendered with Arrow string kernels and streamed in customer chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .baskets import _BASE_Q, Lines
from .catalog import Catalog
from .orders import OrderHeaders
from .text import SECONDS_PER_DAY, hex_ids, iso_times, join, join_groups, numbers
from .touches import EmailEngagement
from .truth import CustomerDraws, TruthParams, categorical, segment_category_probs

@dataclass
class EventInputs:
    """Everything one block's events are drawn from (customer-level arrays index by block position)."""

    customer_json: pa.Array  # '"C0000042"' per customer
    anonymous_ids: pa.Array
    created_s: np.ndarray  # sign-up time, epoch seconds
    draws: CustomerDraws
    order_customer: np.ndarray
    order_s: np.ndarray
    order_ids: pa.Array
    session_ids: pa.Array
    headers: OrderHeaders
    lines: Lines
    email: EmailEngagement
    email_s: tuple[np.ndarray, np.ndarray, np.ndarray]  # send, open, click epoch seconds (-1 = none)


@dataclass
class _Part:
    """Events of one name: who, when, their step in the session, properties and session id."""

    name: str
    customer: np.ndarray
    t: np.ndarray
    step: np.ndarray
    props: pa.Array
    session: pa.Array | None  # None: no session context (e-mail events)
    known: np.ndarray | None = None  # False: before sign-up, so no userId


class EventWriter:
    """Draws and renders one block's events chunk by chunk into a JSON-lines file."""

    def __init__(self, rng: np.random.Generator, inputs: EventInputs, catalog: Catalog, params: TruthParams):
        self.rng, self.x, self.catalog, self.params = rng, inputs, catalog, params
        self.currency = f'"currency":"{params.currency}"'
        self.rows = 0

    def write(self, fh, chunk_customers: int = 10_000) -> int:
        """Write the block's events, chunk by chunk of customers; returns the number of lines."""
        x = self.x
        n_cust = len(x.created_s)
        for lo in range(0, n_cust, chunk_customers):
            hi = min(lo + chunk_customers, n_cust)
            o_lo, o_hi = np.searchsorted(x.order_customer, [lo, hi])
            l_lo, l_hi = np.searchsorted(x.lines.order, [o_lo, o_hi])
            e_lo, e_hi = np.searchsorted(x.email.customer, [lo, hi])
            parts = self._order_sessions(o_lo, o_hi, l_lo, l_hi)
            parts += self._abandoned_sessions(o_lo, o_hi)
            parts += self._emails(e_lo, e_hi)
            self._write_parts(fh, parts)
        return self.rows

    def _product_props(self, product: np.ndarray, extra: list) -> pa.Array:
        price = numbers(self.catalog.price[product])
        return join(self.catalog.event_fields.take(pa.array(product)), ',"price":', price, *extra)

    def _order_sessions(self, o_lo: int, o_hi: int, l_lo: int, l_hi: int) -> list[_Part]:
        x, rng, cur = self.x, self.rng, self.currency
        n = o_hi - o_lo
        cust = x.order_customer[o_lo:o_hi]
        t_end = x.order_s[o_lo:o_hi]
        session = x.session_ids.slice(o_lo, n)
        order_id = x.order_ids.slice(o_lo, n)
        lo_order = x.lines.order[l_lo:l_hi] - o_lo
        product = x.lines.product[l_lo:l_hi]
        qty = x.lines.quantity[l_lo:l_hi]
        k = x.lines.lines_per_order[o_lo:o_hi]
        line_idx = x.lines.line_number[l_lo:l_hi] - 1

        searched = rng.random(n) < self.params.search_session_share
        carted = rng.random(n) < 0.3
        steps = 2 * searched + 2 * k + carted + 2
        gap = rng.integers(15, 90, n)

        def at(o, step):
            return t_end[o] - (steps[o] - 1 - step) * gap[o]

        def take(arr, o):
            return arr.take(pa.array(o))

        parts = []
        s = np.flatnonzero(searched)
        first_line = np.cumsum(k) - k
        first_product = product[first_line[s]]
        parts.append(_Part("Products Searched", cust[s], at(s, 0), np.zeros(len(s)),
                           join('"query":', self.catalog.query.take(pa.array(first_product))), take(session, s)))
        position = numbers(1 + rng.geometric(0.5, len(s)))
        parts.append(_Part("Product Clicked", cust[s], at(s, 1), np.ones(len(s)),
                           self._product_props(first_product, [',"position":', position]), take(session, s)))
        view_step = 2 * searched[lo_order] + 2 * line_idx
        parts.append(_Part("Product Viewed", cust[lo_order], at(lo_order, view_step), view_step,
                           self._product_props(product, [",", cur]), take(session, lo_order)))
        parts.append(_Part("Product Added", cust[lo_order], at(lo_order, view_step + 1), view_step + 1,
                           self._product_props(product, [',"quantity":', numbers(qty), ",", cur]),
                           take(session, lo_order)))

        item = join("{", self._product_props(product, [',"quantity":', numbers(qty)]), "}")
        offsets = np.concatenate([[0], np.cumsum(k)])
        products = join_groups(item, offsets)
        c = np.flatnonzero(carted)
        cart_step = steps[c] - 3
        parts.append(_Part("Cart Viewed", cust[c], at(c, cart_step), cart_step,
                           join('"cart_id":"', take(session, c), '","products":[', take(products, c), "]"),
                           take(session, c)))
        h = x.headers
        sl = slice(o_lo, o_hi)
        revenue = numbers(h.revenue[sl])
        all_o = np.arange(n)
        parts.append(_Part("Checkout Started", cust, at(all_o, steps - 2), steps - 2,
                           join('"order_id":"', order_id, '","value":', revenue, ",", cur), session))
        total = numbers(np.round(h.revenue[sl] + h.shipping[sl], 2))
        coupon = pc.if_else(pa.array(h.coupon[sl] > 0), ',"coupon":"WELCOME5"', "")
        props = join('"order_id":"', order_id, '","total":', total, ',"revenue":', revenue, ',"shipping":',
                     numbers(h.shipping[sl]), ',"tax":', numbers(h.tax[sl]), ',"discount":',
                     numbers(np.round(h.line_discount[sl] + h.coupon[sl], 2)), coupon, ",", cur,
                     ',"products":[', products, "]")
        parts.append(_Part("Order Completed", cust, t_end, steps - 1, props, session))
        return parts

    def _abandoned_sessions(self, o_lo: int, o_hi: int) -> list[_Part]:
        """Browsing sessions in the days before each order that end without one."""
        x, rng, cur, d = self.x, self.rng, self.currency, self.x.draws
        per_order = rng.poisson(self.params.abandoned_sessions_per_order, o_hi - o_lo)
        before = np.repeat(np.arange(o_lo, o_hi), per_order)
        n = len(before)
        cust = x.order_customer[before]
        start = x.order_s[before] - (rng.random(n) * 10 * SECONDS_PER_DAY).astype(np.int64) - 3_600
        session = hex_ids(rng, n, 16)
        known = start >= x.created_s[cust]
        searched = rng.random(n) < self.params.search_session_share
        views = np.minimum(1 + rng.poisson(0.6, n), 4)
        added = rng.random(n) < 0.35
        carted = added & (rng.random(n) < 0.5)
        checkout = added & (rng.random(n) < 0.25)
        gap = rng.integers(20, 120, n)

        view_sess = np.repeat(np.arange(n), views)
        vcust = cust[view_sess]
        category = np.where(rng.random(len(view_sess)) < self.params.favourite_share, d.favourite[vcust],
                            categorical(rng, segment_category_probs(), d.segment[vcust]))
        product = self.catalog.sample(rng, category, d.spend_level[vcust] / 1.5 / _BASE_Q[category])
        first_view = np.cumsum(views) - views
        last_product = product[first_view + views - 1]
        view_step = 2 * searched[view_sess] + np.arange(len(view_sess)) - first_view[view_sess]

        def part(name, sess, step, props):
            return _Part(name, cust[sess], start[sess] + step * gap[sess], step, props,
                         session.take(pa.array(sess)), known[sess])

        s = np.flatnonzero(searched)
        parts = [part("Products Searched", s, np.zeros(len(s), np.int64),
                      join('"query":', self.catalog.query.take(pa.array(product[first_view[s]])))),
                 part("Product Clicked", s, np.ones(len(s), np.int64),
                      self._product_props(product[first_view[s]], [',"position":',
                                                                   numbers(1 + rng.geometric(0.4, len(s)))])),
                 part("Product Viewed", view_sess, view_step, self._product_props(product, [",", cur]))]
        a = np.flatnonzero(added)
        add_step = 2 * searched[a] + views[a]
        parts.append(part("Product Added", a, add_step,
                          self._product_props(last_product[a], [',"quantity":1,', cur])))
        c = np.flatnonzero(carted)
        item = join("{", self._product_props(last_product[c], [',"quantity":1']), "}")
        parts.append(part("Cart Viewed", c, 2 * searched[c] + views[c] + 1,
                          join('"cart_id":"', session.take(pa.array(c)), '","products":[', item, "]")))
        k = np.flatnonzero(checkout)
        parts.append(part("Checkout Started", k, 2 * searched[k] + views[k] + 2,
                          join('"value":', numbers(self.catalog.price[last_product[k]]), ",", cur)))
        return parts

    def _emails(self, e_lo: int, e_hi: int) -> list[_Part]:
        x, name = self.x, self.params.campaign_name
        cust = x.email.customer[e_lo:e_hi]
        props = (f'"campaign_name":"{name}","email_id":"{name}-1",'
                 f'"email_subject":"We saved something for you"')
        parts = []
        for step, (event, times) in enumerate(zip(("Email Delivered", "Email Opened", "Email Link Clicked"),
                                                  x.email_s)):
            t = times[e_lo:e_hi]
            has = t >= 0
            extra = ',"link_url":"https://shop.example.com/offers"' if step == 2 else ""
            k = int(has.sum())
            parts.append(_Part(event, cust[has], t[has] + (30 if step == 0 else 0), np.full(k, step),
                               pa.array([props + extra] * k, pa.string()), None))
        return parts

    def _write_parts(self, fh, parts: list[_Part]) -> None:
        rendered, cust, t, step = [], [], [], []
        for p in parts:
            n = len(p.customer)
            if n == 0:
                continue
            uid = self.x.customer_json.take(pa.array(p.customer))
            if p.known is not None:
                uid = pc.if_else(pa.array(p.known), uid, "null")
            ctx = join('"sessionId":"', p.session, '"') if p.session is not None else pa.array([""] * n)
            rendered.append(join(
                '{"messageId":"', hex_ids(self.rng, n, uuid_style=True), '","type":"track","event":"', p.name,
                '","userId":', uid, ',"anonymousId":"', self.x.anonymous_ids.take(pa.array(p.customer)),
                '","timestamp":"', iso_times(p.t), '","properties":{', p.props, '},"context":{', ctx, "}}\n"))
            cust.append(p.customer)
            t.append(p.t)
            step.append(np.asarray(p.step))
        if not rendered:
            return
        order = np.lexsort((np.concatenate(step), np.concatenate(t), np.concatenate(cust)))
        lines = pa.concat_arrays(rendered).take(pa.array(order))
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
        fh.write(lines.buffers()[2][int(offsets[0]):int(offsets[-1])])
        self.rows += len(lines)
