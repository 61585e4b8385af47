"""The storelift command: exit codes, messages and the demo end to end."""

import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from storelift.cli import app

runner = CliRunner()


def test_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "ingest", "quarantine", "audit", "synth", "demo", "schema", "customers", "recommend"):
        assert command in result.output


def test_ingest_outside_a_workspace_says_what_to_do(tmp_path):
    result = runner.invoke(app, ["ingest", "-w", str(tmp_path), str(tmp_path / "x.csv")])
    assert result.exit_code == 2
    assert "storelift init" in result.output


def test_ingest_of_a_missing_file_fails_with_the_path(tmp_path):
    runner.invoke(app, ["init", str(tmp_path / "ws")])
    result = runner.invoke(app, ["ingest", "-w", str(tmp_path / "ws"), str(tmp_path / "nope.csv")])
    assert result.exit_code == 4 and "nope.csv: no such file" in result.output


def test_ingest_json_report_reconciles_and_quarantine_shows_the_reason(tmp_path):
    ws = tmp_path / "ws"
    runner.invoke(app, ["init", str(ws)])
    (tmp_path / "orders.csv").write_text(
        "order_id,ordered_at,currency\no1,2024-01-01,GBP\no2,2024-01-02,GBX\n")
    result = runner.invoke(app, ["ingest", "-w", str(ws), "--json", str(tmp_path / "orders.csv")])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)[0]
    assert (report["rows_read"], report["rows_loaded"], report["rows_quarantined"], report["reconciles"]) == (2, 1, 1, True)
    shown = runner.invoke(app, ["quarantine", "-w", str(ws)], env={"COLUMNS": "250"})
    assert "not an ISO 4217 currency" in shown.output


def test_demo_runs_end_to_end(tmp_path):
    result = runner.invoke(app, ["demo", "--directory", str(tmp_path / "demo"), "--customers", "400"])
    assert result.exit_code == 0, result.output
    report = tmp_path / "demo" / "reports" / "audit.html"
    assert report.exists() and report.stat().st_size > 100_000
    assert "readiness by capability" in result.output
    tables = runner.invoke(app, ["tables", "-w", str(tmp_path / "demo")])
    assert "order_lines" in tables.output and " 0 " not in tables.output.split("order_lines")[1].split("\n")[0]
    measurement = tmp_path / "demo" / "reports" / "measurement.html"
    assert "planted effect" in result.output and "ROI" in result.output
    page = measurement.read_text()
    assert "Campaign readout" in page and "Shapley" in page and "Return on investment" in page
    assert "Qini curve" in page and "Response curves" in page and "Marketing mix" in page


def test_demo_scores_customers_and_the_customers_commands_read_them(tmp_path):
    ws = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--directory", str(ws), "--customers", "600"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "RFM segments" in result.output and "to win back" in result.output
    assert (ws / "reports" / "customers.html").exists()
    manifests = list((ws / "models").glob("customers-*/manifest.json"))
    assert len(manifests) == 1

    from storelift.artifacts import load_models
    from storelift.workspace import Workspace

    version, models = load_models(ws / "models", prefix="customers-")
    assert set(models) == {"clusters", "bgnbd", "gamma_gamma", "churn"}
    scores = Workspace.open(ws).warehouse.table("customer_scores").execute()
    assert (scores["model_version"] == version).all() and scores["customer_id"].is_unique

    someone = scores.sort_values("churn_probability").customer_id.iloc[-1]
    shown = runner.invoke(app, ["customers", "show", someone, "-w", str(ws)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "churn_reasons" in shown.output and someone in shown.output
    # a run that explains only the 50 likeliest churners; show explains the others on demand
    rescored = runner.invoke(app, ["customers", "score", "-w", str(ws), "--as-of", "2025-01-01", "--explain", "50"])
    assert rescored.exit_code == 0, rescored.output
    t = Workspace.open(ws).warehouse.table("customer_scores")
    latest = t.filter(t.model_version == t.model_version.max()).execute()
    assert latest.churn_reasons.notna().sum() == 50
    quiet = latest[latest.churn_reasons.isna()].customer_id.iloc[0]
    later = runner.invoke(app, ["customers", "show", quiet, "-w", str(ws)], env={"COLUMNS": "200"})
    assert later.exit_code == 0 and re.search(r"churn_reasons .*\([+-]\d", later.output), later.output
    missing = runner.invoke(app, ["customers", "show", "nobody", "-w", str(ws)])
    assert missing.exit_code == 1 and "no scores for customer 'nobody'" in missing.output

    segments = runner.invoke(app, ["customers", "segments", "-w", str(ws), "--as-of", "2025-01-01"])
    assert segments.exit_code == 0 and "Champions" in segments.output and "top 20%" in segments.output
    clv = runner.invoke(app, ["customers", "clv", "-w", str(ws), "--calibration-end", "2024-07-01",
                              "--holdout-end", "2025-01-01"], env={"COLUMNS": "200"})
    assert clv.exit_code == 0, clv.output
    assert "BG/NBD" in clv.output and "Gamma-Gamma" in clv.output and "holdout" in clv.output


def test_customers_score_without_orders_says_what_to_load(tmp_path):
    runner.invoke(app, ["init", str(tmp_path / "empty")])
    result = runner.invoke(app, ["customers", "score", "-w", str(tmp_path / "empty")])
    assert result.exit_code != 0
    assert "load orders first" in result.output
    assert "Traceback" not in result.output


def test_demo_recommends_and_the_recommend_commands_respect_consent(tmp_path):
    ws = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--directory", str(ws), "--customers", "500"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "leave-one-out" in result.output and "because you showed interest in" in result.output
    assert len(list((ws / "models").glob("recommend-ease-*/manifest.json"))) == 1
    page = (ws / "reports" / "recommendations.html").read_text()
    assert "because you showed interest in" in page and "Exposure by category" in page

    evaluated = runner.invoke(app, ["recommend", "evaluate", "-w", str(ws), "--model", "popularity",
                                    "--model", "itemknn"], env={"COLUMNS": "200"})
    assert evaluated.exit_code == 0 and "Popularity" in evaluated.output and "ItemKNN" in evaluated.output
    temporal = runner.invoke(app, ["recommend", "evaluate", "-w", str(ws), "--cutoff", "2024-10-01"],
                             env={"COLUMNS": "200"})
    assert temporal.exit_code == 0 and "temporal split at 2024-10-01" in temporal.output and "MAP@10" in temporal.output

    from storelift.workspace import Workspace

    consents = Workspace.open(ws).warehouse.table("consents").execute()
    latest = (consents[consents.purpose == "personalization"].sort_values("recorded_at")
              .groupby("customer_id").granted.last())
    withdrawn = latest[~latest].index[0]
    shown = runner.invoke(app, ["recommend", "show", withdrawn, "-w", str(ws), "-k", "3"], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "consent is not granted" in shown.output and "because you" not in shown.output
    assert shown.output.count("popular in") == 3
    bad = runner.invoke(app, ["recommend", "fit", "-w", str(ws), "--model", "nope"])
    assert bad.exit_code == 1 and "--model 'nope' is not known" in bad.output

    by_country = runner.invoke(app, ["recommend", "fit", "-w", str(ws), "--segment-by", "country"],
                               env={"COLUMNS": "200"})
    assert by_country.exit_code == 0 and "popular lists for" in by_country.output, by_country.output
    country = Workspace.open(ws).warehouse.table("customers").execute()["country"].mode().iat[0]
    in_context = runner.invoke(app, ["recommend", "show", withdrawn, "-w", str(ws), "-k", "3", "--context", country],
                               env={"COLUMNS": "200"})
    assert in_context.exit_code == 0 and in_context.output.count(f"popular with {country} shoppers") == 3
    bpr = runner.invoke(app, ["recommend", "fit", "-w", str(ws), "--model", "bpr"], env={"COLUMNS": "200"})
    assert bpr.exit_code == 0 and "BPR fitted on" in bpr.output, bpr.output
    consenting = latest[latest].index[0]
    by_bpr = runner.invoke(app, ["recommend", "show", consenting, "-w", str(ws), "-k", "3"], env={"COLUMNS": "200"})
    assert by_bpr.exit_code == 0 and "recommend-bpr-" in by_bpr.output, by_bpr.output
    sasrec = runner.invoke(app, ["recommend", "fit", "-w", str(ws), "--model", "sasrec"], env={"COLUMNS": "200"})
    assert sasrec.exit_code == 0 and "SASRec fitted on" in sasrec.output, sasrec.output
    by_sasrec = runner.invoke(app, ["recommend", "show", consenting, "-w", str(ws), "-k", "3"], env={"COLUMNS": "200"})
    assert by_sasrec.exit_code == 0 and "recommend-sasrec-" in by_sasrec.output, by_sasrec.output
    assert "because you showed interest in" in by_sasrec.output
    sequential = runner.invoke(app, ["recommend", "evaluate", "-w", str(ws), "--model", "sasrec"],
                               env={"COLUMNS": "200"})
    assert sequential.exit_code == 0 and "SASRec" in sequential.output, sequential.output
    temporal_sasrec = runner.invoke(app, ["recommend", "evaluate", "-w", str(ws), "--model", "sasrec",
                                          "--model", "popularity", "--cutoff", "2024-10-01"], env={"COLUMNS": "200"})
    assert temporal_sasrec.exit_code == 0 and "SASRec" in temporal_sasrec.output, temporal_sasrec.output
    unknown = runner.invoke(app, ["recommend", "fit", "-w", str(ws), "--segment-by", "shoe_size"])
    assert unknown.exit_code == 1 and "--segment-by 'shoe_size' names no customer column" in unknown.output
    assert "country" in unknown.output and "Traceback" not in unknown.output


def test_sasrec_trains_on_a_sampled_softmax_above_the_full_softmax_catalog_size(monkeypatch):
    pytest.importorskip("torch", reason="SASRec needs the recommend extra (torch)")
    from storelift import cli_recommend
    from storelift.recommend import ItemCatalog, interaction_matrix

    at = pd.Timestamp("2024-05-01")
    evidence = pd.DataFrame([(f"c{u}", f"p{(u + step) % 6}", "purchase", at + pd.Timedelta(days=step))
                             for u in range(12) for step in range(4)],
                            columns=["user_id", "item_id", "event", "occurred_at"])
    interactions = interaction_matrix(evidence, binary=True)
    catalog = ItemCatalog.from_products(pd.DataFrame({"product_id": list(interactions.items)}), interactions.items)
    small = cli_recommend.fit_sequential(evidence, interactions, catalog, at + pd.Timedelta(days=9))
    monkeypatch.setattr(cli_recommend, "FULL_SOFTMAX_MAX_ITEMS", 5)
    large = cli_recommend.fit_sequential(evidence, interactions, catalog, at + pd.Timedelta(days=9))
    assert (small.loss, large.loss) == ("ce", "sampled")
    assert [s.tolist() for s in small.sequences_][:2] == [[0, 1, 2, 3], [1, 2, 3, 4]]
