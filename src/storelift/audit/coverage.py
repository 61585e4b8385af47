"""Checks of what the data covers: time (timeliness), consent, privacy (pii) and volume.

Same row format as `storelift.audit.checks`.
"""

from __future__ import annotations

import ibis
import pandas as pd

from ..data.pii import EMAIL_RE, PREFIX
from ..schema import CONSENT_PURPOSES, TABLES
from .common import (
    TableSet, Tables, check_row, frame, loaded, not_loaded, one_row, pct,
)

# Fact tables and their time column.
TIME_COLUMNS = {"orders": "ordered_at", "events": "occurred_at", "refunds": "refunded_at", "touches": "touched_at"}


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
    tables = TableSet.of(tables)
    rows = []
    for name, column in TIME_COLUMNS.items():
        t = loaded(tables, name)
        if not tables.rows(name):
            if name in ("orders", "events"):
                rows.append(not_loaded("timeliness", name, "date_range", f"load {name} to check dates"))
            continue
        agg = one_row(t.aggregate(first=t[column].min(), last=t[column].max()))
        first, last = agg["first"], agg["last"]
        if last is None:
            rows.append(check_row("timeliness", name, "date_range", "warn", None,
                                  f"no {name} row has {column}; send timestamps so history and freshness can be judged"))
            continue
        first, last = pd.Timestamp(first), pd.Timestamp(last)
        span = (last - first).total_seconds() / 86400
        rows.append(check_row("timeliness", name, "date_range", "pass", span,
                              f"{column} from {first:%Y-%m-%d} to {last:%Y-%m-%d} ({span:.0f} days)"))
        if name == "refunds":
            continue
        age = max((as_of - last).total_seconds() / 86400, 0.0)
        stale = age > stale_after_days
        detail = f"latest {column} is {last:%Y-%m-%d}, {age:.0f} days before {as_of:%Y-%m-%d}"
        if stale:
            detail += (f" (more than {stale_after_days}); load recent {name} or schedule `storelift ingest` "
                       "so scores and campaigns use current behaviour")
        rows.append(check_row("timeliness", name, "days_since_last", "warn" if stale else "pass", age, detail))
        if name in ("orders", "events"):
            months = t.select(month=t[column].truncate("M")).filter(lambda m: m.month.notnull()).distinct().execute()
            gaps = missing_months(months["month"])
            detail = f"{len(gaps)} months without {name} between {first:%Y-%m} and {last:%Y-%m}"
            if gaps:
                shown = ", ".join(str(p) for p in gaps[:6]) + (" ..." if len(gaps) > 6 else "")
                detail += f" ({shown}); load the missing exports, or trends, seasonality and forecasts see false drops"
            rows.append(check_row("timeliness", name, "month_gaps", "warn" if gaps else "pass", len(gaps), detail))
    return frame(rows)


# -- consent --------------------------------------------------------------------------------
def latest_consents(consents: ibis.Table) -> ibis.Table:
    """The consent row in force per customer and purpose: the latest one, a withdrawal winning a tie."""
    ranked = consents.mutate(
        _rank=ibis.row_number().over(
            group_by=[consents.customer_id, consents.purpose],
            # ifelse, not a cast to int: PostgreSQL refuses to cast a boolean to smallint
            order_by=[ibis.desc(consents.recorded_at), consents.granted.ifelse(1, 0)],
        )
    )
    return ranked.filter(ranked._rank == 0).drop("_rank")


def consent_checks(tables: Tables) -> pd.DataFrame:
    """Share of customers with any consent record, and per purpose the share whose latest record grants it."""
    tables = TableSet.of(tables)
    customers, consents = loaded(tables, "customers"), loaded(tables, "consents")
    n_customers = tables.rows("customers")
    if n_customers == 0:
        return frame([not_loaded("consent", "customers", "consent_coverage", "load customers to measure consent")])
    n_consents = tables.rows("consents")
    if n_consents == 0:
        return frame([check_row("consent", "consents", "consent_coverage", "fail", 0.0,
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
    rows = [check_row("consent", "consents", "consent_coverage", status, share, detail)]

    latest = latest_consents(consents).semi_join(known, "customer_id")
    per_purpose = latest.group_by("purpose").aggregate(
        recorded=latest.count(), granted=latest.count(where=latest.granted)
    ).execute()
    per_purpose = per_purpose.set_index("purpose")
    for purpose in sorted(CONSENT_PURPOSES):
        if purpose not in per_purpose.index:
            rows.append(check_row("consent", "consents", f"consent_granted:{purpose}", "warn", 0.0,
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
        rows.append(check_row("consent", "consents", f"consent_granted:{purpose}", status, share, detail))
    return frame(rows)


# -- pii ------------------------------------------------------------------------------------
# Free-text columns where raw e-mail addresses tend to leak.
FREE_TEXT_COLUMNS = [("events", "query"), ("events", "properties"), ("refunds", "reason")]


def pii_checks(tables: Tables, *, keep_raw_pii: bool = False) -> pd.DataFrame:
    """Raw (not pseudonymized) values in PII columns, and e-mail addresses in free text."""
    tables = TableSet.of(tables)
    rows = []
    customers = loaded(tables, "customers")
    if tables.rows("customers"):
        columns = TABLES["customers"].pii_columns
        agg = one_row(customers.aggregate(**{
            f"raw_{c}": customers[c].count(where=~customers[c].startswith(PREFIX)) for c in columns
        }, **{f"nn_{c}": customers[c].count() for c in columns}))
        for column in columns:
            raw, present = int(agg[f"raw_{column}"] or 0), int(agg[f"nn_{column}"] or 0)
            rows.append(_pii_row("customers", f"raw_pii:{column}", raw, present, keep_raw_pii,
                                 f"{column} values do not start with '{PREFIX}' (not pseudonymized)"))
    for name, column in FREE_TEXT_COLUMNS:
        t = loaded(tables, name)
        if not tables.rows(name):
            continue
        agg = one_row(t.aggregate(raw=t[column].count(where=t[column].re_search(EMAIL_RE.pattern)),
                                  present=t[column].count()))
        rows.append(_pii_row(name, f"pii_in_text:{column}", int(agg["raw"] or 0), int(agg["present"] or 0), keep_raw_pii,
                             f"{column} values contain an e-mail address"))
    return frame(rows)


def _pii_row(table: str, check: str, raw: int, present: int, keep_raw_pii: bool, what: str) -> dict:
    detail = f"{raw} of {present} {what}"
    if raw == 0:
        return check_row("pii", table, check, "pass", 0, detail)
    if keep_raw_pii:
        return check_row("pii", table, check, "pass", raw,
                         detail + "; allowed because the workspace keeps raw PII ([privacy] keep_raw_pii = true)")
    return check_row("pii", table, check, "fail", raw,
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
    tables = TableSet.of(tables)
    rows = []
    for name, spec in TABLES.items():
        if name not in tables or name in ("audit_log", "quarantine", "ingest_runs"):
            continue
        n = tables.rows(name)
        if n:
            rows.append(check_row("volume", name, "row_count", "pass", n, f"{n:,} rows loaded"))
        elif name in ("orders", "order_lines"):
            rows.append(check_row("volume", name, "row_count", "fail", 0,
                                  f"{name} is empty; nothing can be modelled without sales: run `storelift ingest` "
                                  "on the store's order export"))
        elif name in ("customers", "products", "consents"):
            rows.append(check_row("volume", name, "row_count", "warn", 0, f"{name} is empty; {ENABLES[name]}"))
        else:
            rows.append(check_row("volume", name, "row_count", "n/a", 0, f"{name} is empty; {ENABLES.get(name, '')}"))

    orders = loaded(tables, "orders")
    if not tables.rows("orders"):
        return frame(rows)
    identified = orders.filter(orders.customer_id.notnull())
    per_customer = identified.group_by("customer_id").aggregate(n=identified.order_id.nunique())
    agg = one_row(per_customer.aggregate(buyers=per_customer.count(), repeat=per_customer.count(where=per_customer.n >= 2)))
    buyers, repeat = int(agg["buyers"] or 0), int(agg["repeat"] or 0)
    if buyers == 0:
        rows.append(check_row("volume", "orders", "repeat_customers", "fail", 0,
                              "no order has a customer id, so repeat buying cannot be seen; export customer ids with orders"))
    else:
        share = repeat / buyers
        status = "pass" if share >= 0.05 else "warn"
        detail = f"{repeat} of {buyers} identified buyers ({pct(share)}) placed 2 or more orders"
        if status != "pass":
            detail += ("; CLV and churn models learn from repeat buying: load a longer history or check that "
                       "customer ids are stable across orders")
        rows.append(check_row("volume", "orders", "repeat_customers", status, repeat, detail))

    span = one_row(orders.aggregate(first=orders.ordered_at.min(), last=orders.ordered_at.max()))
    if span["last"] is not None:
        months = (pd.Timestamp(span["last"]) - pd.Timestamp(span["first"])).days / 30.4375
        status = "pass" if months >= 6 else "warn"
        detail = f"{months:.1f} months of order history"
        detail += ("; CLV needs 6 or more months and forecasting 12 or more: load older orders"
                   if status != "pass" else ("" if months >= 12 else "; forecasting wants 12 or more"))
        rows.append(check_row("volume", "orders", "history_months", status, months, detail))
    return frame(rows)


