"""CDNOW master log: whitespace-separated `customer_id date number_of_cds dollar_value`.

Each row becomes one order with one line. CDNOW does not record which CDs were bought, so every
line points at one generic product "CD". Rows on the same customer and day stay separate orders
(numbered -1, -2, ...); the purchase models aggregate them per day, as the papers do.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..readers import read_delimited
from .base import Adapter, IngestContext, Mapped

COLUMNS = ["customer_id", "date", "number_of_cds", "dollar_value"]


class CdnowAdapter(Adapter):
    name = "cdnow"
    description = "CDNOW master transaction log (whitespace-separated)"
    fact_tables = ("order_lines",)

    def read(self, path: Path, chunk_rows: int, progress=None):
        return read_delimited(path, chunk_rows, whitespace=True, progress=progress)

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        first = head.lstrip("\ufeff").splitlines()[0].split() if head.strip() else []
        return first == COLUMNS

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        cust = frame["customer_id"].astype(str).str.strip()
        day = frame["date"].astype(str).str.strip()
        when = pd.to_datetime(day, format="%Y%m%d", errors="coerce")
        seq = ctx.line_numbers(cust + "|" + day)
        order_id = cust + "-" + day + "-" + seq.astype(str)
        qty = pd.to_numeric(frame["number_of_cds"], errors="coerce")
        amount = pd.to_numeric(frame["dollar_value"], errors="coerce")
        unit = (amount / qty).where(qty > 0)
        names = {"customer_id": "customer_id", "ordered_at": "date", "quantity": "number_of_cds",
                 "amount": "dollar_value", "unit_price": "dollar_value"}
        return Mapped(
            tables={
                "customers": pd.DataFrame({"_line": frame["_line"], "customer_id": cust}),
                "products": pd.DataFrame({"_line": frame["_line"], "product_id": "CD",
                                          "title": "CD (CDNOW does not record which)", "currency": "USD",
                                          "product_type": "merchandise"}),
                "orders": pd.DataFrame({"_line": frame["_line"], "order_id": order_id, "customer_id": cust,
                                        "ordered_at": when.where(when.notna(), day), "currency": "USD",
                                        "status": "completed"}),
                "order_lines": pd.DataFrame({"_line": frame["_line"], "order_id": order_id, "line_number": 1,
                                             "product_id": "CD", "quantity": frame["number_of_cds"],
                                             "unit_price": unit, "discount_amount": 0.0,
                                             "amount": frame["dollar_value"]}),
            },
            source_names={t: names for t in ("customers", "orders", "order_lines")},
        )
