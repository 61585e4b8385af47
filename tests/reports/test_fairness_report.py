"""The fairness report on a workspace built from a synthetic store with a planted bias: written offline,
the flagged group marked as failing, before/after mitigation, campaigns and recommendation exposure."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fairlearn", reason="fairness audits come with the governance extra")

from storelift.cli import ingest_paths  # noqa: E402
from storelift.cli_recommend import run_fit  # noqa: E402
from storelift.governance.fairness_store import workspace_fairness  # noqa: E402
from storelift.reports.fairness_report import write_fairness_report  # noqa: E402
from storelift.reports.html import plotly_js  # noqa: E402
from storelift.synth import generate_store  # noqa: E402
from storelift.synth.bias import PlantedBias  # noqa: E402
from storelift.workspace import Workspace  # noqa: E402


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    ws = Workspace.init(tmp_path_factory.mktemp("fairness") / "store")
    generate_store(ws.root / "data" / "synthetic", customers=1500, seed=8, events=False,
                   planted_bias=PlantedBias("female", "gender", 0.7))
    ingest_paths(ws, [ws.root / "data" / "synthetic"])
    run_fit(ws, "ease")
    found = workspace_fairness(ws, exposure_customers=100)
    yield ws, found
    ws.close()


@pytest.fixture(scope="module")
def page(result):
    ws, found = result
    path = write_fairness_report(found, ws.reports_dir / "fairness.html", store_name=ws.config.name)
    assert path == ws.reports_dir / "fairness.html" and path.exists()
    return path.read_text(encoding="utf-8")


def test_the_workspace_audit_flags_the_planted_group(result):
    _, found = result
    flagged = found.targeting.flagged
    assert ("gender", "female") in set(zip(flagged["attribute"], flagged["group"]))
    assert found.targeting.mitigated_attribute == "gender"
    assert set(found.exposure) == {"vendor", "brand", "category"}
    for table in found.exposure.values():
        assert abs(table["exposure_share"].sum() - 1) < 1e-9 and abs(table["catalog_share"].sum() - 1) < 1e-9


def test_report_marks_the_flagged_group_as_failing(page):
    row = re.search(r'<tr class="row-fail"><td><span class="badge s-fail">fail</span></td><td>female</td>', page)
    assert row, "the flagged group's row is not marked fail"
    assert not re.search(r'<span class="badge s-fail">fail</span></td><td>male</td>', page)


def test_report_has_every_section(page):
    for heading in ("Targeting audience", "By gender", "By age band", "Mitigation", "Campaign audiences",
                    "winback_email_test", "Recommendation exposure", "By vendor", "By brand", "By category"):
        assert f">{heading}</h" in page, heading
    assert "Each group before and after mitigation." in page
    assert page.count(plotly_js()[:120]) == 1
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I)
