"""Each audit check flags exactly the defects planted for it, and a clean store passes."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from audit.audit_store import AS_OF, add_rows, check, clean_store, flagged, make_warehouse, psn
from storelift.audit.checks import (
    AREAS, CHECK_COLUMNS, STATUSES, as_timestamp, completeness_checks, consent_checks, consistency_checks,
    latest_consents, missing_months, pii_checks, run_checks, timeliness_checks, volume_checks,
)
from storelift.audit.run import warehouse_tables


def audit(frames, **kw) -> pd.DataFrame:
    wh = make_warehouse(frames)
    try:
        return run_checks(warehouse_tables(wh), as_of=kw.pop("as_of", AS_OF), **kw)
    finally:
        wh.close()


def defective_store() -> dict[str, pd.DataFrame]:
    """The clean store with one independent defect per check (see DEFECTS)."""
    f = clean_store()
    lines, orders = f["order_lines"], f["orders"]
    add_rows(f, "order_lines", [{"order_id": "ghost", "line_number": 1, "product_id": "p1",
                                 "quantity": 1.0, "unit_price": 5.0, "amount": 5.0}])
    f["customers"].loc[0, "email"] = "ann@example.com"
    f["customers"].loc[2, "email"] = psn(1)
    o1_line1 = lines[(lines["order_id"] == "o1") & (lines["line_number"] == 1)].iloc[0].to_dict()
    add_rows(f, "order_lines", [o1_line1 | {"line_number": 3}])
    lines = f["order_lines"]
    lines.loc[(lines["order_id"] == "o2") & (lines["line_number"] == 2), "amount"] += 5.0
    lines.loc[(lines["order_id"] == "o4") & (lines["line_number"] == 1), "product_id"] = "p99"
    lines.loc[(lines["order_id"] == "o6") & (lines["line_number"] == 1),
              ["unit_price", "discount_amount", "amount"]] = [0.0, 0.0, 0.0]
    orders.loc[orders["order_id"] == "o3", "customer_id"] = "c99"
    orders.loc[orders["order_id"] == "o5", "currency"] = "USD"
    add_rows(f, "orders", [{"order_id": "lonely", "customer_id": "c0", "currency": "EUR",
                            "ordered_at": pd.Timestamp("2024-01-10")},
                           orders[orders["order_id"] == "o7"].iloc[0].to_dict()])
    december = f["orders"]["ordered_at"].dt.month == 12
    dropped = set(f["orders"].loc[december, "order_id"])
    f["orders"] = f["orders"][~december]
    f["order_lines"] = f["order_lines"][~f["order_lines"]["order_id"].isin(dropped)]
    f["refunds"].loc[0, "amount"] = 1000.0
    add_rows(f, "refunds", [{"refund_id": "r2", "order_id": None, "currency": "EUR", "amount": 3.0,
                             "refunded_at": pd.Timestamp("2024-02-01")}])
    add_rows(f, "events", [
        {"event_id": "late", "event": "Product Viewed", "customer_id": "c0", "product_id": "p0",
         "occurred_at": pd.Timestamp("2024-07-02")},
        {"event_id": "q1", "event": "Products Searched", "customer_id": "c0",
         "occurred_at": pd.Timestamp("2024-03-01"), "query": "order for bob@example.com"},
    ])
    f["consents"] = f["consents"][~f["consents"]["customer_id"].isin(["c3", "c4", "c5"])]
    return f


# (table, check): (status, what the value or detail must show)
DEFECTS = {
    ("order_lines", "orphan_lines"): ("warn", "ghost"),
    ("customers", "raw_pii:email"): ("fail", 1.0),
    ("customers", "duplicate_emails"): ("warn", 1.0),
    ("order_lines", "duplicate_lines"): ("warn", "o1"),
    ("order_lines", "amount_mismatch"): ("warn", "1 of"),
    ("order_lines", "orphan_products"): ("warn", "1 of"),
    ("order_lines", "nonpositive_price:unit_price"): ("warn", "0 negative and 1 zero"),
    ("orders", "orphan_customers"): ("warn", "1 of"),
    ("orders", "orders_without_lines"): ("warn", "lonely"),
    ("orders", "duplicate_keys"): ("fail", 1.0),
    ("orders", "month_gaps"): ("warn", "2023-12"),
    ("store", "mixed_currencies"): ("warn", 2.0),
    ("refunds", "refund_exceeds_order"): ("warn", "o0"),
    ("refunds", "unlinked_refunds"): ("warn", 0.5),
    ("events", "future_timestamps"): ("warn", 1.0),
    ("events", "pii_in_text:query"): ("fail", 1.0),
    ("consents", "consent_coverage"): ("warn", 0.5),
}


@pytest.fixture(scope="module")
def clean_checks() -> pd.DataFrame:
    return audit(clean_store())


@pytest.fixture(scope="module")
def defective_checks() -> pd.DataFrame:
    return audit(defective_store())


def test_clean_store_passes_every_check(clean_checks):
    assert list(clean_checks.columns) == CHECK_COLUMNS
    assert flagged(clean_checks) == set()
    assert set(clean_checks["status"]) <= {"pass", "n/a"}
    assert set(clean_checks["area"]) == set(AREAS)
    assert clean_checks["detail"].str.len().min() > 10


def test_defective_store_flags_exactly_the_planted_defects(defective_checks):
    assert flagged(defective_checks) == set(DEFECTS)


@pytest.mark.parametrize("key", sorted(DEFECTS), ids=lambda k: f"{k[0]}.{k[1]}")
def test_planted_defect_is_reported_with_its_number_and_a_fix(defective_checks, clean_checks, key):
    status, evidence = DEFECTS[key]
    row = check(defective_checks, *key)
    assert row["status"] == status
    if isinstance(evidence, str):
        assert evidence in row["detail"]
    else:
        assert row["value"] == pytest.approx(evidence)
    assert ";" in row["detail"]  # the sentence goes on to say what to do
    assert check(clean_checks, *key)["status"] == "pass"


def test_orphan_line_alone_is_flagged():
    frames = clean_store()
    add_rows(frames, "order_lines", [{"order_id": "ghost", "line_number": 1, "product_id": "p1",
                                      "quantity": 1.0, "unit_price": 5.0, "amount": 5.0}])
    checks = audit(frames)
    assert flagged(checks) == {("order_lines", "orphan_lines")}
    assert check(checks, "order_lines", "orphan_lines")["value"] == pytest.approx(1 / 105)


def test_raw_email_fails_unless_the_workspace_keeps_raw_pii():
    frames = clean_store()
    frames["customers"].loc[0, "email"] = "ann@example.com"
    assert flagged(audit(frames)) == {("customers", "raw_pii:email")}
    kept = pii_checks(warehouse_tables(make_warehouse(frames)), keep_raw_pii=True)
    assert set(kept["status"]) == {"pass"}
    assert "keep_raw_pii" in check(kept, "customers", "raw_pii:email")["detail"]


def test_stale_data_warns_relative_to_as_of():
    checks = audit(clean_store(), as_of=dt.date(2024, 9, 1))
    assert flagged(checks) == {("orders", "days_since_last"), ("events", "days_since_last")}
    assert check(checks, "orders", "days_since_last")["value"] == pytest.approx(69, abs=1)
    relaxed = timeliness_checks(warehouse_tables(make_warehouse(clean_store())), as_timestamp(dt.date(2024, 9, 1)),
                                stale_after_days=90)
    assert flagged(relaxed) == set()


def test_no_consent_at_all_fails():
    frames = clean_store()
    frames["consents"] = frames["consents"].iloc[0:0]
    tables = warehouse_tables(make_warehouse(frames))
    assert check(consent_checks(tables), "consents", "consent_coverage")["status"] == "fail"
    assert check(volume_checks(tables), "consents", "row_count")["status"] == "warn"


def test_latest_consent_row_wins_and_a_withdrawal_wins_a_tie():
    frames = clean_store()
    add_rows(frames, "consents", [
        {"customer_id": "c0", "purpose": "email", "granted": False, "recorded_at": pd.Timestamp("2024-01-01")},
        {"customer_id": "c1", "purpose": "email", "granted": False, "recorded_at": pd.Timestamp("2023-06-01")},
        {"customer_id": "c2", "purpose": "sms", "granted": False, "recorded_at": pd.Timestamp("2023-01-01")},
    ])
    wh = make_warehouse({"consents": frames["consents"]})
    latest = latest_consents(wh.table("consents")).execute()
    assert len(latest) == 6 * 5
    email = latest[latest["purpose"] == "email"].set_index("customer_id")["granted"]
    assert list(email.sort_index()) == [False, False, True, True, True, True]
    assert latest[(latest["customer_id"] == "c2") & (latest["purpose"] == "sms")]["granted"].item()


def test_negative_price_fails_and_guest_orders_and_missing_required_values_are_flagged():
    frames = clean_store()
    frames["products"].loc[0, "price"] = -1.0
    frames["orders"]["customer_id"] = None
    frames["orders"].loc[0, "currency"] = None
    tables = warehouse_tables(make_warehouse(frames))
    checks = pd.concat([consistency_checks(tables, AS_OF), completeness_checks(tables),
                        volume_checks(tables)])
    assert check(checks, "products", "nonpositive_price:price")["status"] == "fail"
    guests = check(checks, "orders", "null_share:customer_id")
    assert (guests["status"], guests["value"]) == ("fail", 1.0)
    assert check(checks, "orders", "null_share:currency")["status"] == "fail"
    assert check(checks, "orders", "repeat_customers")["status"] == "fail"


def test_empty_warehouse_says_what_to_load():
    checks = audit({})
    assert set(checks["status"]) <= set(STATUSES)
    assert check(checks, "orders", "row_count")["status"] == "fail"
    assert check(checks, "order_lines", "row_count")["status"] == "fail"
    assert check(checks, "customers", "consent_coverage")["status"] == "n/a"
    assert not (checks["area"] == "completeness").any()


def test_runs_on_a_subset_of_tables():
    wh = make_warehouse(clean_store())
    checks = run_checks({"orders": wh.table("orders")}, as_of=AS_OF)
    assert check(checks, "orders", "row_count")["value"] == 52
    assert list(checks.loc[checks["table"] == "order_lines", "status"]) == ["n/a"]  # nothing to check


def test_missing_months_lists_only_inner_gaps():
    months = pd.Series(pd.to_datetime(["2024-01-01", "2024-04-01", "2024-02-01"]))
    assert [str(p) for p in missing_months(months)] == ["2024-03"]
    assert missing_months(pd.Series([], dtype="datetime64[us]")) == []


def test_as_of_date_means_end_of_day_and_aware_times_become_utc():
    assert as_timestamp(dt.date(2024, 6, 30)) == pd.Timestamp("2024-06-30 23:59:59")
    aware = dt.datetime(2024, 6, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert as_timestamp(aware) == pd.Timestamp("2024-06-30 10:00")
    assert as_timestamp(None).tzinfo is None


def test_nan_in_float_columns_counts_as_missing():
    """Spark keeps a pandas NaN as NaN; the audit must read it as NULL, not as a number."""
    wh = make_warehouse(clean_store())
    wh.con.raw_sql("UPDATE order_lines SET discount_amount = 'NaN'::DOUBLE, amount = 'NaN'::DOUBLE "
                   "WHERE order_id = 'o1' AND line_number = 1")
    tables = warehouse_tables(wh)
    assert int(tables["order_lines"].amount.isnan().sum().execute()) == 1  # the NaN is really stored
    consistency = consistency_checks(tables, AS_OF)
    assert check(consistency, "order_lines", "amount_mismatch")["value"] == 0
    missing = check(completeness_checks(tables), "order_lines", "null_share:amount")
    assert missing["value"] == pytest.approx(1 / 104)
