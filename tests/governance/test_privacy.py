"""Differential privacy: noise that covers its stated accuracy at the stated rate, contribution bounding per
customer, public segments, and an epsilon budget that accumulates, persists and refuses overspending."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from storelift.errors import StoreliftError
from storelift.governance.privacy import RELEASE_COLUMNS, private_counts, private_sums
from storelift.governance.privacy_budget import (
    BUDGET_FILE, LEDGER_COLUMNS, BudgetExceededError, DifferentialPrivacyError, EpsilonBudget, WorkspaceBudget,
    set_total_epsilon,
)
from storelift.governance.privacy_report import MONETARY_BOUNDS, dp_segment_report

DRAWS = 2_000


def binomial_tolerance(p, n=DRAWS, sds=4.5):
    """4.5 standard deviations of a share over n draws: a false alarm about once in 150,000 runs."""
    return sds * math.sqrt(p * (1 - p) / n)


def many_segments(rng, n_segments=DRAWS):
    """Customers spread over many segments: each segment's noise is one independent draw."""
    sizes = rng.integers(0, 6, n_segments)
    segment = np.repeat(np.arange(n_segments), sizes)
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(segment))],
                          "segment": [f"s{s}" for s in segment],
                          "spend": rng.uniform(0, 100, len(segment))})
    return frame, [f"s{s}" for s in range(n_segments)]


def test_counts_cover_their_accuracy_95_at_the_discrete_laplace_rate_and_are_unbiased():
    frame, segments = many_segments(np.random.default_rng(1))
    release = private_counts(frame, "segment", segments, epsilon=0.05)
    truth = frame.groupby("segment").size().reindex(segments, fill_value=0).to_numpy()
    error = release["value"].to_numpy() - truth
    scale, accuracy = release["noise_scale"].iloc[0], release["accuracy_95"].iloc[0]
    # discrete Laplace: P(|X| <= m) = 1 - 2 q^(m+1) / (1 + q), q = exp(-1/scale)
    q = math.exp(-1 / scale)
    expected = 1 - 2 * q ** (math.floor(accuracy) + 1) / (1 + q)
    assert expected >= 0.95
    assert abs(np.mean(np.abs(error) <= accuracy) - expected) <= binomial_tolerance(expected)
    assert abs(error.mean()) <= 4.5 * math.sqrt(2) * scale / math.sqrt(DRAWS)


def test_sums_cover_their_accuracy_95_at_95_percent_and_are_unbiased():
    frame, segments = many_segments(np.random.default_rng(2))
    release = private_sums(frame, "segment", "spend", segments, epsilon=1.0, bounds=(0, 100))
    truth = frame.groupby("segment")["spend"].sum().reindex(segments, fill_value=0.0).to_numpy()
    error = release["value"].to_numpy() - truth
    scale, accuracy = release["noise_scale"].iloc[0], release["accuracy_95"].iloc[0]
    assert accuracy == pytest.approx(scale * math.log(20))
    assert abs(np.mean(np.abs(error) <= accuracy) - 0.95) <= binomial_tolerance(0.95)
    assert abs(error.mean()) <= 4.5 * math.sqrt(2) * scale / math.sqrt(DRAWS)


def test_noise_scale_follows_sensitivity_over_epsilon():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["x", "y"], "spend": [1.0, 2.0]})
    counts = private_counts(frame, "segment", ["x", "y"], epsilon=0.5)
    sums = private_sums(frame, "segment", "spend", ["x", "y"], epsilon=0.5, bounds=(-300, 200))
    assert counts["noise_scale"].iloc[0] == pytest.approx(2.0)
    assert sums["sensitivity"].iloc[0] == 300
    assert sums["noise_scale"].iloc[0] == pytest.approx(600, rel=1e-6)
    assert (sums["noise_scale"] >= 600).all()  # never less noise than the sensitivity asks for


def test_a_release_has_the_documented_columns_and_fresh_noise_each_time():
    frame, segments = many_segments(np.random.default_rng(3), n_segments=50)
    first = private_sums(frame, "segment", "spend", segments, epsilon=1.0, bounds=(0, 100))
    second = private_sums(frame, "segment", "spend", segments, epsilon=1.0, bounds=(0, 100))
    assert list(first.columns) == ["segment", *RELEASE_COLUMNS]
    assert (first["statistic"] == "sum of spend").all() and (first["epsilon"] == 1.0).all()
    assert not np.allclose(first["value"], second["value"])
    truth = frame.groupby("segment")["spend"].sum().reindex(segments, fill_value=0.0)
    assert not np.isclose(first["value"].to_numpy(), truth.to_numpy()).any()
    counts = private_counts(frame, "segment", segments, epsilon=1.0)
    assert counts["value"].dtype == "int64"
    within_noise = counts["value"].abs() <= counts["accuracy_95"]
    assert counts.loc[within_noise, "relative_accuracy"].isna().all()
    clear = counts[~within_noise]
    assert np.allclose(clear["relative_accuracy"], clear["accuracy_95"] / clear["value"].abs())


def test_a_customer_with_many_rows_counts_once():
    frame = pd.DataFrame({"customer_id": ["a"] * 40 + ["b", "c"], "segment": ["x"] * 41 + ["y"]})
    release = private_counts(frame, "segment", ["x", "y"], epsilon=50).set_index("segment")
    assert release["value"].to_dict() == {"x": 2, "y": 1}


def test_a_customer_in_several_segments_counts_in_the_one_with_most_rows_ties_to_the_first_listed():
    frame = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b"], "segment": ["y", "x", "y", "y", "x"],
                          "spend": [10.0, 1000.0, 20.0, 5.0, 7.0]})
    counts = private_counts(frame, "segment", ["x", "y"], epsilon=50).set_index("segment")
    assert counts["value"].to_dict() == {"x": 1, "y": 1}  # a: y (2 rows to 1); b: tie, x is listed first
    sums = private_sums(frame, "segment", "spend", ["x", "y"], epsilon=1e4, bounds=(0, 5000)).set_index("segment")
    assert sums.at["x", "value"] == pytest.approx(7.0, abs=5)  # b's row in x only
    assert sums.at["y", "value"] == pytest.approx(30.0, abs=5)  # a's rows in y only


def test_sums_clamp_each_customer_total_to_the_bounds():
    frame = pd.DataFrame({"customer_id": ["a"] * 10 + ["b", "c"], "segment": ["x"] * 11 + ["y"],
                          "spend": [100.0] * 10 + [50.0, -80.0]})
    release = private_sums(frame, "segment", "spend", ["x", "y"], epsilon=1e4, bounds=(-20, 300))
    values = release.set_index("segment")["value"]
    assert values["x"] == pytest.approx(300 + 50, abs=1)  # a's 1,000 clamps to 300
    assert values["y"] == pytest.approx(-20, abs=1)
    assert release["sensitivity"].iloc[0] == 300


def test_rows_of_an_unlisted_segment_are_dropped_and_counted_in_attrs():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"], "segment": ["x", "x", "zz", "zz", None],
                          "spend": [10.0, 20.0, 400.0, 500.0, 600.0]})
    counts = private_counts(frame, "segment", ["x"], epsilon=50)
    assert counts["segment"].tolist() == ["x"] and counts["value"].tolist() == [2]
    assert counts.attrs["dropped_customers"] == 3 and counts.attrs["dropped_customers_accuracy_95"] > 0
    sums = private_sums(frame, "segment", "spend", ["x"], epsilon=1e4, bounds=(0, 1000))
    assert sums["value"].iloc[0] == pytest.approx(30, abs=2)
    assert sums.attrs["dropped_sum"] == pytest.approx(1500, abs=2)


def test_an_empty_listed_segment_is_still_released_with_noise():
    frame = pd.DataFrame({"customer_id": ["a"], "segment": ["x"], "spend": [1.0]})
    releases = [private_counts(frame, "segment", ["x", "empty"], epsilon=0.5).set_index("segment")
                for _ in range(12)]
    assert all("empty" in r.index for r in releases)
    assert len({r.at["empty", "value"] for r in releases}) > 1  # noise, not a constant zero


def test_segments_over_several_columns_are_tuples():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "country": ["UK", "UK", "FR"],
                          "tier": ["gold", "basic", "gold"]}, index=[7, 7, 7])
    release = private_counts(frame, ["country", "tier"], [("UK", "gold"), ("UK", "basic"), ("FR", "basic")],
                             epsilon=50)
    assert release[["country", "tier", "value"]].values.tolist() == [["UK", "gold", 1], ["UK", "basic", 1],
                                                                   ["FR", "basic", 0]]
    assert release.attrs["dropped_customers"] == 1


@pytest.mark.parametrize("epsilon", [0, -1, math.nan, math.inf, "lots", None])
def test_a_bad_epsilon_names_the_parameter(epsilon):
    frame = pd.DataFrame({"customer_id": ["a"], "segment": ["x"], "spend": [1.0]})
    with pytest.raises(DifferentialPrivacyError, match="epsilon"):
        private_counts(frame, "segment", ["x"], epsilon)
    with pytest.raises(DifferentialPrivacyError, match="epsilon"):
        private_sums(frame, "segment", "spend", ["x"], epsilon, (0, 10))


@pytest.mark.parametrize("bounds", [(10, 1), (5, 5), (0, math.inf), (math.nan, 1), (1,), "0-10", None])
def test_bad_bounds_name_the_parameter(bounds):
    frame = pd.DataFrame({"customer_id": ["a"], "segment": ["x"], "spend": [1.0]})
    with pytest.raises(DifferentialPrivacyError, match="bounds"):
        private_sums(frame, "segment", "spend", ["x"], 1.0, bounds)


def test_bad_columns_and_segments_name_the_parameter():
    frame = pd.DataFrame({"customer_id": ["a"], "segment": ["x"], "note": ["text"]})
    for call, word in [(lambda: private_counts(frame, "nope", ["x"], 1.0), "by"),
                       (lambda: private_counts(frame, "segment", [], 1.0), "segments"),
                       (lambda: private_counts(frame, "segment", ["x", "x"], 1.0), "segments"),
                       (lambda: private_counts(frame, "segment", ["x"], 1.0, customer_col="who"), "customer_col"),
                       (lambda: private_sums(frame, "segment", "note", ["x"], 1.0, (0, 1)), "value")]:
        with pytest.raises(DifferentialPrivacyError, match=word):
            call()
    assert issubclass(DifferentialPrivacyError, StoreliftError) and issubclass(BudgetExceededError, StoreliftError)


def test_the_budget_accumulates_and_refuses_overspending_naming_what_is_left():
    budget = EpsilonBudget(total_epsilon=1.0)
    budget.charge(0.3, "customer counts by segment")
    budget.charge(0.5, "sum of spend by segment")
    assert budget.spent == pytest.approx(0.8) and budget.remaining == pytest.approx(0.2)
    with pytest.raises(BudgetExceededError, match=r"only 0\.2 of 1 left.*smaller epsilon.*raise the total"):
        budget.charge(0.25, "another report")
    assert len(budget.releases) == 2
    budget.charge(0.2, "the last of it")  # exactly what is left is allowed
    assert budget.ledger()["spent"].iloc[-1] == pytest.approx(1.0)
    assert list(budget.ledger().columns) == LEDGER_COLUMNS


def test_a_release_charges_its_budget_before_drawing_noise_and_not_when_refused():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["x", "y"], "spend": [1.0, 2.0]})
    budget = EpsilonBudget(total_epsilon=1.0)
    private_counts(frame, "segment", ["x", "y"], 0.6, budget=budget)
    assert budget.releases[0]["what"].startswith("customer counts by segment")
    with pytest.raises(BudgetExceededError):
        private_sums(frame, "segment", "spend", ["x", "y"], 0.6, (0, 10), budget=budget)
    with pytest.raises(DifferentialPrivacyError, match="bounds"):  # a bad call spends nothing
        private_sums(frame, "segment", "spend", ["x", "y"], 0.1, (10, 0), budget=budget)
    assert budget.spent == pytest.approx(0.6)


def test_the_workspace_ledger_survives_reopening(tmp_path):
    WorkspaceBudget(tmp_path, default_total=2.0).charge(0.5, "customer counts by rfm_segment")
    WorkspaceBudget(tmp_path).charge(0.25, "sum of monetary by rfm_segment")
    reopened = WorkspaceBudget(tmp_path)
    ledger = reopened.ledger()
    assert ledger["what"].tolist() == ["customer counts by rfm_segment", "sum of monetary by rfm_segment"]
    assert ledger["epsilon"].tolist() == [0.5, 0.25]
    assert pd.to_datetime(ledger["released_at"]).dt.tz is not None  # times are UTC
    assert reopened.read().total_epsilon == 2.0 and reopened.remaining == pytest.approx(1.25)
    with pytest.raises(BudgetExceededError, match=r"1\.25 of 2 left"):
        reopened.charge(1.5, "a big release")
    assert json.loads((tmp_path / BUDGET_FILE).read_text())["total_epsilon"] == 2.0
    assert not (tmp_path / (BUDGET_FILE + ".tmp")).exists()


def test_a_failed_write_leaves_the_recorded_ledger_whole(tmp_path, monkeypatch):
    ledger = WorkspaceBudget(tmp_path)
    ledger.charge(0.5, "first release")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr("storelift.governance.privacy_budget.os.replace", crash)
    with pytest.raises(OSError):
        ledger.charge(0.5, "second release")
    monkeypatch.undo()
    assert WorkspaceBudget(tmp_path).ledger()["what"].tolist() == ["first release"]


def test_raising_the_total_is_deliberate_and_recorded(tmp_path):
    WorkspaceBudget(tmp_path, default_total=1.0).charge(0.8, "a report")
    with pytest.raises(DifferentialPrivacyError, match="reason"):
        set_total_epsilon(tmp_path, 5.0, reason="")
    with pytest.raises(DifferentialPrivacyError, match="already spent"):
        set_total_epsilon(tmp_path, 0.5, reason="tighter")
    budget = set_total_epsilon(tmp_path, 5.0, reason="approved for the annual report")
    assert budget.remaining == pytest.approx(4.2)
    stored = WorkspaceBudget(tmp_path).read()
    assert stored.total_changes[-1]["reason"] == "approved for the annual report" and stored.total_epsilon == 5.0


# -- the workspace report ------------------------------------------------------------------------

def scores(model_version, scored_at, segments, monetary):
    n = len(segments)
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "as_of": pd.Timestamp("2026-06-01"),
                         "model_version": model_version, "scored_at": pd.Timestamp(scored_at),
                         "rfm_segment": segments, "monetary": monetary})


@pytest.fixture
def scored(tmp_path):
    from storelift import Workspace

    ws = Workspace.init(tmp_path / "ws")
    ws.warehouse.insert("customer_scores", scores("v1", "2026-06-01 10:00", ["Lost"] * 6, [9.0] * 6))
    ws.warehouse.insert("customer_scores", scores(
        "v2", "2026-06-02 10:00", ["Champions", "Champions", "Champions", "Lost", "At risk", "Unheard of"],
        [100.0, 200.0, 9_000.0, 5.0, 50.0, 70.0]))
    yield ws
    ws.close()


def test_the_segment_report_releases_the_latest_run_and_records_both_spends(scored):
    set_total_epsilon(scored.root, 1e6, reason="near-exact figures for the test")
    report = dp_segment_report(scored, epsilon=2e5)
    assert list(report.columns) == ["rfm_segment", *RELEASE_COLUMNS]
    counts = report[report["statistic"] == "customers"].set_index("rfm_segment")["value"]
    sums = report[report["statistic"] == "sum of monetary"].set_index("rfm_segment")["value"]
    assert len(counts) == 11 and counts["Champions"] == 3 and counts["Lost"] == 1 and counts["Loyal"] == 0
    assert sums["Champions"] == pytest.approx(100 + 200 + MONETARY_BOUNDS[1], abs=1)  # 9,000 clamps
    assert sums["Lost"] == pytest.approx(5, abs=1)
    assert report.attrs["model_version"] == "v2" and report.attrs["dropped_customers"] == 1
    ledger = WorkspaceBudget(scored.root).ledger()
    assert ledger["epsilon"].tolist() == [1e5, 1e5] and "v2" in ledger["what"].iloc[0]
    assert report.attrs["epsilon_remaining"] == pytest.approx(1e6 - 2e5)


def test_the_segment_report_spends_nothing_when_the_budget_is_short(scored):
    dp_segment_report(scored, epsilon=2.0)
    with pytest.raises(BudgetExceededError, match="smaller epsilon"):
        dp_segment_report(scored, epsilon=2.0)
    assert WorkspaceBudget(scored.root).read().spent == pytest.approx(2.0)


def test_the_segment_report_names_a_bad_parameter(scored):
    for kwargs, word in [({"by": "cluster_name"}, "segments"), ({"by": "monetary"}, "by"),
                         ({"count_share": 1.0}, "count_share"), ({"monetary_bounds": (100, 0)}, "bounds"),
                         ({"epsilon": -1}, "epsilon")]:
        with pytest.raises(DifferentialPrivacyError, match=word):
            dp_segment_report(scored, **kwargs)
    assert not (scored.root / BUDGET_FILE).exists()
