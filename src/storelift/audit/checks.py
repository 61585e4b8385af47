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

import datetime as dt
from collections.abc import Mapping

import ibis
import pandas as pd

from ..data.pii import EMAIL_RE, PREFIX
from ..schema import CONSENT_PURPOSES, TABLES

CHECK_COLUMNS = ["area", "table", "check", "status", "value", "detail"]
STATUSES = ("pass", "warn", "fail", "n/a")
AREAS = ("completeness", "consistency", "timeliness", "duplicates", "orphans", "consent", "pii", "volume")

Tables = Mapping[str, ibis.Table]

# Fact tables and their time column.
TIME_COLUMNS = {"orders": "ordered_at", "events": "occurred_at", "refunds": "refunded_at", "touches": "touched_at"}

# Optional columns that capabilities lean on: (table, column, warn above, fail above or None, why it matters).
IMPORTANT_COLUMNS = [
    ("orders", "customer_id", 0.5, 0.95,
     "guest orders cannot be tied to a customer, so RFM, CLV, churn and personal recommendations skip them; "
     "export the customer id (or e-mail) with each order"),
    ("order_lines", "unit_price", 0.05, 0.5, "revenue, AOV and price elasticity need unit prices; export the price column"),
    ("order_lines", "amount", 0.05, 0.5, "revenue and CLV need line amounts; export prices or line totals"),
    ("products", "title", 0.05, 0.5, "search, recommendation explanations and content need titles; export the product name"),
    ("products", "category", 0.2, 0.8, "category recommendations, forecasts and reports need categories; export the category path"),
    ("products", "description", 0.5, None, "semantic search and content generation read descriptions; export the long description"),
    ("products", "price", 0.2, 0.8, "pricing and catalogue reports need list prices; export the price column"),
    ("products", "cost", 0.5, None, "margins and profit-based ROI need unit costs; export cost or set a default margin"),
    ("customers", "email", 0.2, 0.8, "e-mail campaigns and identity matching need the e-mail (pseudonymized); export it"),
    ("customers", "country", 0.5, None, "geographic segments and fairness audits need the country; export it"),
    ("customers", "created_at", 0.5, None, "cohorts need sign-up dates; export the customer creation time"),
    ("events", "occurred_at", 0.05, 0.5, "sessions, sequences and timeliness need event times; send the timestamp"),
    ("events", "customer_id", 0.8, None, "events without a customer id only feed anonymous models; send userId after login"),
    ("touches", "cost", 0.5, None, "attribution ROI needs the cost of each touch; export spend per send or click"),
    ("touches", "campaign", 0.5, None, "campaign-level attribution needs campaign names; export them"),
]


# -- small helpers ----------------------------------------------------------------------------
def as_timestamp(as_of: dt.date | dt.datetime | str | pd.Timestamp | None) -> pd.Timestamp:
    """`as_of` as a naive UTC timestamp; None means now. A bare date means the end of that day."""
    if as_of is None:
        return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    is_date = isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime)
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    if is_date:
        ts = ts + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    return ts


def _lit(ts: pd.Timestamp):
    return ibis.literal(ts.to_pydatetime(), type="timestamp")


def loaded(tables: Tables, name: str) -> ibis.Table | None:
    """The table if it is in `tables`, else None."""
    return tables.get(name)


def row_count(table: ibis.Table | None) -> int:
    return 0 if table is None else int(table.count().execute())


def _one(expr: ibis.Table) -> dict:
    """The single row of an aggregate as a dict of Python values (NaN/NaT -> None)."""
    frame = expr.execute()
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].items()}


def _row(area, table, check, status, value, detail) -> dict:
    assert status in STATUSES, status
    return {"area": area, "table": table, "check": check, "status": status,
            "value": float("nan") if value is None else float(value), "detail": detail}


def frame(rows: list[dict]) -> pd.DataFrame:
    """Check rows as a DataFrame with CHECK_COLUMNS (empty but typed when there are none)."""
    out = pd.DataFrame(rows, columns=CHECK_COLUMNS)
    return out.astype({"area": str, "table": str, "check": str, "status": str, "value": float, "detail": str})


def pct(share: float | None) -> str:
    if share is None or pd.isna(share):
        return "n/a"
    if 0 < share < 0.001:
        return "<0.1%"
    return f"{share:.1%}"


def _grade(share: float, warn_above: float, fail_above: float | None) -> str:
    if fail_above is not None and share > fail_above:
        return "fail"
    return "warn" if share > warn_above else "pass"


def _not_loaded(area: str, table: str, check: str, what: str) -> dict:
    return _row(area, table, check, "n/a", None, f"{table} is empty or not loaded; {what}")


# -- completeness ---------------------------------------------------------------------------
def completeness_checks(tables: Tables) -> pd.DataFrame:
    """Null share of every required column and of the optional columns capabilities rely on."""
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
        agg = _one(t.aggregate(_n=t.count(), **{f"nn_{c}": t[c].count() for c in columns}))
        n = int(agg["_n"])
        if n == 0:
            continue
        for column in required:
            missing = n - int(agg[f"nn_{column}"])
            share = missing / n
            if missing:
                detail = (f"{missing} of {n} rows ({pct(share)}) have no {column}, which is required; "
                          "re-ingest through `storelift ingest`, which quarantines such rows")
            else:
                detail = f"every row has {column}"
            rows.append(_row("completeness", name, f"null_share:{column}", "fail" if missing else "pass", share, detail))
        for column, warn, fail, why in optional:
            missing = n - int(agg[f"nn_{column}"])
            share = missing / n
            status = _grade(share, warn, fail)
            label = "guest orders (no customer_id)" if (name, column) == ("orders", "customer_id") else f"rows without {column}"
            detail = f"{missing} of {n} {label}: {pct(share)}"
            detail += f"; {why}" if status != "pass" else ""
            rows.append(_row("completeness", name, f"null_share:{column}", status, share, detail))
    return frame(rows)


# -- consistency ----------------------------------------------------------------------------
def consistency_checks(tables: Tables, as_of: pd.Timestamp, *, tolerance: float = 0.01) -> pd.DataFrame:
    """Amounts that do not add up, orders without lines, bad prices, over-refunds, mixed currencies,
    and times in the future."""
    rows = []
    orders, lines = loaded(tables, "orders"), loaded(tables, "order_lines")
    refunds, products = loaded(tables, "refunds"), loaded(tables, "products")

    if row_count(lines):
        ol = lines
        expected = ol.quantity * ol.unit_price - ol.discount_amount.fill_null(0)
        checked = ol.amount.notnull() & ol.quantity.notnull() & ol.unit_price.notnull()
        bad = checked & ((ol.amount - expected).abs() > tolerance)
        agg = _one(ol.aggregate(checked=ol.count(where=checked), bad=ol.count(where=bad)))
        n_checked, n_bad = int(agg["checked"]), int(agg["bad"])
        if n_checked == 0:
            rows.append(_row("consistency", "order_lines", "amount_mismatch", "n/a", None,
                             "no line has quantity, unit_price and amount together, so amounts cannot be checked"))
        else:
            share = n_bad / n_checked
            status = "pass" if n_bad == 0 else ("fail" if share > 0.05 else "warn")
            detail = f"{n_bad} of {n_checked} lines ({pct(share)}) differ from quantity * unit_price - discount_amount"
            if n_bad:
                detail += (" by more than " + f"{tolerance:g}; check whether the export's amount includes tax, "
                           "shipping or order-level discounts and map the net line total to amount")
            rows.append(_row("consistency", "order_lines", "amount_mismatch", status, share, detail))
    else:
        rows.append(_not_loaded("consistency", "order_lines", "amount_mismatch", "load order lines to check amounts"))

    n_orders = row_count(orders)
    if n_orders and lines is not None:
        lonely = orders.anti_join(lines, "order_id")
        n_lonely = int(lonely.count().execute())
        share = n_lonely / n_orders
        status = "pass" if n_lonely == 0 else ("fail" if share > 0.5 else "warn")
        detail = f"{n_lonely} of {n_orders} orders ({pct(share)}) have no order lines"
        if n_lonely:
            example = lonely.select("order_id").limit(3).execute()["order_id"].tolist()
            detail += (f" (e.g. {', '.join(map(str, example))}); load the order-lines export for the same period, "
                       "or these orders count as zero revenue")
        rows.append(_row("consistency", "orders", "orders_without_lines", status, share, detail))
    elif n_orders == 0:
        rows.append(_not_loaded("consistency", "orders", "orders_without_lines", "load orders to check them"))

    for name, column in (("order_lines", "unit_price"), ("products", "price")):
        t = loaded(tables, name)
        if not row_count(t):
            continue
        agg = _one(t.aggregate(priced=t[column].count(), negative=t.count(where=t[column] < 0),
                               zero=t.count(where=t[column] == 0)))
        priced, negative, zero = int(agg["priced"]), int(agg["negative"]), int(agg["zero"])
        if priced == 0:
            rows.append(_row("consistency", name, f"nonpositive_price:{column}", "n/a", None,
                             f"no {column} values to check"))
            continue
        status = "fail" if negative else ("warn" if zero else "pass")
        detail = f"{negative} negative and {zero} zero {column} values among {priced}"
        if negative:
            detail += "; negative prices are returns or adjustments: load them as refunds instead"
        elif zero:
            detail += "; zero prices are free items or missing prices: set product_type to fee/adjustment or fix the price"
        rows.append(_row("consistency", name, f"nonpositive_price:{column}", status, (negative + zero) / priced, detail))

    if row_count(refunds) and n_orders and lines is not None:
        rows.append(_refunds_exceeding_orders(orders, lines, refunds))

    rows.append(_mixed_currencies(tables))

    for name, column in TIME_COLUMNS.items():
        t = loaded(tables, name)
        if not row_count(t):
            continue
        future = int(t.count(where=t[column] > _lit(as_of)).execute())
        detail = f"{future} {name} rows have {column} after {as_of:%Y-%m-%d %H:%M} (the audit time)"
        if future:
            detail += "; check the source time zone ([ingest] source_timezone) and the date format (day/month order)"
        rows.append(_row("consistency", name, "future_timestamps", "warn" if future else "pass", future, detail))
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
    agg = _one(both.aggregate(n=both.count(), over=both.count(where=both.refunded > both.revenue + 0.01)))
    n, n_over = int(agg["n"]), int(agg["over"])
    if n == 0:
        return _row("consistency", "refunds", "refund_exceeds_order", "n/a", None,
                    "no refund is linked to an order with known revenue, so refund amounts cannot be compared")
    detail = f"{n_over} of {n} refunded orders got back more than their revenue (lines + shipping + tax)"
    if n_over:
        example = over.select("order_id").limit(3).execute()["order_id"].tolist()
        detail += (f" (e.g. {', '.join(map(str, example))}); check for refunds loaded twice or refunds "
                   "linked to the wrong order")
    return _row("consistency", "refunds", "refund_exceeds_order", "warn" if n_over else "pass", n_over, detail)


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
        return _row("consistency", "store", "mixed_currencies", "n/a", None, "no currency values loaded yet")
    listing = "; ".join(f"{name}: {', '.join(v)}" for name, v in shares.items())
    if len(currencies) == 1:
        return _row("consistency", "store", "mixed_currencies", "pass", 1, f"one currency ({listing})")
    return _row("consistency", "store", "mixed_currencies", "warn", len(currencies),
                f"{len(currencies)} currencies ({listing}); revenue, CLV and prices are summed without conversion, "
                "so convert amounts to one currency at ingest or audit each currency's store separately")


# -- timeliness -----------------------------------------------------------------------------
def monthly_orders(orders: ibis.Table | None, lines: ibis.Table | None = None) -> pd.DataFrame:
    """Orders, buying customers and line revenue per calendar month: month, orders, customers, revenue."""
    columns = ["month", "orders", "customers", "revenue"]
    if orders is None:
        return pd.DataFrame(columns=columns)
    base = orders.select("order_id", "customer_id", month=orders.ordered_at.truncate("M"))
    base = base.filter(base.month.notnull())
    if lines is not None:
        line_revenue = lines.group_by("order_id").aggregate(revenue=lines.amount.sum())
        base = base.left_join(line_revenue, base.order_id == line_revenue.order_id).select(
            base.month, base.order_id, base.customer_id, line_revenue.revenue)
    else:
        base = base.mutate(revenue=ibis.null("float64"))
    monthly = base.group_by("month").aggregate(
        orders=base.count(), customers=base.customer_id.nunique(), revenue=base.revenue.sum()
    ).order_by("month").execute()
    monthly["month"] = pd.to_datetime(monthly["month"])
    monthly["revenue"] = monthly["revenue"].astype(float)
    return monthly[columns].reset_index(drop=True)


def missing_months(months: pd.Series) -> list[pd.Period]:
    """Calendar months inside [first, last] of `months` that have no entry."""
    if len(months) == 0:
        return []
    periods = pd.to_datetime(months).dt.to_period("M")
    covered = pd.period_range(periods.min(), periods.max(), freq="M")
    return [p for p in covered if p not in set(periods)]


def timeliness_checks(tables: Tables, as_of: pd.Timestamp, *, stale_after_days: int = 30) -> pd.DataFrame:
    """Date range per fact table, days since the latest row, and months without any row."""
    rows = []
    for name, column in TIME_COLUMNS.items():
        t = loaded(tables, name)
        if not row_count(t):
            if name in ("orders", "events"):
                rows.append(_not_loaded("timeliness", name, "date_range", f"load {name} to check dates"))
            continue
        agg = _one(t.aggregate(first=t[column].min(), last=t[column].max()))
        first, last = agg["first"], agg["last"]
        if last is None:
            rows.append(_row("timeliness", name, "date_range", "warn", None,
                             f"no {name} row has {column}; send timestamps so history and freshness can be judged"))
            continue
        first, last = pd.Timestamp(first), pd.Timestamp(last)
        span = (last - first).total_seconds() / 86400
        rows.append(_row("timeliness", name, "date_range", "pass", span,
                         f"{column} from {first:%Y-%m-%d} to {last:%Y-%m-%d} ({span:.0f} days)"))
        if name == "refunds":
            continue
        age = max((as_of - last).total_seconds() / 86400, 0.0)
        stale = age > stale_after_days
        detail = f"latest {column} is {last:%Y-%m-%d}, {age:.0f} days before {as_of:%Y-%m-%d}"
        if stale:
            detail += (f" (more than {stale_after_days}); load recent {name} or schedule `storelift ingest` "
                       "so scores and campaigns use current behaviour")
        rows.append(_row("timeliness", name, "days_since_last", "warn" if stale else "pass", age, detail))
        if name in ("orders", "events"):
            months = t.select(month=t[column].truncate("M")).filter(lambda m: m.month.notnull()).distinct().execute()
            gaps = missing_months(months["month"])
            detail = f"{len(gaps)} months without {name} between {first:%Y-%m} and {last:%Y-%m}"
            if gaps:
                shown = ", ".join(str(p) for p in gaps[:6]) + (" ..." if len(gaps) > 6 else "")
                detail += f" ({shown}); load the missing exports, or trends, seasonality and forecasts see false drops"
            rows.append(_row("timeliness", name, "month_gaps", "warn" if gaps else "pass", len(gaps), detail))
    return frame(rows)


# -- duplicates -----------------------------------------------------------------------------
def duplicate_checks(tables: Tables) -> pd.DataFrame:
    """Repeated natural keys, order lines repeated with the same content, customers sharing an e-mail."""
    rows = []
    for name, spec in TABLES.items():
        t = loaded(tables, name)
        if spec.system or t is None:
            continue
        n = row_count(t)
        if n == 0:
            continue
        distinct = int(t.select(*spec.key).distinct().count().execute())
        extra = n - distinct
        detail = f"{extra} of {n} rows repeat a natural key ({', '.join(spec.key)}) already present"
        if extra:
            detail += "; the table was appended to outside `storelift ingest`: deduplicate it or reload it"
        rows.append(_row("duplicates", name, "duplicate_keys", "fail" if extra else "pass", extra, detail))

    lines = loaded(tables, "order_lines")
    if row_count(lines):
        content = ["order_id", "product_id", "quantity", "unit_price"]
        groups = lines.group_by(content).aggregate(n=lines.count())
        repeated = groups.filter(groups.n > 1)
        agg = _one(repeated.aggregate(groups=repeated.count(), extra=(repeated.n - 1).sum()))
        extra = int(agg["extra"] or 0)
        detail = (f"{extra} order lines repeat another line of the same order with the same product, quantity "
                  "and unit price")
        if extra:
            example = repeated.select("order_id").limit(3).execute()["order_id"].tolist()
            detail += (f" (e.g. order {', '.join(map(str, example))}); if the export lists each line once, the "
                       "file was loaded twice under new line numbers: reload it; if the store really splits "
                       "lines, ignore this")
        rows.append(_row("duplicates", "order_lines", "duplicate_lines", "warn" if extra else "pass", extra, detail))

    customers = loaded(tables, "customers")
    if row_count(customers):
        with_email = customers.filter(customers.email.notnull())
        groups = with_email.group_by("email").aggregate(n=with_email.count())
        repeated = groups.filter(groups.n > 1)
        agg = _one(repeated.aggregate(groups=repeated.count(), extra=(repeated.n - 1).sum()))
        extra, n_groups = int(agg["extra"] or 0), int(agg["groups"])
        detail = f"{extra} customers share an e-mail (pseudonym) with another customer ({n_groups} e-mails)"
        if extra:
            detail += ("; one person with several accounts splits their history, so RFM and CLV undercount: "
                       "merge accounts by e-mail or export the store's merged customer id")
        rows.append(_row("duplicates", "customers", "duplicate_emails", "warn" if extra else "pass", extra, detail))
    return frame(rows)


# -- orphans --------------------------------------------------------------------------------
def _orphans(child: ibis.Table, parent: ibis.Table, key: str, parent_key: str | None = None) -> tuple[int, int]:
    """(rows of `child` with a non-null `key`, those whose key is not in `parent`)."""
    parent_key = parent_key or key
    keyed = child.filter(child[key].notnull())
    parents = parent.select(**{"_k": parent[parent_key]}).distinct()
    missing = keyed.anti_join(parents, keyed[key] == parents._k)
    return int(keyed.count().execute()), int(missing.count().execute())


def orphan_checks(tables: Tables) -> pd.DataFrame:
    """Rows that point at an order, customer or product the warehouse does not have."""
    rows = []
    orders, lines = loaded(tables, "orders"), loaded(tables, "order_lines")
    customers, products = loaded(tables, "customers"), loaded(tables, "products")
    events, refunds = loaded(tables, "events"), loaded(tables, "refunds")

    if row_count(lines):
        if row_count(orders):
            n, missing = _orphans(lines, orders, "order_id")
            share = missing / n if n else 0.0
            detail = f"{missing} of {n} order lines ({pct(share)}) belong to an order that is not in orders"
            if missing:
                detail += "; load the orders export covering the same dates, or these lines have no time or customer"
            status = "pass" if missing == 0 else ("fail" if share > 0.05 else "warn")
            rows.append(_row("orphans", "order_lines", "orphan_lines", status, share, detail))
        else:
            rows.append(_row("orphans", "order_lines", "orphan_lines", "fail", 1.0,
                             "order lines are loaded but orders are not; load the orders export"))

    if row_count(orders):
        if row_count(customers):
            n, missing = _orphans(orders, customers, "customer_id")
            share = missing / n if n else 0.0
            detail = f"{missing} of {n} orders with a customer id ({pct(share)}) name a customer not in customers"
            if missing:
                detail += "; load the full customer export (guests are not counted here)"
            rows.append(_row("orphans", "orders", "orphan_customers", "warn" if missing else "pass", share, detail))
        else:
            rows.append(_not_loaded("orphans", "customers", "orphan_customers",
                                    "load customers to check that orders point at known customers"))

    for name, t in (("order_lines", lines), ("events", events)):
        if not row_count(t):
            continue
        if not row_count(products):
            rows.append(_not_loaded("orphans", "products", "orphan_products",
                                    f"load products to check the products named in {name}"))
            continue
        n, missing = _orphans(t, products, "product_id")
        share = missing / n if n else 0.0
        detail = f"{missing} of {n} {name} rows with a product id ({pct(share)}) name a product not in products"
        if missing:
            detail += ("; load the full catalogue, including archived products, so recommendations, search and "
                       "content can describe them")
        rows.append(_row("orphans", name, "orphan_products", "warn" if missing else "pass", share, detail))

    n_refunds = row_count(refunds)
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
        rows.append(_row("orphans", "refunds", "unlinked_refunds", status, share, detail))
    return frame(rows)


# -- consent --------------------------------------------------------------------------------
def latest_consents(consents: ibis.Table) -> ibis.Table:
    """The consent row in force per customer and purpose: the latest one, a withdrawal winning a tie."""
    ranked = consents.mutate(
        _rank=ibis.row_number().over(
            group_by=[consents.customer_id, consents.purpose],
            order_by=[ibis.desc(consents.recorded_at), consents.granted.cast("int8")],
        )
    )
    return ranked.filter(ranked._rank == 0).drop("_rank")


def consent_checks(tables: Tables) -> pd.DataFrame:
    """Share of customers with any consent record, and per purpose the share whose latest record grants it."""
    customers, consents = loaded(tables, "customers"), loaded(tables, "consents")
    n_customers = row_count(customers)
    if n_customers == 0:
        return frame([_not_loaded("consent", "customers", "consent_coverage", "load customers to measure consent")])
    n_consents = row_count(consents)
    if n_consents == 0:
        return frame([_row("consent", "consents", "consent_coverage", "fail", 0.0,
                           f"none of {n_customers} customers has a consent record, so storelift personalizes for "
                           "nobody and sends no campaigns; export consent (newsletter opt-in, cookie choices) "
                           "and load it as consents")])
    known = customers.select("customer_id").distinct()
    covered_ids = consents.select("customer_id").distinct()
    covered = int(known.semi_join(covered_ids, "customer_id").count().execute())
    share = covered / n_customers
    status = "pass" if share >= 0.8 else ("warn" if covered else "fail")
    detail = f"{covered} of {n_customers} customers ({pct(share)}) have at least one consent record"
    if status != "pass":
        detail += ("; customers without a record are treated as not consenting: export consent for all "
                   "customers, including older opt-ins")
    rows = [_row("consent", "consents", "consent_coverage", status, share, detail)]

    latest = latest_consents(consents).semi_join(known, "customer_id")
    per_purpose = latest.group_by("purpose").aggregate(
        recorded=latest.count(), granted=latest.count(where=latest.granted)
    ).execute()
    per_purpose = per_purpose.set_index("purpose")
    for purpose in sorted(CONSENT_PURPOSES):
        if purpose not in per_purpose.index:
            rows.append(_row("consent", "consents", f"consent_granted:{purpose}", "warn", 0.0,
                             f"no consent recorded for {purpose}; storelift will not use data or contact "
                             f"customers for {purpose} until it is loaded"))
            continue
        recorded, granted = (int(per_purpose.loc[purpose, c]) for c in ("recorded", "granted"))
        share = granted / n_customers
        detail = (f"{granted} of {n_customers} customers ({pct(share)}) currently grant {purpose}; "
                  f"{recorded - granted} refused or withdrew")
        status = "pass" if granted else "warn"
        if not granted:
            detail += f"; nobody can be reached for {purpose}, check that grants are exported as granted=true"
        rows.append(_row("consent", "consents", f"consent_granted:{purpose}", status, share, detail))
    return frame(rows)


# -- pii ------------------------------------------------------------------------------------
# Free-text columns where raw e-mail addresses tend to leak.
FREE_TEXT_COLUMNS = [("events", "query"), ("events", "properties"), ("refunds", "reason")]


def pii_checks(tables: Tables, *, keep_raw_pii: bool = False) -> pd.DataFrame:
    """Raw (not pseudonymized) values in PII columns, and e-mail addresses in free text."""
    rows = []
    customers = loaded(tables, "customers")
    if row_count(customers):
        columns = TABLES["customers"].pii_columns
        agg = _one(customers.aggregate(**{
            f"raw_{c}": customers[c].count(where=~customers[c].startswith(PREFIX)) for c in columns
        }, **{f"nn_{c}": customers[c].count() for c in columns}))
        for column in columns:
            raw, present = int(agg[f"raw_{column}"]), int(agg[f"nn_{column}"])
            rows.append(_pii_row("customers", f"raw_pii:{column}", raw, present, keep_raw_pii,
                                 f"{column} values do not start with '{PREFIX}' (not pseudonymized)"))
    for name, column in FREE_TEXT_COLUMNS:
        t = loaded(tables, name)
        if not row_count(t):
            continue
        agg = _one(t.aggregate(raw=t[column].count(where=t[column].re_search(EMAIL_RE.pattern)),
                               present=t[column].count()))
        rows.append(_pii_row(name, f"pii_in_text:{column}", int(agg["raw"]), int(agg["present"]), keep_raw_pii,
                             f"{column} values contain an e-mail address"))
    return frame(rows)


def _pii_row(table: str, check: str, raw: int, present: int, keep_raw_pii: bool, what: str) -> dict:
    detail = f"{raw} of {present} {what}"
    if raw == 0:
        return _row("pii", table, check, "pass", 0, detail)
    if keep_raw_pii:
        return _row("pii", table, check, "pass", raw,
                    detail + "; allowed because the workspace keeps raw PII ([privacy] keep_raw_pii = true)")
    return _row("pii", table, check, "fail", raw,
                detail + "; raw PII is stored although the workspace pseudonymizes it: reload the table through "
                "`storelift ingest` (which pseudonymizes), or set keep_raw_pii only with a lawful basis")


# -- volume ---------------------------------------------------------------------------------
# What loading each optional table enables, for the n/a details.
ENABLES = {
    "customers": "needed for consent, campaigns and fairness",
    "products": "needed for search, content and recommendation explanations",
    "refunds": "optional; gives net revenue and return rates",
    "events": "optional; gives browsing signals for recommendations, churn and attribution",
    "consents": "needed before any personalization or campaign",
    "touches": "optional; gives channel costs for attribution and ROI",
    "assignments": "written by storelift when experiments run",
    "decisions": "written by storelift when it makes decisions",
}


def volume_checks(tables: Tables) -> pd.DataFrame:
    """Rows per table, repeat buyers, and months of order history."""
    rows = []
    for name, spec in TABLES.items():
        if name not in tables or name in ("audit_log", "quarantine", "ingest_runs"):
            continue
        n = row_count(tables[name])
        if n:
            rows.append(_row("volume", name, "row_count", "pass", n, f"{n:,} rows"))
        elif name in ("orders", "order_lines"):
            rows.append(_row("volume", name, "row_count", "fail", 0,
                             f"{name} is empty; nothing can be modelled without sales: run `storelift ingest` "
                             "on the store's order export"))
        elif name in ("customers", "products", "consents"):
            rows.append(_row("volume", name, "row_count", "warn", 0, f"{name} is empty; {ENABLES[name]}"))
        else:
            rows.append(_row("volume", name, "row_count", "n/a", 0, f"{name} is empty; {ENABLES.get(name, '')}"))

    orders = loaded(tables, "orders")
    if not row_count(orders):
        return frame(rows)
    identified = orders.filter(orders.customer_id.notnull())
    per_customer = identified.group_by("customer_id").aggregate(n=identified.order_id.nunique())
    agg = _one(per_customer.aggregate(buyers=per_customer.count(), repeat=per_customer.count(where=per_customer.n >= 2)))
    buyers, repeat = int(agg["buyers"]), int(agg["repeat"])
    if buyers == 0:
        rows.append(_row("volume", "orders", "repeat_customers", "fail", 0,
                         "no order has a customer id, so repeat buying cannot be seen; export customer ids with orders"))
    else:
        share = repeat / buyers
        status = "pass" if share >= 0.05 else "warn"
        detail = f"{repeat} of {buyers} identified buyers ({pct(share)}) placed 2 or more orders"
        if status != "pass":
            detail += ("; CLV and churn models learn from repeat buying: load a longer history or check that "
                       "customer ids are stable across orders")
        rows.append(_row("volume", "orders", "repeat_customers", status, repeat, detail))

    span = _one(orders.aggregate(first=orders.ordered_at.min(), last=orders.ordered_at.max()))
    if span["last"] is not None:
        months = (pd.Timestamp(span["last"]) - pd.Timestamp(span["first"])).days / 30.4375
        status = "pass" if months >= 6 else "warn"
        detail = f"{months:.1f} months of order history"
        detail += ("; CLV needs 6 or more months and forecasting 12 or more: load older orders"
                   if status != "pass" else ("" if months >= 12 else "; forecasting wants 12 or more"))
        rows.append(_row("volume", "orders", "history_months", status, months, detail))
    return frame(rows)


# -- all --------------------------------------------------------------------------------------
def run_checks(tables: Tables, *, as_of=None, keep_raw_pii: bool = False, stale_after_days: int = 30) -> pd.DataFrame:
    """Every check above, in area order."""
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
