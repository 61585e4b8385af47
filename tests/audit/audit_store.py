"""A small, clean canonical store for the audit tests; each test breaks one thing on purpose."""

from __future__ import annotations

import pandas as pd

from storelift.schema import CONSENT_PURPOSES
from storelift.warehouse import Warehouse

AS_OF = pd.Timestamp("2024-06-30")  # a few days after the last order
FIRST_ORDER = pd.Timestamp("2023-07-03")
N_CUSTOMERS = 6
N_ORDERS = 52  # weekly, one year


def psn(i: int) -> str:
    return f"psn_{i:032x}"


def clean_store() -> dict[str, pd.DataFrame]:
    """Canonical frames that pass every audit check."""
    customers = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(N_CUSTOMERS)],
        "email": [psn(i) for i in range(N_CUSTOMERS)],
        "phone": [psn(100 + i) for i in range(N_CUSTOMERS)],
        "country": "DE",
        "created_at": pd.Timestamp("2023-06-01"),
        "gender": None,
        "birth_year": None,
    })
    products = pd.DataFrame({
        "product_id": [f"p{i}" for i in range(5)],
        "title": [f"Mug {i}" for i in range(5)],
        "description": [f"A stoneware mug, colour {i}" for i in range(5)],
        "category": "Kitchen > Mugs",
        "price": 12.0,
        "cost": 4.0,
        "currency": "EUR",
        "product_type": "merchandise",
    })
    orders, lines, events = [], [], []
    for k in range(N_ORDERS):
        at = FIRST_ORDER + pd.Timedelta(days=7 * k)
        order_id, customer_id = f"o{k}", f"c{k % N_CUSTOMERS}"
        orders.append({"order_id": order_id, "customer_id": customer_id, "ordered_at": at, "currency": "EUR",
                       "status": "completed", "shipping_amount": 4.95, "tax_amount": 0.0})
        for line_number in (1, 2):
            quantity, unit_price = float(line_number), 10.0 + line_number
            discount = 1.0 if k % 5 == 0 else 0.0
            lines.append({"order_id": order_id, "line_number": line_number,
                          "product_id": f"p{(k + line_number) % 5}", "quantity": quantity,
                          "unit_price": unit_price, "discount_amount": discount,
                          "amount": quantity * unit_price - discount})
        events.append({"event_id": f"e{k}", "event": "Product Viewed", "customer_id": customer_id,
                       "occurred_at": at - pd.Timedelta(hours=1), "product_id": f"p{k % 5}"})
    refunds = pd.DataFrame([{"refund_id": "r1", "order_id": "o0", "customer_id": "c0",
                             "refunded_at": FIRST_ORDER + pd.Timedelta(days=3), "product_id": "p1",
                             "quantity": 1.0, "amount": 11.0, "currency": "EUR", "kind": "return"}])
    consents = pd.DataFrame([
        {"customer_id": f"c{i}", "purpose": purpose, "granted": True, "recorded_at": pd.Timestamp("2023-06-01")}
        for i in range(N_CUSTOMERS) for purpose in sorted(CONSENT_PURPOSES)
    ])
    return {"customers": customers, "products": products, "orders": pd.DataFrame(orders),
            "order_lines": pd.DataFrame(lines), "events": pd.DataFrame(events), "refunds": refunds,
            "consents": consents}


def add_rows(frames: dict[str, pd.DataFrame], name: str, rows: list[dict]) -> None:
    frames[name] = pd.concat([frames[name], pd.DataFrame(rows)], ignore_index=True)


def make_warehouse(frames: dict[str, pd.DataFrame]) -> Warehouse:
    """An in-memory DuckDB warehouse holding `frames`."""
    wh = Warehouse("duckdb://")
    wh.ensure_tables()
    for name, frame in frames.items():
        wh.insert(name, frame)
    return wh


def flagged(checks: pd.DataFrame) -> set[tuple[str, str]]:
    """(table, check) of every check that warned or failed."""
    bad = checks[checks["status"].isin(["warn", "fail"])]
    return set(zip(bad["table"], bad["check"]))


def check(checks: pd.DataFrame, table: str, name: str) -> pd.Series:
    """The one row of `checks` for `table` and check `name`."""
    rows = checks[(checks["table"] == table) & (checks["check"] == name)]
    assert len(rows) == 1, f"expected one {table} {name} row, got {len(rows)}"
    return rows.iloc[0]
