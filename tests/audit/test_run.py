"""run_audit ties checks, readiness and a summary together; results round-trip through JSON."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from audit.audit_store import AS_OF, check, clean_store, make_warehouse
from storelift import Workspace
from storelift.audit import AuditResult, audit_workspace, run_audit


@pytest.fixture(scope="module")
def clean_result() -> AuditResult:
    return run_audit(make_warehouse(clean_store()), as_of=AS_OF)


@pytest.fixture(scope="module")
def broken_result() -> AuditResult:
    frames = clean_store()
    frames["customers"].loc[0, "email"] = "ann@example.com"  # fail
    frames["orders"].loc[5, "currency"] = "USD"  # warn
    return run_audit(make_warehouse(frames), as_of=AS_OF)


def summary(result: AuditResult) -> dict[str, float]:
    return result.summary.set_index("metric")["value"].to_dict()


def test_clean_store_scores_100_with_no_issues(clean_result):
    s = summary(clean_result)
    assert (s["fail"], s["warn"], s["score"]) == (0, 0, 100)
    assert s["pass"] + s["n/a"] == s["checks"] == len(clean_result.checks)
    assert s["tables"] == 7  # customers, products, orders, order_lines, refunds, events, consents
    assert s["rows"] == 6 + 5 + 52 + 104 + 1 + 52 + 30
    assert clean_result.issues().empty
    assert clean_result.as_of == AS_OF


def test_score_and_issues_reflect_failures_first(broken_result):
    s = summary(broken_result)
    assert (s["fail"], s["warn"]) == (1, 1)
    applicable = s["pass"] + s["warn"] + s["fail"]
    assert broken_result.score == pytest.approx(100 * (s["pass"] + 0.5) / applicable)
    issues = broken_result.issues()
    assert list(issues["check"]) == ["raw_pii:email", "mixed_currencies"]
    assert list(issues["status"]) == ["fail", "warn"]


def test_monthly_orders_and_revenue_match_the_lines(clean_result):
    monthly = clean_result.monthly
    store = clean_store()
    assert list(monthly.columns) == ["month", "orders", "customers", "revenue"]
    assert monthly["orders"].sum() == 52
    assert monthly["revenue"].sum() == pytest.approx(store["order_lines"]["amount"].sum())
    assert monthly["month"].is_monotonic_increasing
    assert monthly["month"].iloc[0] == pd.Timestamp("2023-07-01")


def test_result_round_trips_through_json(broken_result):
    text = broken_result.to_json()
    assert "NaN" not in text  # valid JSON: missing numbers are null
    raw = json.loads(text)
    assert raw["as_of"].startswith("2024-06-30")
    assert {"summary", "checks", "readiness", "monthly", "profile"} <= set(raw)
    back = AuditResult.from_json(text)
    pd.testing.assert_frame_equal(back.checks, broken_result.checks)
    pd.testing.assert_frame_equal(back.readiness, broken_result.readiness)
    assert back.score == pytest.approx(broken_result.score)
    assert len(back.monthly) == len(broken_result.monthly)


def test_audit_workspace_follows_its_keep_raw_pii_setting(tmp_path):
    raw = pd.DataFrame({"customer_id": ["c0"], "email": ["ann@example.com"]})
    strict = Workspace.init(tmp_path / "strict")
    strict.warehouse.insert("customers", raw)
    relaxed = Workspace.init(tmp_path / "relaxed", keep_raw_pii=True)
    relaxed.warehouse.insert("customers", raw)
    try:
        assert check(audit_workspace(strict, as_of=AS_OF).checks, "customers", "raw_pii:email")["status"] == "fail"
        kept = audit_workspace(relaxed, as_of=AS_OF)
        assert check(kept.checks, "customers", "raw_pii:email")["status"] == "pass"
        assert kept.keep_raw_pii
    finally:
        strict.close()
        relaxed.close()
