"""DIGINETICA (CIKM Cup 2016) purchase log and product-category map, semicolon-separated.

Purchases carry no prices, so order lines have no amount and orders the currency XXX ("no
currency"). The log gives the day but not the time of day: orders are stamped at 00:00 UTC
of that day. userId "NA" or empty is a guest.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..readers import read_delimited
from .base import Adapter, IngestContext, Mapped, header_of

PURCHASES = ["sessionId", "userId", "timeframe", "eventdate", "ordernumber", "itemId"]
CATEGORIES = ["itemId", "categoryId"]


def _guest(values: pd.Series) -> pd.Series:
    text = values.astype(str).str.strip()
    return text.where(~text.isin(["", "NA", "nan", "None"]))


class DigineticaPurchasesAdapter(Adapter):
    name = "diginetica_purchases"
    description = "DIGINETICA train-purchases.csv (sessionId;userId;timeframe;eventdate;ordernumber;itemId)"
    fact_tables = ("order_lines",)

    def read(self, path: Path, chunk_rows: int, progress=None):
        return read_delimited(path, chunk_rows, ";", progress=progress)

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        return header_of(head, ";") == PURCHASES

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        order = frame["ordernumber"].astype(str).str.strip()
        user = _guest(frame["userId"])
        known = user.notna()
        names = {"order_id": "ordernumber", "customer_id": "userId", "ordered_at": "eventdate",
                 "product_id": "itemId", "session_id": "sessionId"}
        return Mapped(
            tables={
                "customers": pd.DataFrame({"_line": frame.loc[known, "_line"], "customer_id": user[known]}),
                "products": pd.DataFrame({"_line": frame["_line"], "product_id": frame["itemId"]}),
                "orders": pd.DataFrame({"_line": frame["_line"], "order_id": order, "customer_id": user,
                                        "ordered_at": frame["eventdate"], "currency": "XXX",
                                        "session_id": frame["sessionId"], "status": "completed"}),
                "order_lines": pd.DataFrame({"_line": frame["_line"], "order_id": order,
                                             "line_number": ctx.line_numbers(order), "product_id": frame["itemId"],
                                             "quantity": 1.0}),
            },
            source_names={t: names for t in ("customers", "products", "orders", "order_lines")},
        )


class DigineticaCategoriesAdapter(Adapter):
    name = "diginetica_categories"
    description = "DIGINETICA product-categories.csv (itemId;categoryId)"
    fact_tables = ("products",)

    def read(self, path: Path, chunk_rows: int, progress=None):
        return read_delimited(path, chunk_rows, ";", progress=progress)

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        return header_of(head, ";") == CATEGORIES

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        return Mapped(
            tables={"products": pd.DataFrame({"_line": frame["_line"], "product_id": frame["itemId"],
                                              "category": frame["categoryId"]})},
            source_names={"products": {"product_id": "itemId", "category": "categoryId"}},
        )
