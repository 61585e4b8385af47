"""Every synthetic table holds valid values by the canonical schema, and the tables join up."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from storelift.schema import ISO_CURRENCIES, spec
from storelift.synth import generate_store

TABLES = ["customers", "products", "orders", "order_lines", "refunds", "consents", "touches"]
START, END = pd.Timestamp("2023-01-01"), pd.Timestamp("2025-01-01")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    generate_store(root, customers=3_000, seed=11, events=False)
    return {t: pd.read_parquet(root / f"{t}.parquet") for t in TABLES}


@pytest.mark.parametrize("table", TABLES)
def test_values_respect_the_canonical_schema(store, table):
    df = store[table]
    assert len(df) > 0
    for col in spec(table).columns:
        if col.name not in df:
            continue
        values = df[col.name]
        if col.required:
            assert values.notna().all(), f"{table}.{col.name} has nulls"
        present = values.dropna()
        if col.min_value is not None:
            ok = present >= col.min_value if col.min_inclusive else present > col.min_value
            assert ok.all(), f"{table}.{col.name} below {col.min_value}"
        if col.allowed is not None:
            assert set(present) <= col.allowed, f"{table}.{col.name}: {set(present) - col.allowed}"
        if col.is_currency:
            assert set(present) <= ISO_CURRENCIES, f"{table}.{col.name}"


def test_line_amounts_are_quantity_times_price_less_discount(store):
    lines = store["order_lines"]
    assert (lines.quantity > 0).all() and (lines.amount >= 0).all() and (lines.discount_amount >= 0).all()
    expected = lines.quantity * lines.unit_price - lines.discount_amount
    assert np.allclose(lines.amount, expected, atol=0.011)


def test_line_numbers_run_from_one_within_each_order(store):
    lines = store["order_lines"]
    per_order = lines.groupby("order_id").line_number.agg(["min", "max", "count"])
    assert (per_order["min"] == 1).all() and (per_order["max"] == per_order["count"]).all()
    assert set(store["orders"].order_id) == set(lines.order_id)


def test_foreign_keys_resolve(store):
    customers, orders, products = store["customers"], store["orders"], store["products"]
    assert orders.customer_id.isin(customers.customer_id).all()
    assert store["order_lines"].order_id.isin(orders.order_id).all()
    assert store["order_lines"].product_id.isin(products.product_id).all()
    refunds = store["refunds"]
    assert refunds.order_id.isin(orders.order_id).all()
    assert refunds.product_id.isin(products.product_id).all()
    for table in ("consents", "touches"):
        assert store[table].customer_id.isin(customers.customer_id).all(), table


def test_refunds_return_what_the_order_sold_after_it_was_placed(store):
    refunds = store["refunds"]
    joined = refunds.merge(store["order_lines"], on=["order_id", "product_id"], suffixes=("", "_line"))
    assert (joined.groupby("refund_id").quantity_line.max() >= joined.groupby("refund_id").quantity.first()).all()
    when = refunds.merge(store["orders"][["order_id", "ordered_at", "customer_id"]], on="order_id",
                         suffixes=("", "_order"))
    assert (when.refunded_at > when.ordered_at).all() and (when.refunded_at < END).all()
    assert (when.customer_id == when.customer_id_order).all()
    assert set(refunds.kind) == {"return"}
    statuses = store["orders"].set_index("order_id").status
    assert (statuses.loc[refunds.order_id.unique()] != "completed").all()


def test_orders_fall_in_the_window_and_first_orders_at_signup(store):
    orders, customers = store["orders"], store["customers"]
    assert orders.ordered_at.between(START, END).all()
    first = orders.groupby("customer_id").ordered_at.min()
    created = customers.set_index("customer_id").created_at
    assert (first == created.loc[first.index]).all()
    assert set(orders.channel) <= {"web", "app"}


def test_pii_is_fake_but_realistic(store):
    c = store["customers"]
    assert c.email.str.fullmatch(r"[a-z._]+\d+@example\.(com|org|net)").all()
    phones = c.phone.dropna()
    fictional = r"\+44 7700 900\d{3}|\+1 [2-9]\d\d 555 01\d\d|\+61 491 570 \d{3}"
    assert phones.str.fullmatch(fictional).all()
    assert set(c.country) <= {"GB", "IE", "US", "AU"}
    assert c.gender.dropna().isin(["female", "male", "non-binary"]).all()
    assert c.birth_year.between(1930, 2005).all()
    assert c.first_name.notna().all() and c.street_address.str.match(r"\d+ ").all()


def test_products_have_text_and_category_paths(store):
    p = store["products"]
    assert p.product_id.is_unique
    assert p.category.str.fullmatch(r"[A-Z][A-Za-z]+( > [A-Z][A-Za-z ]+)+").all()
    assert (p.title.str.len() > 10).all() and (p.description.str.split().str.len() > 10).all()
    assert (p.product_type == "merchandise").all() and (p.cost < p.price).all()


def test_consents_withdrawals_follow_grants(store):
    c = store["consents"].sort_values(["customer_id", "purpose", "recorded_at"])
    per = c.groupby(["customer_id", "purpose"])
    assert per.size().max() <= 2
    twice = per.filter(lambda g: len(g) == 2)
    pairs = twice.groupby(["customer_id", "purpose"]).granted.agg(list)
    assert pairs.map(lambda g: g == [True, False]).all()
    assert len(pairs) > 0


def test_touches_record_the_campaign_sends(store):
    t = store["touches"]
    sends = t[(t.kind == "send")]
    assert set(sends.channel) == {"email"} and sends.customer_id.is_unique
    assert (t.cost >= 0).all() and t.touched_at.notna().all()
    assert re.fullmatch(r"[a-z_]+", sends.campaign.iloc[0])
