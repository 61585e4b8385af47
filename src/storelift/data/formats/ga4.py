"""Google Analytics 4 BigQuery export (the events_YYYYMMDD tables) as JSON lines or Parquet.

One record per event row, as `bq extract --destination_format NEWLINE_DELIMITED_JSON` (or PARQUET)
writes it; schema: support.google.com/analytics/answer/7029846. GA4's recommended e-commerce events
take their Segment spec names; a product event with several items becomes one event per item;
purchase also writes the order, its lines and products from `items`, and refund a refund. Other
events (session_start, scroll...) keep their GA4 name, so they load only when listed in
[ingest] custom_events and are quarantined, saying so, otherwise. GA4 has no event id: event_id is
a hash of the fields that tell one user's events apart. Times are event_timestamp (UTC).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..readers import read_jsonl, read_parquet
from .base import Adapter, IngestContext, Mapped, problems_frame

# GA4 recommended events (developers.google.com/analytics/devguides/collection/ga4/reference/events)
# to Segment e-commerce spec v2 names.
SEGMENT_NAMES = {
    "view_item": "Product Viewed",
    "add_to_cart": "Product Added",
    "remove_from_cart": "Product Removed",
    "view_cart": "Cart Viewed",
    "begin_checkout": "Checkout Started",
    "add_payment_info": "Payment Info Entered",
    "purchase": "Order Completed",
    "refund": "Order Refunded",
    "view_item_list": "Product List Viewed",
    "select_item": "Product Clicked",
    "view_promotion": "Promotion Viewed",
    "select_promotion": "Promotion Clicked",
    "search": "Products Searched",
    "view_search_results": "Products Searched",
    "add_to_wishlist": "Product Added to Wishlist",
    "page_view": "Page Viewed",
}
# Events about one product: one canonical event per item.
PRODUCT_EVENTS = {"view_item", "add_to_cart", "remove_from_cart", "select_item", "add_to_wishlist"}
PLATFORM_CHANNELS = {"WEB": "web", "IOS": "app", "ANDROID": "app"}
NOT_SET = "(not set)"  # GA4's placeholder for a missing value
SIGNATURE = {"event_name", "event_timestamp"}


def _plain(value):
    """Parquet cells (numpy arrays and scalars, NaN) as the JSON values the JSON export has."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", NOT_SET) else text


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def event_params(event: dict) -> dict:
    """event_params as {key: value}, the value being whichever of its typed fields is set."""
    out = {}
    for param in event.get("event_params") or []:
        if not isinstance(param, dict) or param.get("key") is None:
            continue
        typed = _dict(param.get("value"))
        value = next((typed[k] for k in ("string_value", "int_value", "double_value", "float_value")
                      if typed.get(k) is not None), None)
        if value is not None and typed.get("string_value") is None and typed.get("int_value") is not None:
            value = _whole(value)
        out[param["key"]] = value
    return out


def _whole(value):
    """An INT64 as an int: JSON exports write it as text, Parquet read into pandas may give a float."""
    try:
        return int(value) if not isinstance(value, float) or value.is_integer() else value
    except (TypeError, ValueError):
        return value


def event_id(event: dict, micros: int, session: str | None) -> str:
    """A stable id from the fields that tell one device's events apart (GA4 has no event id).

    The same row gets the same id from JSON (INT64 as text) and Parquet (INT64 as numbers).
    """
    parts = [event.get("user_pseudo_id"), micros, event.get("event_name"), session] + [
        _whole(event.get(k)) for k in ("batch_page_id", "batch_ordering_id", "batch_event_index")]
    text = "\x1f".join("" if p is None else str(p) for p in parts)
    return "ga4_" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _first(*values):
    return next((v for v in values if v is not None), None)


def _item_id(item: dict) -> str | None:
    """GA4 requires an item_id or an item_name; the id when both are set."""
    return _first(_text(item.get("item_id")), _text(item.get("item_name")))


def _category(item: dict) -> str | None:
    levels = [_text(item.get(k)) for k in ("item_category", "item_category2", "item_category3",
                                          "item_category4", "item_category5")]
    return " > ".join(v for v in levels if v) or None


def _amount(quantity, price, revenue):
    if revenue is not None:
        return revenue
    try:
        return float(quantity) * float(price)
    except (TypeError, ValueError):
        return None


class GA4Adapter(Adapter):
    name = "ga4"
    description = "Google Analytics 4 BigQuery export (events_YYYYMMDD) as JSON lines or Parquet"
    fact_tables = ("events",)
    timezone = "UTC"

    def read(self, path: Path, chunk_rows: int, progress=None):
        if Path(path).suffix.lower() == ".parquet":
            return read_parquet(path, chunk_rows, progress)
        return read_jsonl(path, chunk_rows, progress)

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        path = Path(path)
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            names = set(pq.read_schema(path).names)
        else:
            with open(path, "rb") as fh:  # one exported row can be longer than `head`
                first = fh.readline(1 << 20).decode("utf-8-sig", errors="replace")
            try:
                obj = json.loads(first)
            except ValueError:
                return False
            names = set(obj) if isinstance(obj, dict) else set()
        return SIGNATURE <= names and bool(names & {"user_pseudo_id", "event_params"})

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        if "_obj" in frame.columns:
            events = list(frame["_obj"])
        else:
            fields = [c for c in frame.columns if not str(c).startswith("_")]
            events = [_plain(e) for e in frame[fields].to_dict("records")]
        rows: dict[str, list] = {t: [] for t in ("events", "orders", "order_lines", "products", "refunds")}
        problems: list[tuple[int, str]] = []
        for line, event in zip(frame["_line"], events):
            self._event(int(line), event, rows, problems)
        tables = {t: pd.DataFrame(r) for t, r in rows.items() if r}
        return Mapped(tables=tables, problems=problems_frame(*zip(*problems)) if problems else None,
                      source_names={t: SOURCE_NAMES[t] for t in tables})

    @staticmethod
    def _event(line: int, event: dict, rows: dict, problems: list) -> None:
        ga_name = _text(event.get("event_name"))
        if ga_name is None:
            problems.append((line, "'event_name' is empty; each GA4 row names its event"))
            return
        stamp = event.get("event_timestamp")
        try:
            micros = int(stamp)
            occurred_at = pd.Timestamp(micros, unit="us")
        except (TypeError, ValueError, OverflowError):
            problems.append((line, f"'event_timestamp' is {stamp!r}, not microseconds since 1970-01-01 UTC; "
                                   "re-export the table"))
            return
        params = event_params(event)
        ecommerce = _dict(event.get("ecommerce"))
        items = [i for i in (event.get("items") or []) if isinstance(i, dict)]
        user, device = _text(event.get("user_id")), _text(event.get("user_pseudo_id"))
        ga_session = _text(params.get("ga_session_id"))  # an INT64: text in JSON, a number in Parquet
        session = f"{device}:{ga_session}" if device and ga_session else None  # ga_session_id is per user
        base_id = event_id(event, micros, ga_session)
        currency = _text(params.get("currency"))
        order_id = _text(_first(ecommerce.get("transaction_id"), params.get("transaction_id")))
        properties = {k: v for k, v in params.items() if v is not None} | {"ga4_event": ga_name}
        for key, value in (("items", items), ("ecommerce", {k: v for k, v in ecommerce.items() if v is not None}),
                           ("country", _dict(event.get("geo")).get("country")),
                           ("traffic_source", event.get("traffic_source")), ("platform", event.get("platform"))):
            if value:
                properties[key] = value
        if ga_name == "purchase":
            value = _first(ecommerce.get("purchase_revenue"), params.get("value"))
        elif ga_name == "refund":
            value = _first(ecommerce.get("refund_value"), params.get("value"))
        else:
            value = params.get("value")
        common = {
            "_line": line, "event": SEGMENT_NAMES.get(ga_name, ga_name), "customer_id": user,
            "anonymous_id": device, "session_id": session, "occurred_at": occurred_at, "order_id": order_id,
            "query": _text(params.get("search_term")), "value": value, "currency": currency,
            "properties": json.dumps(properties, sort_keys=True, default=str),
        }
        if ga_name in PRODUCT_EVENTS and items:  # value is the item's unit price, as Segment's "price"
            for number, item in enumerate(items, 1):
                rows["events"].append(common | {
                    "event_id": base_id if len(items) == 1 else f"{base_id}:{number}",
                    "product_id": _item_id(item),
                    "value": _first(item.get("price"), value)})
        else:
            rows["events"].append(common | {"event_id": base_id, "product_id": None})

        if ga_name == "purchase":
            if not items:
                problems.append((line, "purchase has no items; GA4 needs items[] to record what was bought, "
                                       "add them to the purchase event"))
                return
            rows["orders"].append({
                "_line": line, "order_id": order_id, "customer_id": user, "anonymous_id": device,
                "ordered_at": occurred_at, "currency": currency,
                "country": _text(_dict(event.get("geo")).get("country")),
                "channel": PLATFORM_CHANNELS.get(str(event.get("platform") or "").upper()), "status": "completed",
                "shipping_amount": _first(ecommerce.get("shipping_value"), params.get("shipping")),
                "tax_amount": _first(ecommerce.get("tax_value"), params.get("tax")), "session_id": session,
            })
            for number, item in enumerate(items, 1):
                product_id = _item_id(item)
                quantity = _first(item.get("quantity"), 1)
                price = item.get("price")
                rows["order_lines"].append({
                    "_line": line, "order_id": order_id, "line_number": number, "product_id": product_id,
                    "quantity": quantity, "unit_price": price,
                    "amount": _amount(quantity, price, item.get("item_revenue")),
                })
                rows["products"].append({
                    "_line": line, "product_id": product_id, "title": _text(item.get("item_name")),
                    "brand": _text(item.get("item_brand")), "category": _category(item), "price": price,
                    "currency": currency,
                })
        elif ga_name == "refund":
            rows["refunds"].append({
                "_line": line, "refund_id": base_id, "order_id": order_id, "source_document": order_id,
                "customer_id": user, "refunded_at": occurred_at, "amount": value, "currency": currency,
                "kind": "refund",
            })


_COMMON = {"customer_id": "user_id", "anonymous_id": "user_pseudo_id", "session_id": "event_params.ga_session_id",
           "order_id": "ecommerce.transaction_id", "currency": "event_params.currency"}
SOURCE_NAMES = {
    "events": _COMMON | {"event_id": "event_timestamp", "event": "event_name", "occurred_at": "event_timestamp",
                         "query": "event_params.search_term", "value": "event_params.value",
                         "product_id": "items.item_id"},
    "orders": _COMMON | {"ordered_at": "event_timestamp", "country": "geo.country",
                         "shipping_amount": "ecommerce.shipping_value", "tax_amount": "ecommerce.tax_value"},
    "order_lines": _COMMON | {"product_id": "items.item_id", "quantity": "items.quantity",
                              "unit_price": "items.price", "amount": "items.item_revenue"},
    "products": _COMMON | {"product_id": "items.item_id", "title": "items.item_name", "brand": "items.item_brand",
                           "category": "items.item_category", "price": "items.price"},
    "refunds": _COMMON | {"refund_id": "event_timestamp", "refunded_at": "event_timestamp",
                          "amount": "ecommerce.refund_value", "source_document": "ecommerce.transaction_id"},
}
