"""generate_store: a whole synthetic store, written block by block with its ground truth.

Customers are generated in blocks of BLOCK_CUSTOMERS, each from its own seeded random stream
(SeedSequence([seed, stream, block])), so memory stays bounded at any size and the same seed
gives byte-identical files. Events use a separate stream, so turning them off changes nothing else;
so does the optional planted bias (bias.py), so a store without it is the same as before it existed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import StoreliftError
from .baskets import draw_lines
from .bias import UNLINKED_SCHEMA, PlantedBias, without_customer
from .calendar import StoreCalendar
from .catalog import build_catalog, catalog_size
from .consents import consents_table, draw_consents
from .customers import draw_customer_block
from .events import EventInputs, EventWriter
from .ground_truth import TRUTH_SCHEMA, TruthTotals, customer_truth_table
from .orders import order_headers, order_lines_table, orders_table, refunds_table
from .purchases import CAMPAIGN, campaign_send_day, plan_campaign, simulate_purchases
from .refunds import draw_refunds
from .text import hex_ids, join, numbered_ids, timestamps
from .touches import channels_truth, draw_touches, touches_table
from .truth import TruthParams, draw_customers, truth_summary
from .writer import FORMATS, FreeParquetSink, TableSink, write_manifest

BLOCK_CUSTOMERS = 50_000
GENERATOR_VERSION = "1"
TABLE_COLUMNS = {
    "customers": ["customer_id", "email", "phone", "first_name", "last_name", "street_address", "city",
                  "postal_code", "region", "country", "created_at", "acquisition_channel", "gender", "birth_year"],
    "products": ["product_id", "title", "description", "category", "brand", "vendor", "price", "cost", "currency",
                 "product_type", "stock_quantity", "created_at"],
    "orders": ["order_id", "customer_id", "ordered_at", "currency", "country", "channel", "status",
               "shipping_amount", "tax_amount", "discount_amount", "session_id"],
    "order_lines": ["order_id", "line_number", "product_id", "quantity", "unit_price", "discount_amount", "amount"],
    "refunds": ["refund_id", "order_id", "customer_id", "refunded_at", "product_id", "quantity", "amount",
                "currency", "kind", "reason"],
    "consents": ["customer_id", "purpose", "granted", "recorded_at"],
    "touches": ["touch_id", "customer_id", "channel", "campaign", "kind", "touched_at", "cost", "currency"],
}


class SynthError(StoreliftError):
    """The synthetic store's settings are unusable."""

    exit_code = 2


def _check(customers: int, start: str, end: str, file_format: str) -> tuple[date, date]:
    if customers < 1:
        raise SynthError(f"customers={customers}: pass a positive number of customers, e.g. --customers 10000")
    if file_format not in FORMATS:
        raise SynthError(f"file_format={file_format!r}: use one of {', '.join(FORMATS)}")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError as exc:
        raise SynthError(f"start={start!r}, end={end!r}: dates must look like 2023-01-01 ({exc})") from None
    if (last - first).days < 60:
        raise SynthError(f"start={start}, end={end}: the window must span at least 60 days so the campaign fits")
    return first, last


def _rng(seed: int, stream: int, block: int = 0) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, stream, block]))


def generate_store(out_dir: Path, customers: int = 10_000, seed: int = 0, start: str = "2023-01-01",
                   end: str = "2024-12-31", events: bool = True, file_format: str = "parquet",
                   progress: Callable[[str, int, int], None] | None = None,
                   planted_bias: PlantedBias | None = None) -> pd.DataFrame:
    """Write a synthetic store (canonical tables, events.jsonl, ground_truth/) and return its manifest.

    planted_bias: under-record one protected group's orders (see bias.py); None plants nothing."""
    first, last = _check(customers, start, end, file_format)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, done, total: None)
    params = TruthParams()
    cal = StoreCalendar(first, last)
    to_ts = lambda days: timestamps(cal.epoch_seconds(days))  # noqa: E731

    catalog = build_catalog(_rng(seed, 0), catalog_size(customers), first, params)
    sinks = {name: TableSink(out_dir, name, cols, file_format) for name, cols in TABLE_COLUMNS.items()}
    sinks["products"].write(catalog.table)
    truth_sink = FreeParquetSink(out_dir / "ground_truth" / "customers.parquet", TRUTH_SCHEMA)
    unlinked_sink = (FreeParquetSink(out_dir / "ground_truth" / "unlinked_orders.parquet", UNLINKED_SCHEMA)
                     if planted_bias is not None else None)
    bias_counts = np.zeros(3, dtype=np.int64)  # customers in the group, their orders, orders unlinked
    events_path = out_dir / "events.jsonl"
    events_fh = open(events_path, "wb") if events else None
    report("catalog", 1, 1)

    totals = TruthTotals()
    width = max(7, len(str(customers)))
    next_order, next_refund, next_touch, event_rows = 1, 1, 1, 0
    send_day = campaign_send_day(cal, params)
    try:
        for block, lo in enumerate(range(0, customers, BLOCK_CUSTOMERS)):
            n = min(BLOCK_CUSTOMERS, customers - lo)
            rng = _rng(seed, 1, block)
            draws = draw_customers(rng, n, cal, params)
            created_s = cal.epoch_seconds(draws.created_day)
            cust = draw_customer_block(rng, lo + 1, width, timestamps(created_s), first.year)
            consents = draw_consents(rng, draws.created_day, cal.n_days, params)
            campaign = plan_campaign(rng, cal, params, draws.created_day,
                                     consents.in_force("email", send_day, n))
            purchases = simulate_purchases(rng, cal, draws, campaign, params)
            lines = draw_lines(rng, cal, catalog, draws, purchases.customer, purchases.day, params)
            refunds = draw_refunds(rng, lines, purchases.day, cal.n_days)
            headers = order_headers(rng, lines, purchases.customer, purchases.kind, cust.country,
                                    cust.app_propensity, params)
            n_orders = len(purchases.customer)
            order_ids = numbered_ids("O", np.arange(next_order, next_order + n_orders), 10)
            session_ids = hex_ids(rng, n_orders, 16)
            order_s = cal.epoch_seconds(purchases.day)
            campaign_order_day = np.full(n, np.nan)
            is_campaign = purchases.kind == CAMPAIGN
            campaign_order_day[purchases.customer[is_campaign]] = purchases.day[is_campaign]
            touches, email = draw_touches(rng, cal, params, draws.created_day, cust.channel,
                                          consents.granted_at_signup("email", n), purchases.customer,
                                          purchases.day, purchases.kind, campaign, campaign_order_day)

            orders = orders_table(order_ids, cust.ids, purchases.customer, timestamps(order_s), cust.country_codes,
                                  headers, refunds.order_status, session_ids, params.currency)
            refund_rows = refunds_table(refunds, next_refund, lines, order_ids,
                                        cust.ids.take(pa.array(purchases.customer)), catalog.ids,
                                        to_ts(refunds.day), params.currency)
            if planted_bias is not None:
                is_in_group = planted_bias.in_group(cust.table, first.year)
                unlinked = planted_bias.unlinked_orders(_rng(seed, 3, block), is_in_group, purchases.customer)
                orders = without_customer(orders, unlinked)
                refund_rows = without_customer(refund_rows, unlinked[lines.order[refunds.line]])
                unlinked_sink.write(pa.table({"order_id": order_ids.filter(pa.array(unlinked)),
                                              "customer_id": cust.ids.take(pa.array(purchases.customer[unlinked]))}))
                bias_counts += [is_in_group.sum(), is_in_group[purchases.customer].sum(), unlinked.sum()]
            sinks["customers"].write(cust.table)
            sinks["consents"].write(consents_table(consents, cust.ids, to_ts))
            sinks["orders"].write(orders)
            sinks["order_lines"].write(order_lines_table(lines, order_ids, catalog.ids))
            sinks["refunds"].write(refund_rows)
            sinks["touches"].write(touches_table(touches, next_touch, cust.ids, to_ts(touches.day),
                                                 params.currency))
            dropout_s = cal.epoch_seconds(np.nan_to_num(purchases.dropout_day))
            truth_sink.write(customer_truth_table(cust.ids, draws, purchases, campaign, dropout_s))
            totals.add(draws, purchases, campaign)
            next_order += n_orders
            next_refund += len(refunds.line)
            next_touch += len(touches.customer)

            if events_fh is not None:
                email_s = tuple(np.where(np.isnan(d), -1, cal.epoch_seconds(np.nan_to_num(d)))
                                for d in (email.send_day, email.open_day, email.click_day))
                inputs = EventInputs(join('"', cust.ids, '"'), cust.anonymous_ids, created_s, draws,
                                     purchases.customer, order_s, order_ids, session_ids, headers, lines, email,
                                     email_s)
                event_rows += EventWriter(_rng(seed, 2, block), inputs, catalog, params).write(events_fh)
            report("customers", lo + n, customers)
    finally:
        for sink in (*sinks.values(), truth_sink, *([unlinked_sink] if unlinked_sink else [])):
            sink.close()
        if events_fh is not None:
            events_fh.close()

    entries = [{"file": s.path.name, "table": name, "format": file_format, "rows": s.rows}
               for name, s in sinks.items()]
    if events:
        entries.append({"file": events_path.name, "table": "events", "format": "jsonl", "rows": event_rows})
    truth = truth_summary(params, cal)
    truth["channels"] = channels_truth()
    truth["campaign"] = {
        "name": params.campaign_name, "channel": "email",
        "sent_at": pd.Timestamp(int(cal.epoch_seconds(np.array([send_day]))[0]), unit="s").isoformat() + "Z",
        "window_days": params.campaign_window_days, "treatment_share": params.campaign_treatment_share,
        "eligibility": "acquired at least a day before the send, with e-mail consent in force on the send day",
        "effect": "each treated customer alive at the send places one extra order in the window with "
                  "probability tau = segment uplift * Gamma(k, 1/k) noise",
        "uplift_by_segment": {s["name"]: s["campaign_uplift"] for s in truth["segments"]},
    }
    truth["realized"] = totals.as_dict()
    if planted_bias is not None:
        truth["planted_bias"] = planted_bias.summary(*(int(c) for c in bias_counts))
    truth_path = out_dir / "ground_truth" / "truth.json"
    truth_path.write_text(json.dumps(truth, indent=2, default=str) + "\n")
    entries.append({"file": "ground_truth/customers.parquet", "table": "ground_truth", "format": "parquet",
                    "rows": truth_sink.rows})
    entries.append({"file": "ground_truth/truth.json", "table": "ground_truth_params", "format": "json", "rows": 1})
    settings = {"generator": "storelift.synth", "generator_version": GENERATOR_VERSION, "seed": seed,
                "customers": customers, "start": start, "end": end, "events": events, "file_format": file_format}
    if planted_bias is not None:
        entries.append({"file": "ground_truth/unlinked_orders.parquet", "table": "ground_truth_unlinked_orders",
                        "format": "parquet", "rows": unlinked_sink.rows})
        settings["planted_bias"] = {k: v for k, v in planted_bias.summary(0, 0, 0).items()
                                    if k in ("group", "attribute", "unlinked_share")}
    return write_manifest(out_dir, entries, settings)
