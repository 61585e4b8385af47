"""`storelift roi`: the brief's worked example, and ROI measured from decisions against the holdout."""

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from storelift.cli import app


def test_the_briefs_worked_example_is_250_percent():
    result = CliRunner().invoke(app, ["roi", "--cost", "120000", "--net-profit", "420000", "--months", "6"])
    assert result.exit_code == 0, result.output
    expected = [line for line in result.output.splitlines() if "expected" in line]
    assert expected and "250.0%" in expected[0]


def test_measured_roi_reads_decisions_and_orders_against_the_holdout(tmp_path):
    from storelift import Workspace

    ws = Workspace.init(tmp_path / "ws")
    rng = np.random.default_rng(0)
    n = 400
    customers = [f"C{i:04d}" for i in range(n)]
    arms = np.where(np.arange(n) % 5 == 0, "holdout", "treatment")
    t0 = pd.Timestamp("2024-05-01")
    ws.warehouse.insert("decisions", pd.DataFrame({
        "decision_id": [f"d{i}" for i in range(n)], "decided_at": t0, "customer_id": customers,
        "initiative": "recommendations", "placement": "home", "arm": arms, "has_consent": True,
        "model_version": "v", "shown": "{}", "explanation": "x"}))
    # treated customers buy more often: 60% vs 30%, 50 each
    buys = rng.random(n) < np.where(arms == "treatment", 0.6, 0.3)
    buyers = [c for c, b in zip(customers, buys) if b]
    ws.warehouse.insert("orders", pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(buyers))], "customer_id": buyers,
        "ordered_at": t0 + pd.Timedelta(days=3), "currency": "USD"}))
    ws.warehouse.insert("order_lines", pd.DataFrame({
        "order_id": [f"o{i}" for i in range(len(buyers))], "line_number": 1, "product_id": "P1",
        "quantity": 1.0, "amount": 50.0}))
    ws.close()
    result = CliRunner().invoke(app, ["roi", "-w", str(tmp_path / "ws"), "--cost", "1000", "--margin-rate", "0.5"],
                                terminal_width=250)
    assert result.exit_code == 0, result.output
    assert "treatment vs holdout" in result.output and "measured ROI" in result.output
    missing = CliRunner().invoke(app, ["roi", "-w", str(tmp_path / "ws"), "--cost", "1", "--initiative", "email"])
    assert missing.exit_code != 0 and "storelift serve sync" in missing.output
    from storelift.cli_roi import measured_outcomes
    from storelift.measure.roi import roi_readout

    opened = Workspace.open(tmp_path / "ws")
    outcomes = measured_outcomes(opened, "recommendations", 30, 0.5)
    opened.close()
    assert len(outcomes) == n and set(outcomes["arm"]) == {"treatment", "holdout"}
    measured = roi_readout(outcomes, 1000, "margin", control="holdout").iloc[0]
    planted = (0.6 - 0.3) * 50 * 0.5 * (arms == "treatment").sum()  # extra buyers x margin per order
    assert measured["incremental_profit_low"] < planted < measured["incremental_profit_high"]
