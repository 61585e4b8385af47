"""Segment spec messages as JSON lines (track, page and identify calls).

Track events keep their e-commerce spec names; "Order Completed" also writes the order and its
lines from `properties.products`, and "Order Refunded" a refund. Identify calls write the
customer's traits (PII pseudonymized at ingest).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..readers import read_jsonl
from .base import Adapter, IngestContext, Mapped, problems_frame

VALUE_KEYS = ("revenue", "total", "value", "price")


def _get(d, *path):
    for p in path:
        if not isinstance(d, dict):
            return None
        d = d.get(p)
    return d


class SegmentAdapter(Adapter):
    name = "segment"
    description = "Segment spec e-commerce events as JSON lines (track, page, identify)"
    fact_tables = ("events", "customers")

    def read(self, path: Path, chunk_rows: int, progress=None):
        return read_jsonl(path, chunk_rows, progress)

    @classmethod
    def sniff(cls, path: Path, head: str) -> bool:
        first = head.lstrip("\ufeff").splitlines()[0] if head.strip() else ""
        try:
            obj = json.loads(first)
        except ValueError:
            return False
        return isinstance(obj, dict) and ("messageId" in obj or "event" in obj) and "event_name" not in obj

    def map(self, frame: pd.DataFrame, ctx: IngestContext) -> Mapped:
        events, orders, lines, products, refunds, customers, problems = [], [], [], [], [], [], []
        for line, msg in zip(frame["_line"], frame["_obj"]):
            kind = str(msg.get("type") or "track").lower()
            props = msg.get("properties") if isinstance(msg.get("properties"), dict) else {}
            user = msg.get("userId")
            when = msg.get("timestamp") or msg.get("originalTimestamp") or msg.get("sentAt")
            if kind == "identify":
                traits = msg.get("traits") if isinstance(msg.get("traits"), dict) else {}
                if user in (None, ""):
                    problems.append((line, "identify call has no userId; add the customer's id"))
                    continue
                address = traits.get("address") if isinstance(traits.get("address"), dict) else {}
                customers.append({
                    "_line": line, "customer_id": user, "email": traits.get("email"), "phone": traits.get("phone"),
                    "first_name": traits.get("firstName") or traits.get("first_name"),
                    "last_name": traits.get("lastName") or traits.get("last_name"),
                    "street_address": address.get("street"), "city": address.get("city"),
                    "postal_code": address.get("postalCode"), "region": address.get("state"),
                    "country": address.get("country"), "created_at": traits.get("createdAt"),
                    "gender": traits.get("gender"), "birth_year": traits.get("birthYear"),
                })
                continue
            name = "Page Viewed" if kind == "page" else msg.get("event")
            if kind not in ("track", "page"):
                problems.append((line, f"message type {kind!r} is not read; send track, page or identify calls"))
                continue
            value = next((props.get(k) for k in VALUE_KEYS if props.get(k) is not None), None)
            events.append({
                "_line": line, "event_id": msg.get("messageId"), "event": name, "customer_id": user,
                "anonymous_id": msg.get("anonymousId"),
                "session_id": _get(msg, "context", "sessionId") or props.get("session_id"),
                "occurred_at": when, "product_id": props.get("product_id"), "order_id": props.get("order_id"),
                "query": props.get("query"), "value": value, "currency": props.get("currency"),
                "decision_id": props.get("decision_id") or props.get("recommendation_id"),
                "properties": json.dumps(props, sort_keys=True, default=str),
            })
            if name == "Order Completed":
                self._order(line, msg, props, user, when, orders, lines, products, problems)
            elif name == "Order Refunded":
                refunds.append({
                    "_line": line, "refund_id": msg.get("messageId"), "order_id": props.get("order_id"),
                    "customer_id": user, "refunded_at": when, "amount": props.get("total") or props.get("revenue"),
                    "currency": props.get("currency") or "USD", "kind": "refund",
                })
        tables = {}
        for table, rows in (("events", events), ("orders", orders), ("order_lines", lines),
                            ("products", products), ("refunds", refunds), ("customers", customers)):
            if rows:
                tables[table] = pd.DataFrame(rows)
        names = {"event_id": "messageId", "customer_id": "userId", "anonymous_id": "anonymousId",
                 "occurred_at": "timestamp", "ordered_at": "timestamp", "refunded_at": "timestamp"}
        return Mapped(tables=tables, problems=problems_frame(*zip(*problems)) if problems else None,
                      source_names={t: names for t in tables})

    @staticmethod
    def _order(line, msg, props, user, when, orders, lines, products, problems):
        order_id = props.get("order_id")
        if order_id in (None, ""):
            problems.append((line, "Order Completed has no properties.order_id; add the order's id"))
            return
        orders.append({
            "_line": line, "order_id": order_id, "customer_id": user, "anonymous_id": msg.get("anonymousId"),
            "ordered_at": when, "currency": props.get("currency") or "USD", "status": "completed",
            "shipping_amount": props.get("shipping"), "tax_amount": props.get("tax"),
            "discount_amount": props.get("discount"), "session_id": _get(msg, "context", "sessionId"),
            "decision_id": props.get("decision_id"),
        })
        items = props.get("products") if isinstance(props.get("products"), list) else []
        if not items:
            problems.append((line, "Order Completed has no properties.products; list the items bought"))
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict):
                problems.append((line, f"properties.products[{number - 1}] is not an object"))
                continue
            qty = item.get("quantity", 1)
            price = item.get("price")
            try:
                amount = float(qty) * float(price) if price is not None else None
            except (TypeError, ValueError):
                amount = None
            lines.append({"_line": line, "order_id": order_id, "line_number": number,
                          "product_id": item.get("product_id") or item.get("sku"), "quantity": qty,
                          "unit_price": price, "discount_amount": 0.0, "amount": amount})
            products.append({"_line": line, "product_id": item.get("product_id") or item.get("sku"),
                             "title": item.get("name"), "category": item.get("category"),
                             "brand": item.get("brand"), "price": price, "currency": props.get("currency") or "USD"})
