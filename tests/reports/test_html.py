"""The generic report builder: escaped content, coloured statuses, plotly.js inlined once, no CDN."""

from __future__ import annotations

import re

import pandas as pd
import plotly.graph_objects as go
import pytest

from storelift.reports import Report
from storelift.reports.html import format_cell, plotly_js

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def bar(n: int) -> go.Figure:
    return go.Figure(go.Bar(x=list(range(n)), y=list(range(n))))


def test_page_with_figures_inlines_plotly_js_once_and_loads_nothing_remote(tmp_path):
    path = (Report("Lift", footer="test")
            .add_heading("One").add_figure(bar(3), caption="first")
            .add_heading("Two").add_figure(bar(4))
            .write(tmp_path / "sub" / "lift.html"))
    page = path.read_text(encoding="utf-8")
    assert path.exists() and path.parent.name == "sub"
    assert page.count(plotly_js()[:120]) == 1
    assert page.index(plotly_js()[:120]) < page.index("Plotly.newPlot")  # library before the first figure
    assert page.count("Plotly.newPlot") == 2
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
    assert not EXTERNAL.search(page.replace(plotly_js(), ""))  # the bundle's own strings are not page links
    assert "<figcaption>first</figcaption>" in page


def test_page_without_figures_carries_no_javascript():
    page = Report("Plain").add_text("hello").to_html()
    assert "<script" not in page
    assert "<p>hello</p>" in page


def test_text_and_table_cells_are_escaped():
    frame = pd.DataFrame({"name": ["<script>alert(1)</script>"], "n": [1]})
    page = Report("T & <b>", footer="x").add_text("a < b & c").add_table(frame).to_html()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a &lt; b &amp; c" in page
    assert "<title>T &amp; &lt;b&gt;</title>" in page


def test_status_cells_become_coloured_badges_and_bad_rows_are_tinted():
    frame = pd.DataFrame({"check": ["a", "b", "c"], "status": ["pass", "warn", "fail"], "value": [1.0, 0.25, 3.0]})
    page = Report("S").add_table(frame).to_html()
    assert '<span class="badge s-pass">pass</span>' in page
    assert '<tr class="row-fail"><td>c</td><td><span class="badge s-fail">fail</span>' in page
    assert '<tr class="row-warn">' in page
    assert ".badge.s-fail { background: #cf222e; }" in page
    assert '<td class="num">0.250</td>' in page


def test_headings_get_unique_anchors_and_a_table_of_contents():
    page = Report("H").add_heading("Checks").add_heading("Checks").add_heading("Detail", level=3).to_html()
    assert '<h2 id="checks">' in page and '<h2 id="checks-2">' in page
    assert '<a href="#checks">Checks</a><a href="#checks-2">Checks</a>' in page
    assert 'href="#detail"' not in page  # level-3 headings stay out of the contents
    with pytest.raises(ValueError, match="heading level"):
        Report("H").add_heading("x", level=1)


def test_long_tables_are_cut_with_a_note_and_empty_ones_say_so():
    page = Report("L").add_table(pd.DataFrame({"x": range(50)}), max_rows=10, caption="xs").to_html()
    assert page.count("<tr><td") == 10
    assert "xs (first 10 of 50 rows)" in page
    assert "no rows" in Report("E").add_table(pd.DataFrame({"x": []})).to_html()


def test_metric_cards_and_cell_formats():
    page = Report("M").add_metrics([("score", 87.456, "of 100"), ("rows", 12000.0)]).to_html()
    assert '<div class="value">87.5</div><div class="note">of 100</div>' in page
    assert '<div class="value">12,000</div>' in page
    assert format_cell(None) == "" and format_cell(float("nan")) == ""
    assert format_cell(pd.Timestamp("2024-01-01")) == "2024-01-01"
    assert format_cell(pd.Timestamp("2024-01-01 10:30")) == "2024-01-01 10:30"
    assert format_cell(1234567) == "1,234,567"
