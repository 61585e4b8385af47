"""Data audit checks: pure functions over canonical Ibis tables that return check rows.

Every check is an Ibis expression, so it runs on DuckDB, Spark or Postgres alike; only small
aggregates (one row per table, or a few rows per month or currency) reach pandas.

Each function takes ``tables`` (canonical table name -> ibis.Table; absent names mean "not
loaded") and returns a DataFrame with the columns in ``CHECK_COLUMNS``:

- area: completeness, consistency, timeliness, duplicates, orphans, consent, pii or volume
- table: the canonical table checked (``store`` for checks across tables)
- check: a stable name, e.g. ``null_share:customer_id`` or ``orphan_lines``
- status: pass, warn, fail or n/a (nothing to check)
- value: the number behind the status (a share, a count or days)
- detail: a sentence a person understands, with the fix when the status is not pass
"""

from __future__ import annotations

import ibis
import pandas as pd

from ..schema import TABLES
from .common import (  # noqa: F401  (re-exported: the check-row format and helpers)
    AREAS, CHECK_COLUMNS, STATUSES, TableSet, Tables, as_timestamp, check_row, frame, grade, loaded,
    nan_as_null, not_loaded, one_row, pct, timestamp_literal,
)
from .coverage import (  # noqa: F401  (re-exported: one module lists every check)
    TIME_COLUMNS, consent_checks, latest_consents, missing_months, monthly_orders, pii_checks,
    timeliness_checks, volume_checks,
)

# Optional columns that capabilities lean on: (table, column, warn above, fail above or None, why it matters).
IMPORTANT_COLUMNS = [
    ("orders", "customer_id", 0.5, 0.95,
     "guest orders cannot be tied to a customer, so RFM, CLV, churn and personal recommendations skip them; "
     "export the customer id (or e-mail) with each order"),
    ("order_lines", "unit_price", 0.05, 0.5, "revenue, AOV and price elasticity need unit prices; export the price column"),
    ("order_lines", "amount", 0.05, 0.5, "revenue and CLV need line amounts; export prices or line totals"),
    ("products", "title", 0.05, 0.5, "search, recommendation explanations and content need titles; export the product name"),
    ("products", "category", 0.2, None, "category recommendations, forecasts and reports need categories; export the category path"),
    ("products", "description", 0.5, None, "semantic search and content generation read descriptions; export the long description"),
    ("products", "price", 0.2, None, "pricing and catalogue reports need list prices; export the price column"),
    ("products", "cost", 0.5, None, "margins and profit-based ROI need unit costs; export cost or set a default margin"),
    ("customers", "email", 0.2, None, "e-mail campaigns and identity matching need the e-mail (pseudonymized); export it"),
    ("customers", "country", 0.5, None, "geographic segments and fairness audits need the country; export it"),
    ("customers", "created_at", 0.5, None, "cohorts need sign-up dates; export the customer creation time"),
    ("events", "occurred_at", 0.05, 0.5, "sessions, sequences and timeliness need event times; send the timestamp"),
    ("events", "customer_id", 0.8, None, "events without a customer id only feed anonymous models; send userId after login"),
    ("touches", "cost", 0.5, None, "attribution ROI needs the cost of each touch; export spend per send or click"),
    ("touches", "campaign", 0.5, None, "campaign-level attribution needs campaign names; export them"),
]


# -- completeness ---------------------------------------------------------------------------
def completeness_checks(tables: Tables) -> pd.DataFrame:
    """Null share of every required column and of the optional columns capabilities rely on."""
    tables = TableSet.of(tables)
    important: dict[str, list[tuple]] = {}
    for table, column, warn, fail, why in IMPORTANT_COLUMNS:
        important.setdefault(table, []).append((column, warn, fail, why))
    rows = []
    for name, spec in TABLES.items():
        t = loaded(tables, name)
        if spec.system or t is None:
            continue
        required = [c.name for c in spec.columns if c.required]
        optional = [c for c in important.get(name, []) if c[0] not in required]
        columns = required + [c[0] for c in optional]
        agg = one_row(t.aggregate(_n=t.count(), **{f"nn_{c}": t[c].count() for c in columns}))
        n = int(agg["_n"] or 0)
        if n == 0:
            continue
        for column in required:
            missing = n - int(agg[f"nn_{column}"] or 0)
            share = missing / n
            if missing:
                detail = (f"{missing} of {n} rows ({pct(share)}) have no {column}, which is required; "
                          "re-ingest through `storelift ingest`, which quarantines such rows")
            else:
                detail = f"every row has {column}"
            rows.append(check_row("completeness", name, f"null_share:{column}", "fail" if missing else "pass", share, detail))
        for column, warn, fail, why in optional:
            missing = n - int(agg[f"nn_{column}"] or 0)
            share = missing / n
            status = grade(share, warn, fail)
            label = "guest orders (no customer_id)" if (name, column) == ("orders", "customer_id") else f"rows without {column}"
            detail = f"{missing} of {n} {label}: {pct(share)}"
            detail += f"; {why}" if status != "pass" else ""
            rows.append(check_row("completeness", name, f"null_share:{column}", status, share, detail))
    return frame(rows)


# -- consistency ----------------------------------------------------------------------------
def consistency_checks(tables: Tables, as_of: pd.Timestamp, *, tolerance: float = 0.01) -> pd.DataFrame:
    """Amounts that do not add up, orders without lines, bad prices, over-refunds, mixed currencies,
    and times in the future."""
    tables = TableSet.of(tables)
    rows = []
    orders, lines = loaded(tables, "orders"), loaded(tables, "order_lines")
    refunds, products = loaded(tables, "refunds"), loaded(tables, "products")

    if tables.rows("order_lines"):
        ol = lines
        expected = ol.quantity * ol.unit_price - ol.discount_amount.fill_null(0)
        checked = ol.amount.notnull() & ol.quantity.notnull() & ol.unit_price.notnull()
        bad = checked & ((ol.amount - expected).abs() > tolerance)
        agg = one_row(ol.aggregate(checked=ol.count(where=checked), bad=ol.count(where=bad)))
        n_checked, n_bad = int(agg["checked"] or 0), int(agg["bad"] or 0)
        if n_checked == 0:
            rows.append(check_row("consistency", "order_lines", "amount_mismatch", "n/a", None,
                                  "no line has quantity, unit_price and amount together, so amounts cannot be checked"))
        else:
            share = n_bad / n_checked
            status = "pass" if n_bad == 0 else ("fail" if share > 0.05 else "warn")
            detail = f"{n_bad} of {n_checked} lines ({pct(share)}) differ from quantity * unit_price - discount_amount"
            if n_bad:
                detail += (" by more than " + f"{tolerance:g}; check whether the export's amount includes tax, "
                           "shipping or order-level discounts and map the net line total to amount")
            rows.append(check_row("consistency", "order_lines", "amount_mismatch", status, share, detail))
    else:
        rows.append(not_loaded("consistency", "order_lines", "amount_mismatch", "load order lines to check amounts"))

    n_orders = tables.rows("orders")
    if n_orders and lines is not None:
        lonely = orders.anti_join(lines, "order_id")
        n_lonely = int(lonely.count().execute())
        share = n_lonely / n_orders
        status = "pass" if n_lonely == 0 else ("fail" if share > 0.5 else "warn")
        detail = f"{n_lonely} of {n_orders} orders ({pct(share)}) have no order lines"
        if n_lonely:
            example = lonely.select("order_id").order_by("order_id").limit(3).execute()["order_id"].tolist()
            detail += (f" (e.g. {', '.join(map(str, example))}); load the order-lines export for the same period, "
                       "or these orders count as zero revenue")
        rows.append(check_row("consistency", "orders", "orders_without_lines", status, share, detail))
    elif n_orders == 0:
        rows.append(not_loaded("consistency", "orders", "orders_without_lines", "load orders to check them"))

    for name, column in (("order_lines", "unit_price"), ("products", "price")):
        t = loaded(tables, name)
        if not tables.rows(name):
            continue
        agg = one_row(t.aggregate(priced=t[column].count(), negative=t.count(where=t[column] < 0),
                                  zero=t.count(where=t[column] == 0)))
        priced, negative, zero = int(agg["priced"] or 0), int(agg["negative"] or 0), int(agg["zero"] or 0)
        if priced == 0:
            rows.append(check_row("consistency", name, f"nonpositive_price:{column}", "n/a", None,
                                  f"no {column} values to check"))
            continue
        status = "fail" if negative else ("warn" if zero else "pass")
        detail = f"{negative} negative and {zero} zero {column} values among {priced}"
        if negative:
            detail += "; negative prices are returns or adjustments: load them as refunds instead"
        elif zero:
            detail += "; zero prices are free items or missing prices: set product_type to fee/adjustment or fix the price"
        rows.append(check_row("consistency", name, f"nonpositive_price:{column}", status, (negative + zero) / priced, detail))

    if tables.rows("refunds") and n_orders and lines is not None:
        rows.append(_refunds_exceeding_orders(orders, lines, refunds))

    rows.append(_mixed_currencies(tables))

    for name, column in TIME_COLUMNS.items():
        t = loaded(tables, name)
        if not tables.rows(name):
            continue
        future = int(t.count(where=t[column] > timestamp_literal(as_of)).execute())
        detail = f"{future} {name} rows have {column} after {as_of:%Y-%m-%d %H:%M} (the audit time)"
        if future:
            detail += "; check the source time zone ([ingest] source_timezone) and the date format (day/month order)"
        rows.append(check_row("consistency", name, "future_timestamps", "warn" if future else "pass", future, detail))
    return frame(rows)


def _refunds_exceeding_orders(orders: ibis.Table, lines: ibis.Table, refunds: ibis.Table) -> dict:
    line_revenue = lines.group_by("order_id").aggregate(lines_amount=lines.amount.sum())
    joined = orders.inner_join(line_revenue, orders.order_id == line_revenue.order_id)
    revenue = joined.select(
        order_id=orders.order_id,
        revenue=line_revenue.lines_amount + orders.shipping_amount.fill_null(0) + orders.tax_amount.fill_null(0),
    ).filter(lambda t: t.revenue.notnull())
    refunded = (refunds.filter(refunds.order_id.notnull() & refunds.amount.notnull())
                .group_by("order_id").aggregate(refunded=refunds.amount.sum()))
    both = refunded.inner_join(revenue, refunded.order_id == revenue.order_id).select(
        order_id=refunded.order_id, refunded=refunded.refunded, revenue=revenue.revenue)
    over = both.filter(both.refunded > both.revenue + 0.01)
    agg = one_row(both.aggregate(n=both.count(), over=both.count(where=both.refunded > both.revenue + 0.01)))
    n, n_over = int(agg["n"] or 0), int(agg["over"] or 0)
    if n == 0:
        return check_row("consistency", "refunds", "refund_exceeds_order", "n/a", None,
                         "no refund is linked to an order with known revenue, so refund amounts cannot be compared")
    detail = f"{n_over} of {n} refunded orders got back more than their revenue (lines + shipping + tax)"
    if n_over:
        example = over.select("order_id").order_by("order_id").limit(3).execute()["order_id"].tolist()
        detail += (f" (e.g. {', '.join(map(str, example))}); check for refunds loaded twice or refunds "
                   "linked to the wrong order")
    return check_row("consistency", "refunds", "refund_exceeds_order", "warn" if n_over else "pass", n_over, detail)


def _mixed_currencies(tables: Tables) -> dict:
    shares: dict[str, list[str]] = {}
    currencies: set[str] = set()
    for name in ("orders", "refunds", "products"):
        t = loaded(tables, name)
        if t is None:
            continue
        priced = t.filter(t.currency.notnull())
        counts = priced.group_by("currency").aggregate(n=priced.count()).order_by(ibis.desc("n")).execute()
        if counts.empty:
            continue
        total = counts["n"].sum()
        currencies.update(counts["currency"].astype(str))
        shares[name] = [f"{c} {pct(n / total)}" for c, n in zip(counts["currency"], counts["n"])][:5]
    if not currencies:
        return check_row("consistency", "store", "mixed_currencies", "n/a", None, "no currency values loaded yet")
    listing = "; ".join(f"{name}: {', '.join(v)}" for name, v in shares.items())
    if len(currencies) == 1:
        return check_row("consistency", "store", "mixed_currencies", "pass", 1, f"one currency ({listing})")
    return check_row("consistency", "store", "mixed_currencies", "warn", len(currencies),
                     f"{len(currencies)} currencies ({listing}); revenue, CLV and prices are summed without conversion, "
                     "so convert amounts to one currency at ingest or audit each currency's store separately")


# -- duplicates -----------------------------------------------------------------------------
def duplicate_checks(tables: Tables) -> pd.DataFrame:
    """Repeated natural keys, order lines repeated with the same content, customers sharing an e-mail."""
    tables = TableSet.of(tables)
    rows = []
    for name, spec in TABLES.items():
        t = loaded(tables, name)
        if spec.system or t is None:
            continue
        n = tables.rows(name)
        if n == 0:
            continue
        distinct = int(t.select(*spec.key).distinct().count().execute())
        extra = n - distinct
        detail = f"{extra} of {n} rows repeat a natural key ({', '.join(spec.key)}) already present"
        if extra:
            detail += "; the table was appended to outside `storelift ingest`: deduplicate it or reload it"
        rows.append(check_row("duplicates", name, "duplicate_keys", "fail" if extra else "pass", extra, detail))

    lines = loaded(tables, "order_lines")
    if tables.rows("order_lines"):
        content = ["order_id", "product_id", "quantity", "unit_price"]
        groups = lines.group_by(content).aggregate(n=lines.count())
        repeated = groups.filter(groups.n > 1)
        agg = one_row(repeated.aggregate(groups=repeated.count(), extra=(repeated.n - 1).sum()))
        extra = int(agg["extra"] or 0)
        detail = (f"{extra} order lines repeat another line of the same order with the same product, quantity "
                  "and unit price")
        if extra:
            # group_by, not distinct: PySpark compiles distinct + order_by + limit with repeats
            orders = repeated.group_by("order_id").aggregate(k=repeated.count())
            first = orders.order_by("order_id").limit(3).execute()
            detail += (f" (e.g. in order {', '.join(first['order_id'].astype(str))}); if the export lists each line once, the "
                       "file was loaded twice under new line numbers: reload it; if the store really splits "
                       "lines, ignore this")
        rows.append(check_row("duplicates", "order_lines", "duplicate_lines", "warn" if extra else "pass", extra, detail))

    customers = loaded(tables, "customers")
    if tables.rows("customers"):
        with_email = customers.filter(customers.email.notnull())
        groups = with_email.group_by("email").aggregate(n=with_email.count())
        repeated = groups.filter(groups.n > 1)
        agg = one_row(repeated.aggregate(groups=repeated.count(), extra=(repeated.n - 1).sum()))
        extra, n_groups = int(agg["extra"] or 0), int(agg["groups"] or 0)
        detail = f"{extra} customers share an e-mail (pseudonym) with another customer ({n_groups} e-mails)"
        if extra:
            detail += ("; one person with several accounts splits their history, so RFM and CLV undercount: "
                       "merge accounts by e-mail or export the store's merged customer id")
        rows.append(check_row("duplicates", "customers", "duplicate_emails", "warn" if extra else "pass", extra, detail))
    return frame(rows)


# -- orphans --------------------------------------------------------------------------------
def _orphans(child: ibis.Table, parent: ibis.Table, key: str) -> tuple[int, int, str]:
    """(rows of `child` with a non-null `key`, those whose key is not in `parent`, a few such keys)."""
    keyed = child.filter(child[key].notnull()).select(_key=child[key])
    parents = parent.select(_parent=parent[key]).distinct()
    joined = keyed.left_join(parents, keyed._key == parents._parent)
    agg = one_row(joined.aggregate(n=joined.count(), missing=joined.count(where=joined._parent.isnull())))
    n, missing = int(agg["n"] or 0), int(agg["missing"] or 0)
    examples = ""
    if missing:
        first = joined.filter(joined._parent.isnull()).select("_key").distinct().order_by("_key").limit(3)
        examples = f" (e.g. {', '.join(first.execute()['_key'].astype(str))})"
    return n, missing, examples


def orphan_checks(tables: Tables) -> pd.DataFrame:
    """Rows that point at an order, customer or product the warehouse does not have."""
    tables = TableSet.of(tables)
    rows = []
    orders, lines = loaded(tables, "orders"), loaded(tables, "order_lines")
    customers, products = loaded(tables, "customers"), loaded(tables, "products")
    events, refunds = loaded(tables, "events"), loaded(tables, "refunds")

    if tables.rows("order_lines"):
        if tables.rows("orders"):
            n, missing, examples = _orphans(lines, orders, "order_id")
            share = missing / n if n else 0.0
            detail = f"{missing} of {n} order lines ({pct(share)}) belong to an order that is not in orders{examples}"
            if missing:
                detail += "; load the orders export covering the same dates, or these lines have no time or customer"
            status = "pass" if missing == 0 else ("fail" if share > 0.05 else "warn")
            rows.append(check_row("orphans", "order_lines", "orphan_lines", status, share, detail))
        else:
            rows.append(check_row("orphans", "order_lines", "orphan_lines", "fail", 1.0,
                                  "order lines are loaded but orders are not; load the orders export"))

    if tables.rows("orders"):
        if tables.rows("customers"):
            n, missing, examples = _orphans(orders, customers, "customer_id")
            share = missing / n if n else 0.0
            detail = (f"{missing} of {n} orders with a customer id ({pct(share)}) name a customer not in "
                      f"customers{examples}")
            if missing:
                detail += "; load the full customer export (guests are not counted here)"
            rows.append(check_row("orphans", "orders", "orphan_customers", "warn" if missing else "pass", share, detail))
        else:
            rows.append(not_loaded("orphans", "customers", "orphan_customers",
                                   "load customers to check that orders point at known customers"))

    for name, t in (("order_lines", lines), ("events", events)):
        if not tables.rows(name):
            continue
        if not tables.rows("products"):
            rows.append(not_loaded("orphans", "products", "orphan_products",
                                   f"load products to check the products named in {name}"))
            continue
        n, missing, examples = _orphans(t, products, "product_id")
        share = missing / n if n else 0.0
        detail = (f"{missing} of {n} {name} rows with a product id ({pct(share)}) name a product not in "
                  f"products{examples}")
        if missing:
            detail += ("; load the full catalogue, including archived products, so recommendations, search and "
                       "content can describe them")
        rows.append(check_row("orphans", name, "orphan_products", "warn" if missing else "pass", share, detail))

    n_refunds = tables.rows("refunds")
    if n_refunds:
        unlinked = int(refunds.count(where=refunds.order_id.isnull()).execute())
        dangling = _orphans(refunds, orders, "order_id")[1] if orders is not None else 0
        share = (unlinked + dangling) / n_refunds
        detail = (f"{unlinked} of {n_refunds} refunds ({pct(unlinked / n_refunds)}) have no order_id and "
                  f"{dangling} name an order not in orders")
        status = "warn" if share > 0.05 else "pass"
        if status != "pass":
            detail += ("; unlinked refunds lower net revenue only store-wide, not per customer or product: export "
                       "the original order number with each refund")
        rows.append(check_row("orphans", "refunds", "unlinked_refunds", status, share, detail))
    return frame(rows)


# -- all --------------------------------------------------------------------------------------
def run_checks(tables: Tables, *, as_of=None, keep_raw_pii: bool = False, stale_after_days: int = 30) -> pd.DataFrame:
    """Every check above, in area order."""
    tables = TableSet.of(tables)
    tables.count_all()
    as_of = as_timestamp(as_of)
    parts = [
        completeness_checks(tables),
        consistency_checks(tables, as_of),
        timeliness_checks(tables, as_of, stale_after_days=stale_after_days),
        duplicate_checks(tables),
        orphan_checks(tables),
        consent_checks(tables),
        pii_checks(tables, keep_raw_pii=keep_raw_pii),
        volume_checks(tables),
    ]
    return frame([row for part in parts for row in part.to_dict("records")])

