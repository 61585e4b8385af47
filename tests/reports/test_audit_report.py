"""The audit report: one offline HTML file with every check, the readiness table and the charts."""

from __future__ import annotations

import re

import pytest

from audit.audit_store import AS_OF, clean_store, make_warehouse
from storelift.audit import run_audit
from storelift.reports import write_audit_report
from storelift.reports.html import plotly_js


@pytest.fixture(scope="module")
def result():
    frames = clean_store()
    frames["customers"].loc[0, "email"] = "ann@example.com"
    return run_audit(make_warehouse(frames), as_of=AS_OF)


@pytest.fixture(scope="module")
def page(result, tmp_path_factory):
    path = write_audit_report(result, tmp_path_factory.mktemp("reports") / "audit.html", store_name="Mugs & Co")
    assert path.exists() and path.suffix == ".html"
    return path.read_text(encoding="utf-8")


def test_report_works_offline(page):
    assert page.count(plotly_js()[:120]) == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    outside_bundle = page.replace(plotly_js(), "")  # the bundle's own strings are not page links
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", outside_bundle, re.I)
    assert "@import" not in page and "url(" not in page.split("</style>")[0]


def test_report_lists_every_check_and_capability(page, result):
    for name in set(result.checks["check"]):
        assert f"<td>{name}</td>" in page, name
    for capability in result.readiness["capability"]:
        assert f"<td>{capability}</td>" in page
    assert "Mugs &amp; Co" in page


def test_report_draws_the_five_charts(page):
    assert page.count("Plotly.newPlot") == 5
    for title in ("AI readiness by capability", "Orders and revenue by month", "Check results by area",
                  "Missing values per column", "Consent coverage per purpose"):
        assert title in page


def test_failures_lead_the_fix_list_in_red(page):
    fix_list = page.split('id="what-to-fix-first"')[1].split('id="ai-readiness"')[0]
    assert '<span class="badge s-fail">fail</span>' in fix_list
    assert "raw_pii:email" in fix_list
    assert "s-pass" not in fix_list


def test_empty_warehouse_still_renders(tmp_path):
    wh = make_warehouse({})
    page = write_audit_report(run_audit(wh, as_of=AS_OF), tmp_path / "empty.html").read_text(encoding="utf-8")
    assert "No orders are loaded yet" in page
    assert "No customers are loaded" in page
    assert page.count(plotly_js()[:120]) == 1
