"""UCI Online Retail (2010-2011) and Online Retail II: one row per invoice line.

Invoices starting with "C" are cancellations and negative quantities are returns or stock
adjustments: both become refunds (positive quantities), linked to their order after the load.
Times are UK local time. The copy of the first layout in Parquet writes missing descriptions as
"Unknown", which is read as missing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import IngestError
from ..readers import read_delimited, read_parquet
from ..validate import is_blank
from .base import Adapter, IngestContext, Mapped, header_of, problems_frame

# Online Retail II renamed four columns; both layouts map to the first one's names.
ALIASES = {"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer ID": "CustomerID"}
COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
LAYOUT_II = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]

FEE_CODES = {"POST", "DOT", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK", "PADS"}
ADJUSTMENT_CODES = {"M", "D", "S", "B", "ADJUST", "ADJUST2"}


def product_type(codes: pd.Series) -> pd.Series:
    upper = codes.astype(str).str.upper()
    kind = np.where(upper.isin(FEE_CODES), "fee", np.where(upper.isin(ADJUSTMENT_CODES), "adjustment", "merchandise"))
    return pd.Series(kind, index=codes.index)


def whole_number_ids(values: pd.Series) -> pd.Series:
    """Customer ids as their digits: 17850, 17850.0 and "17850.0" (a CSV written from a float column) agree."""
    text = values.astype(object).where(values.notna(), None)
    return text.map(lambda v: v if v is None else (str(int(v)) if isinstance(v, float) else
                                                   str(v).strip().removesuffix(".0")))


class OnlineRetailAdapter(Adapter):
    name = "online_retail"
    description = "UCI Online Retail (2010-2011) or Online Retail II invoice lines, CSV or Parquet"
    fact_tables = ("order_lines", "refunds")
    timezone = "Europe/London"

    def read(self, path: Path, chunk_rows: int, progress=None):
        suffix = Path(path).suffix.lower()
        if suffix == ".parquet":
            return read_parquet(path, chunk_rows, progress)
        if suffix in (".xlsx", ".xls"):
            raise IngestError(f"{path}: Excel files are not read directly; save the sheet as CSV and ingest that")
        return read_delimited(path, chunk_rows, ",", progress=progress)

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        if Path(path).suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            names = set(pq.read_schema(path).names)
        else:
            names = set(header_of(head))
        return set(COLUMNS) <= names or set(LAYOUT_II) <= names

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        frame = frame.rename(columns=ALIASES)
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise IngestError(f"Online Retail file lacks column(s) {missing}; expected {COLUMNS} or {LAYOUT_II}")
        frame = frame.assign(CustomerID=whole_number_ids(frame["CustomerID"]))
        invoice = frame["InvoiceNo"].astype(object).where(frame["InvoiceNo"].notna(), "").astype(str).str.strip()
        qty = pd.to_numeric(frame["Quantity"], errors="coerce")
        price = pd.to_numeric(frame["UnitPrice"], errors="coerce")
        desc = frame["Description"].where(frame["Description"].astype(str).str.strip() != "Unknown")
        bad_qty = qty.isna() | (qty == 0)
        problems = problems_frame(
            frame.loc[bad_qty, "_line"],
            [f"'Quantity' is {v!r}, " + ("zero; a line must sell or return at least one unit" if n == 0
                                          else "not a number; fix the value")
             for v, n in zip(frame.loc[bad_qty, "Quantity"], qty[bad_qty])],
        )
        is_cancel = invoice.str.upper().str.startswith("C")
        is_refund = (is_cancel | (qty < 0)) & ~bad_qty
        is_sale = ~is_refund & ~bad_qty
        line_no = ctx.line_numbers(invoice)
        price_ok = price.where(price >= 0)

        sale = frame[is_sale]
        lines = pd.DataFrame({
            "_line": sale["_line"], "order_id": invoice[is_sale], "line_number": line_no[is_sale],
            "product_id": sale["StockCode"], "quantity": qty[is_sale], "unit_price": sale["UnitPrice"],
            "discount_amount": 0.0, "amount": (qty * price_ok)[is_sale],
        })
        orders = pd.DataFrame({
            "_line": sale["_line"], "order_id": invoice[is_sale], "customer_id": sale["CustomerID"],
            "ordered_at": sale["InvoiceDate"], "currency": "GBP", "country": sale["Country"], "status": "completed",
        })
        ref = frame[is_refund]
        refunds = pd.DataFrame({
            "_line": ref["_line"], "refund_id": invoice[is_refund] + ":" + line_no[is_refund].astype(str),
            "source_document": invoice[is_refund], "customer_id": ref["CustomerID"], "refunded_at": ref["InvoiceDate"],
            "product_id": ref["StockCode"], "quantity": qty[is_refund].abs(), "amount": (qty.abs() * price_ok)[is_refund],
            "unit_price_check": ref["UnitPrice"], "currency": "GBP",
            "kind": np.where(is_cancel[is_refund], "cancellation", "adjustment"),
            "reason": np.where(is_cancel[is_refund], None, desc[is_refund]),
        })
        # a refund with a negative price is as wrong as a sale with one
        neg = pd.to_numeric(refunds.pop("unit_price_check"), errors="coerce") < 0
        refund_price_problems = problems_frame(
            refunds.loc[neg, "_line"], ["'UnitPrice' is negative; a price must be at least 0"] * int(neg.sum()))
        known = frame[~bad_qty & ~is_blank(frame["CustomerID"])]
        customers = pd.DataFrame({"_line": known["_line"], "customer_id": known["CustomerID"], "country": known["Country"]})
        ok = frame[~bad_qty]
        products = pd.DataFrame({
            "_line": ok["_line"], "product_id": ok["StockCode"], "title": desc[~bad_qty],
            "currency": "GBP", "product_type": product_type(ok["StockCode"]),
        })
        names = {"order_id": "InvoiceNo", "product_id": "StockCode", "quantity": "Quantity", "unit_price": "UnitPrice",
                 "amount": "UnitPrice", "customer_id": "CustomerID", "ordered_at": "InvoiceDate",
                 "refunded_at": "InvoiceDate", "country": "Country", "title": "Description"}
        return Mapped(
            tables={"customers": customers, "products": products, "orders": orders,
                    "order_lines": lines, "refunds": refunds},
            problems=pd.concat([problems, refund_price_problems], ignore_index=True),
            source_names={t: names for t in ("customers", "products", "orders", "order_lines", "refunds")},
        )
