"""Shopify's orders export (admin > Orders > Export, CSV): one row per line item.

Column layout: help.shopify.com/manual/orders/export-orders. An order's first row carries its
order fields; later rows repeat only Name, Email and the line-item fields, so the order fields are
carried to every row of the order (a bad order field quarantines the whole order), and an order's
rows must follow each other, as Shopify writes them. The export has no customer id: the e-mail
is the customer key, replaced at ingest by the e-mail's keyed pseudonym (`pseudonymized_columns`).
Lines are net of "Lineitem discount"; the order's discount_amount is the part of "Discount Amount"
not allocated to lines. The export has no refund date, so a refund is dated at the order's
cancellation, else at its creation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pandas as pd

from ...errors import IngestError
from ..readers import RawChunk, read_delimited
from .base import Adapter, IngestContext, Mapped, header_of, problems_frame

REQUIRED = ["Name", "Created at", "Currency", "Lineitem quantity", "Lineitem name", "Lineitem price"]
SIGNATURE = {"Name", "Email", "Financial Status", "Created at", "Lineitem quantity", "Lineitem name", "Lineitem price"}

# Order fields, present on an order's first row only and carried to its later rows.
ORDER_FIELDS = ["Id", "Email", "Financial Status", "Currency", "Shipping", "Taxes", "Discount Amount",
                "Created at", "Cancelled at", "Source", "Shipping Country", "Billing Country"]
LINE_FIELDS = ["Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem sku", "Lineitem discount", "Vendor"]
CUSTOMER_FIELDS = ["Phone", "Accepts Marketing", "Refunded Amount"] + [
    f"{side} {part}" for side in ("Billing", "Shipping")
    for part in ("Name", "Street", "Address1", "Address2", "City", "Zip", "Province", "Phone")
]
USED = list(dict.fromkeys(["Name"] + ORDER_FIELDS + LINE_FIELDS + CUSTOMER_FIELDS))

# Shopify financial statuses (Order.financial_status) to canonical order statuses.
STATUSES = {
    "paid": "completed", "refunded": "refunded", "partially_refunded": "partially_refunded",
    "pending": "pending", "authorized": "pending", "partially_paid": "pending",
    "voided": "cancelled", "expired": "cancelled",
}
# Shopify order sources (Order.source_name); any other source (an app's id) is kept as written.
CHANNELS = {"web": "web", "pos": "pos", "iphone": "app", "android": "app", "shopify_draft_order": "draft_order"}


def _each(values: pd.Series, fn) -> pd.Series:
    """`fn` of each present value, None where missing, as objects (pandas would infer a NaN string dtype)."""
    out = [None if v is None or v != v else fn(v) for v in values]
    return pd.Series(out, index=values.index, dtype=object)


def _clean(values: pd.Series) -> pd.Series:
    """Trimmed text, blank as None."""
    return _each(values, lambda v: str(v).strip() or None)


def _either(first: pd.Series, second: pd.Series) -> pd.Series:
    return first.where(first.notna(), second)


def _split_name(full: str | None) -> tuple[str | None, str | None]:
    """'Mary Ann Smith' -> ('Mary', 'Ann Smith'): the export joins first and last name with a space."""
    if full is None:
        return None, None
    first, _, last = full.partition(" ")
    return first, (last.strip() or None)


def whole_orders(chunks: Iterator[RawChunk]) -> Iterator[RawChunk]:
    """The same records re-cut so no chunk ends inside an order: an order's rows are mapped together."""
    held: pd.DataFrame | None = None
    for chunk in chunks:
        frame = chunk.frame if held is None else pd.concat([held, chunk.frame], ignore_index=True)
        held = None
        if "Name" in frame.columns and len(frame):
            names = [str(n).strip() for n in frame["Name"]]
            start = len(names)
            while start > 0 and names[start - 1] == names[-1]:
                start -= 1
            held = frame.iloc[start:].reset_index(drop=True)
            frame = frame.iloc[:start].reset_index(drop=True)
        if len(frame) or chunk.unreadable:
            yield RawChunk(frame, chunk.unreadable)
    if held is not None:
        yield RawChunk(held, [])


class ShopifyAdapter(Adapter):
    name = "shopify"
    description = "Shopify orders export (Orders > Export, CSV): one row per line item"
    fact_tables = ("order_lines", "refunds")
    pii_fields = ("Email", "Phone") + tuple(
        f"{side} {part}" for side in ("Billing", "Shipping")
        for part in ("Name", "Street", "Address1", "Address2", "Phone")
    )
    # customer_id holds the e-mail: ingest stores the e-mail's pseudonym instead, never the address.
    pseudonymized_columns = {"customer_id": "email"}

    def read(self, path: Path, chunk_rows: int, progress=None):
        return whole_orders(read_delimited(path, chunk_rows, ",", progress=progress))

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        return Path(path).suffix.lower() == ".csv" and SIGNATURE <= set(header_of(head))

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        missing = [c for c in REQUIRED if c not in frame.columns]
        if missing:
            raise IngestError(f"Shopify orders export lacks column(s) {missing}; export the orders again "
                              "from Shopify admin (Orders > Export) with all columns")
        f = pd.DataFrame({c: _clean(frame[c]) if c in frame.columns else None for c in USED}, index=frame.index,
                         dtype=object)
        lines = frame["_line"]
        problems = []
        no_name = f["Name"].isna()
        if no_name.any():
            problems.append(problems_frame(lines[no_name], ["'Name' is empty; each row needs its order's name, "
                                                            "e.g. #1001"] * int(no_name.sum())))
            f, lines = f[~no_name], lines[~no_name]

        # an order's rows follow each other; a row of an order seen before, further up, is not read
        name = f["Name"]
        seen: set = ctx.state.setdefault("shopify_orders_seen", set())
        run = (name != name.shift()).cumsum()
        apart = name.map(seen.__contains__).astype(bool) | (run != run.groupby(name).transform("min"))
        if apart.any():
            problems.append(problems_frame(lines[apart], [
                f"row of order {n!r} is apart from the order's first row, after other orders' rows; keep each "
                "order's rows together as Shopify exports them (sort by Name, keeping their order) or export again"
                for n in name[apart]]))
            f, lines, name = f[~apart], lines[~apart], name[~apart]
        seen.update(name)
        first = ~name.duplicated()
        order = f.loc[first, ORDER_FIELDS].set_index(name[first]).reindex(name.tolist()).set_index(f.index)

        order_id = _either(order["Id"], name)
        email = _either(order["Email"], f["Email"])
        customer_id = _each(email, str.lower)
        currency = order["Currency"]

        qty = pd.to_numeric(f["Lineitem quantity"], errors="coerce")
        price = pd.to_numeric(f["Lineitem price"], errors="coerce")
        line_discount = pd.to_numeric(f["Lineitem discount"], errors="coerce").fillna(0.0)
        gross = qty * price
        over = gross.notna() & (line_discount > gross + 0.005)
        if over.any():
            problems.append(problems_frame(lines[over], [
                f"'Lineitem discount' is {d:g}, more than the line's quantity x price ({g:g}); fix the line"
                for d, g in zip(line_discount[over], gross[over])]))
        amount = (gross - line_discount).round(2).where(~over)

        # "Discount Amount" is the order's total discount; what the lines do not carry stays on the order
        total_discount = pd.to_numeric(order["Discount Amount"], errors="coerce")
        allocated = line_discount.groupby(order_id).transform("sum")
        order_discount = (total_discount - allocated).clip(lower=0).round(2).astype(object)
        order_discount = order_discount.where(total_discount.notna(), order["Discount Amount"])

        financial = _each(order["Financial Status"], lambda v: v.lower().replace(" ", "_"))
        status = _each(financial, STATUSES.get)
        unknown = financial.notna() & status.isna()
        if unknown.any():
            problems.append(problems_frame(lines[unknown], [
                f"'Financial Status' is {v!r}, not a Shopify financial status ({', '.join(STATUSES)}); fix the value"
                for v in order.loc[unknown, "Financial Status"]]))
        # cancelled before any money moved back: refunded orders keep their refund status
        cancelled = order["Cancelled at"].notna() & status.isin(["completed", "pending"])
        status = status.where(~cancelled, "cancelled")
        channel = _each(order["Source"], lambda v: CHANNELS.get(v.lower(), v.lower()))

        product_id = _either(f["Lineitem sku"], f["Lineitem name"])
        orders = pd.DataFrame({
            "_line": lines, "order_id": order_id, "customer_id": customer_id, "ordered_at": order["Created at"],
            "currency": currency, "country": _either(order["Shipping Country"], order["Billing Country"]),
            "channel": channel, "status": status, "shipping_amount": order["Shipping"],
            "tax_amount": order["Taxes"], "discount_amount": order_discount,
        })
        order_lines = pd.DataFrame({
            "_line": lines, "order_id": order_id, "line_number": ctx.line_numbers(order_id),
            "product_id": product_id, "quantity": f["Lineitem quantity"], "unit_price": f["Lineitem price"],
            "discount_amount": f["Lineitem discount"], "amount": amount,
        })
        products = pd.DataFrame({
            "_line": lines, "product_id": product_id, "title": f["Lineitem name"], "vendor": f["Vendor"],
            "price": price.astype(object).where(price.notna(), None), "currency": currency,
        })
        tables = {"orders": orders, "order_lines": order_lines, "products": products}
        tables.update(self._order_level(f[first], order[first], order_id[first], customer_id[first], lines[first]))
        return Mapped(
            tables=tables,
            problems=pd.concat(problems, ignore_index=True) if problems else None,
            source_names=SOURCE_NAMES,
        )

    @staticmethod
    def _order_level(f, order, order_id, customer_id, lines) -> dict[str, pd.DataFrame]:
        """Customers, consents and refunds, from each order's first row."""
        known = customer_id.notna()
        billing = [f"Billing {p}" for p in ("Address1", "Street", "City", "Zip", "Province", "Country")]
        has_billing = f[billing].notna().any(axis=1)  # else the shipping address stands in (POS orders)

        def side(part: str) -> pd.Series:
            return f[f"Billing {part}"].where(has_billing, f[f"Shipping {part}"])

        country = order["Billing Country"].where(has_billing, order["Shipping Country"])
        street = [", ".join(p for p in parts if p) or None
                  for parts in zip(_either(side("Address1"), side("Street")), side("Address2"))]
        names = [_split_name(n) for n in _either(f["Billing Name"], f["Shipping Name"])]
        customers = pd.DataFrame({
            "_line": lines, "customer_id": customer_id, "email": _either(order["Email"], f["Email"]),
            "phone": _either(f["Phone"], _either(f["Billing Phone"], f["Shipping Phone"])),
            "first_name": [n[0] for n in names], "last_name": [n[1] for n in names],
            "street_address": pd.Series(street, index=f.index, dtype=object), "city": side("City"),
            "postal_code": side("Zip"), "region": side("Province"), "country": country,
        })[known]
        asked = known & f["Accepts Marketing"].notna()
        consents = pd.DataFrame({
            "_line": lines, "customer_id": customer_id, "purpose": "email", "granted": f["Accepts Marketing"],
            "recorded_at": order["Created at"],
        })[asked]
        refunded = pd.to_numeric(f["Refunded Amount"], errors="coerce")
        has_refund = f["Refunded Amount"].notna() & (refunded.isna() | (refunded > 0))
        refunds = pd.DataFrame({
            "_line": lines, "refund_id": order_id + ":refund", "order_id": order_id, "source_document": f["Name"],
            "customer_id": customer_id, "refunded_at": _either(order["Cancelled at"], order["Created at"]),
            "amount": f["Refunded Amount"], "currency": order["Currency"], "kind": "refund",
        })[has_refund]
        return {"customers": customers, "consents": consents, "refunds": refunds}


_ORDER_NAMES = {"order_id": "Name", "customer_id": "Email", "currency": "Currency", "source_document": "Name"}
SOURCE_NAMES = {
    "orders": _ORDER_NAMES | {
        "ordered_at": "Created at", "country": "Shipping Country", "channel": "Source", "status": "Financial Status",
        "shipping_amount": "Shipping", "tax_amount": "Taxes", "discount_amount": "Discount Amount"},
    "order_lines": _ORDER_NAMES | {
        "product_id": "Lineitem sku", "quantity": "Lineitem quantity", "unit_price": "Lineitem price",
        "discount_amount": "Lineitem discount", "amount": "Lineitem price"},
    "products": _ORDER_NAMES | {"product_id": "Lineitem sku", "title": "Lineitem name", "vendor": "Vendor",
                                "price": "Lineitem price"},
    "customers": _ORDER_NAMES | {
        "email": "Email", "phone": "Phone", "first_name": "Billing Name", "last_name": "Billing Name",
        "street_address": "Billing Address1", "city": "Billing City", "postal_code": "Billing Zip",
        "region": "Billing Province", "country": "Billing Country"},
    "consents": _ORDER_NAMES | {"granted": "Accepts Marketing", "recorded_at": "Created at"},
    "refunds": _ORDER_NAMES | {"refund_id": "Name", "refunded_at": "Cancelled at or Created at",
                              "amount": "Refunded Amount"},
}
