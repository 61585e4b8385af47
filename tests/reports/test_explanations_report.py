"""The explanations report on a scored synthetic workspace: written offline with every section, customers only
under their stored ids, and the share of decisions that say why; on an empty workspace it says what to run."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from storelift.cli import ingest_paths
from storelift.cli_customers import run_scoring
from storelift.cli_recommend import run_fit
from storelift.reports.explanations_report import (
    EXPLANATION_COVERAGE_COLUMNS, decision_explanation_coverage, example_customers, write_explanations_report,
)
from storelift.reports.html import plotly_js
from storelift.synth import generate_store
from storelift.workspace import Workspace

DECISIONS = pd.DataFrame({
    "decision_id": ["d1", "d2", "d3", "d4"],
    "decided_at": [pd.Timestamp("2025-01-02")] * 4,
    "customer_id": ["C0000001"] * 4,
    "initiative": ["recommendations", "recommendations", "recommendations", "winback_email"],
    "arm": ["treatment"] * 4,
    "explanation": ["personalized by EASE from this customer's activity", "  ", None, "at risk of churn"],
})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    ws = Workspace.init(tmp_path_factory.mktemp("explanations") / "store")
    generate_store(ws.root / "data" / "synthetic", customers=300, seed=3, events=False)
    ingest_paths(ws, [ws.root / "data" / "synthetic"])
    run_scoring(ws, "2025-01-01")
    run_fit(ws, "ease")
    ws.warehouse.insert("decisions", DECISIONS)
    yield ws
    ws.close()


@pytest.fixture(scope="module")
def page(workspace):
    path = write_explanations_report(workspace)
    assert path == workspace.reports_dir / "explanations.html" and path.exists()
    return path.read_text(encoding="utf-8")


def test_report_has_every_section_and_works_offline(page):
    for heading in ("Churn: what drives the risk", "Lifetime value: what drives it", "Why, for a few customers",
                    "Recommendations: a reason per item", "Decisions: how many say why"):
        assert f">{heading}</h2>" in page, heading
    assert "days since the last order" in page  # churn importance
    assert "repeat purchases" in page and "average repeat-purchase value" in page  # CLV drivers
    assert page.count(plotly_js()[:120]) == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)


def test_examples_carry_churn_and_clv_reasons(page, workspace):
    scores = workspace.warehouse.table("customer_scores").execute()
    picks = example_customers(scores)
    assert len(picks) >= 3 and picks["customer_id"].is_unique
    for customer in picks["customer_id"]:
        assert f"customer {customer}" in page
    assert page.count("P(alive)") >= len(picks)
    assert "by the spend model" in page and "discounting = CLV" in page
    assert page.count("<td>churn risk</td>") >= len(picks)


def test_customers_appear_only_by_their_stored_pseudonymous_ids(page, workspace):
    assert "pseudonymous" in page
    raw = pd.read_parquet(workspace.root / "data" / "synthetic" / "customers.parquet")
    stored = set(workspace.warehouse.table("customers").customer_id.execute())
    for column in ("email", "phone", "street_address"):
        values = [v for v in raw[column].dropna().astype(str) if v not in stored]
        assert values and not any(v in page for v in values), column


def test_recommendation_lists_give_a_reason_per_item(page):
    start = page.index(">Recommendations: a reason per item</h2>")
    section = page[start:page.index(">Decisions: how many say why</h2>")]
    assert "<th>reason</th>" in section and section.count("<tr>") >= 3


def test_decision_coverage_counts_non_empty_explanations(workspace, page):
    coverage = decision_explanation_coverage(workspace.warehouse.table("decisions")).set_index("initiative")
    assert list(coverage.reset_index().columns) == list(EXPLANATION_COVERAGE_COLUMNS)
    assert coverage.loc["recommendations", ["decisions", "explained"]].tolist() == [3, 1]
    assert coverage.at["winback_email", "share_explained"] == 1.0
    assert "33.3%" in page and "50.0%" in page  # per initiative, and over all four decisions


def test_an_empty_workspace_gets_a_report_saying_what_to_run(tmp_path):
    ws = Workspace.init(tmp_path / "empty")
    try:
        path = write_explanations_report(ws, tmp_path / "out" / "why.html")
        text = path.read_text(encoding="utf-8")
    finally:
        ws.close()
    assert "storelift customers score" in text and "storelift recommend fit" in text
    assert "No automated decision has been recorded yet" in text
