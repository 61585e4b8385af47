"""The approval queue: nothing takes effect until a second person approves it, and who, when and why of
every step is kept in the approvals table and vouched for by the audit log."""

import json

import duckdb
import pandas as pd
import pytest

from storelift.errors import StoreliftError
from storelift.governance.approvals import (
    EFFECTIVE_COLUMNS, HISTORY_COLUMNS, PENDING_COLUMNS, AlreadyDecidedError, ApprovalError, ApprovalPolicy,
    SelfApprovalError, UnknownRequestError, approval_history, approval_request, approve, effective, is_effective,
    pending, reject, submit, verify_approvals, withdraw,
)
from storelift.governance.audit_log import verify_workspace
from storelift.warehouse import fetch

BIG_MOVE = {"current_price": 20.0, "proposed_price": 26.0}  # +30%
SMALL_MOVE = {"current_price": 20.0, "proposed_price": 19.0}  # -5%
POLICY = ApprovalPolicy(max_price_change=0.10)


@pytest.fixture
def ws(tmp_path):
    from storelift import Workspace

    workspace = Workspace.init(tmp_path / "ws")
    yield workspace
    workspace.close()


def _price_request(ws, proposal=BIG_MOVE, subject="SKU-1"):
    return submit(ws, "price_change", subject, proposal, "pricing-job@shop", "weekly elasticity run", policy=POLICY)


def _audit(ws) -> pd.DataFrame:
    return fetch(ws.warehouse.table("audit_log")).sort_values("seq", ignore_index=True)


def test_a_pending_request_is_not_effective(ws):
    request = _price_request(ws)
    assert request.status == "pending" and not request.is_effective
    assert not is_effective(ws, request.request_id)
    assert effective(ws).empty and list(effective(ws).columns) == EFFECTIVE_COLUMNS
    queue = pending(ws)
    assert list(queue.columns) == PENDING_COLUMNS and queue["request_id"].tolist() == [request.request_id]


def test_approval_makes_it_effective_with_who_when_and_why(ws):
    request = _price_request(ws)
    before = pd.Timestamp.now(tz="UTC").tz_localize(None)
    decided = approve(ws, request.request_id, "alice@shop", "margin stays above 30%")
    after = pd.Timestamp.now(tz="UTC").tz_localize(None)
    assert decided.status == "approved" and is_effective(ws, request.request_id)
    row = effective(ws, kind="price_change").iloc[0]
    assert row["request_id"] == request.request_id and row["subject"] == "SKU-1"
    assert row["decided_by"] == "alice@shop" and row["decision_reason"] == "margin stays above 30%"
    assert before <= row["decided_at"] <= after
    assert json.loads(row["proposal"]) == BIG_MOVE
    assert pending(ws).empty


def test_a_rejected_request_never_takes_effect(ws):
    request = _price_request(ws)
    decided = reject(ws, request.request_id, "alice@shop", "competitor price is lower")
    assert decided.status == "rejected" and not is_effective(ws, request.request_id)
    assert effective(ws).empty and pending(ws).empty
    assert approval_request(ws, request.request_id).decision_reason == "competitor price is lower"


def test_a_request_is_decided_only_once(ws):
    request = _price_request(ws)
    approve(ws, request.request_id, "alice@shop", "fine")
    with pytest.raises(AlreadyDecidedError, match="already approved by alice@shop"):
        reject(ws, request.request_id, "bob@shop", "too late")
    with pytest.raises(AlreadyDecidedError, match="already approved"):
        approve(ws, request.request_id, "bob@shop", "again")
    auto = _price_request(ws, SMALL_MOVE, "SKU-2")
    with pytest.raises(AlreadyDecidedError, match="already auto_approved"):
        reject(ws, auto.request_id, "bob@shop", "no")
    assert is_effective(ws, request.request_id) and len(approval_history(ws, request.request_id)) == 2


def test_the_requester_cannot_approve_or_reject_their_own_request(ws):
    request = _price_request(ws)
    with pytest.raises(SelfApprovalError, match="four eyes"):
        approve(ws, request.request_id, "pricing-job@shop", "looks right to me")
    with pytest.raises(SelfApprovalError):
        reject(ws, request.request_id, "PRICING-JOB@shop", "changed my mind")
    assert approval_request(ws, request.request_id).status == "pending"
    assert not is_effective(ws, request.request_id)


def test_a_small_price_move_is_auto_approved_and_a_big_one_waits(ws):
    small = _price_request(ws, SMALL_MOVE, "SKU-2")
    big = _price_request(ws, BIG_MOVE, "SKU-3")
    assert small.status == "auto_approved" and small.decided_by == "storelift-policy"
    assert "5.0%" in small.rule and "within" in small.rule
    assert big.status == "pending" and "30.0%" in big.rule and "above" in big.rule
    assert effective(ws)["request_id"].tolist() == [small.request_id]
    assert pending(ws)["rule"].tolist() == [big.rule]
    edge = _price_request(ws, {"current_price": 10.0, "proposed_price": 11.0}, "SKU-4")  # exactly 10%
    assert edge.status == "auto_approved"


def test_generated_content_and_fraud_holds_always_wait(ws):
    content = submit(ws, "generated_content", "SKU-1", {"title": "Linen shirt"}, "content-job", "new copy",
                     policy=POLICY)
    hold = submit(ws, "fraud_hold", "order-77", {"hold": True}, "fraud-job", "velocity rule", policy=POLICY)
    other = submit(ws, "campaign_launch", "spring", {"audience": 120}, "marketer", "spring sale", policy=POLICY)
    assert {content.status, hold.status, other.status} == {"pending"}
    assert "always reviewed" in content.rule and effective(ws).empty
    lenient = ApprovalPolicy(max_price_change=0.5, auto_approve_kinds={"campaign_launch"})
    assert submit(ws, "campaign_launch", "summer", {}, "marketer", "summer", policy=lenient).is_effective


def test_the_policy_comes_from_storelift_toml(ws):
    assert ApprovalPolicy.from_workspace(ws) == ApprovalPolicy()
    config = ws.root / "storelift.toml"
    config.write_text(config.read_text() + "\n[approvals]\nmax_price_change = 0.40\n")
    assert submit(ws, "price_change", "SKU-1", BIG_MOVE, "job", "run").status == "auto_approved"
    config.write_text(config.read_text().replace("0.40", '"lots"'))
    with pytest.raises(StoreliftError, match="max_price_change"):
        submit(ws, "price_change", "SKU-1", BIG_MOVE, "job", "run")


def test_history_shows_every_state_change(ws):
    request = _price_request(ws)
    approve(ws, request.request_id, "alice@shop", "fine")
    history = approval_history(ws, request.request_id)
    assert list(history.columns) == HISTORY_COLUMNS
    assert history["step"].tolist() == [0, 1] and history["status"].tolist() == ["pending", "approved"]
    assert history["decided_by"].iloc[1] == "alice@shop" and pd.isna(history["decided_by"].iloc[0])
    assert history["requested_by"].eq("pricing-job@shop").all()
    assert history["recorded_at"].is_monotonic_increasing
    withdrawn = _price_request(ws, subject="SKU-9")
    withdraw(ws, withdrawn.request_id, "pricing-job@shop", "catalogue price changed meanwhile")
    assert approval_history(ws, withdrawn.request_id)["status"].tolist() == ["pending", "withdrawn"]
    assert not is_effective(ws, withdrawn.request_id) and pending(ws).empty


def test_every_step_is_audited_without_subjects_and_the_chain_verifies(ws):
    hold = submit(ws, "fraud_hold", "cust-4242", {"customer_id": "cust-4242"}, "fraud-job", "velocity rule")
    reject(ws, hold.request_id, "alice@shop", "known customer, travelling")
    small = _price_request(ws, SMALL_MOVE)
    audit = _audit(ws)
    assert audit["action"].tolist() == ["approval.requested", "approval.rejected", "approval.auto_approved"]
    assert audit["actor"].tolist() == ["fraud-job", "alice@shop", "pricing-job@shop"]
    assert audit["subject"].tolist() == [hold.request_id, hold.request_id, small.request_id]
    assert not audit.astype(str).apply(lambda c: c.str.contains("cust-4242")).any().any()
    count, problems = verify_workspace(ws)
    assert count == 3 and problems.empty
    assert verify_approvals(ws).empty


def test_an_approval_written_behind_storelifts_back_is_caught(ws):
    request = _price_request(ws)
    ws.close()
    con = duckdb.connect(str(ws.root / "warehouse.duckdb"))
    con.execute("INSERT INTO approvals SELECT * REPLACE (1 AS step, 'approved' AS status, 'mallory' AS decided_by) "
                "FROM approvals")
    con.close()
    assert is_effective(ws, request.request_id)  # the gate reads the table; verification finds the forgery
    problems = verify_approvals(ws)
    assert problems[["request_id", "step"]].values.tolist() == [[request.request_id, 1]]
    assert "no matching audit entry" in problems["problem"].iat[0]


def test_bad_requests_say_what_to_do(ws):
    with pytest.raises(UnknownRequestError, match="apr-nope"):
        approve(ws, "apr-nope", "alice", "fine")
    with pytest.raises(UnknownRequestError, match="apr-nope"):
        approval_history(ws, "apr-nope")
    request = _price_request(ws)
    with pytest.raises(ApprovalError, match="why is required"):
        approve(ws, request.request_id, "alice", "  ")
    with pytest.raises(ApprovalError, match="why is required"):
        reject(ws, request.request_id, "alice", None)
    with pytest.raises(ApprovalError, match="current_price and proposed_price"):
        submit(ws, "price_change", "SKU-1", {"price": 3}, "job", "run", policy=POLICY)
    with pytest.raises(ApprovalError, match="kind"):
        submit(ws, "Price Change!", "SKU-1", {}, "job", "run", policy=POLICY)
    assert issubclass(ApprovalError, StoreliftError)
    assert approval_request(ws, request.request_id).status == "pending"


def test_an_older_workspace_gets_the_approvals_table_when_opened(ws):
    from storelift import Workspace

    ws.warehouse.con.drop_table("approvals")
    ws.close()
    reopened = Workspace.open(ws.root)
    try:
        request = submit(reopened, "fraud_hold", "order-1", {}, "fraud-job", "rule 7", policy=POLICY)
        assert pending(reopened)["request_id"].tolist() == [request.request_id]
    finally:
        reopened.close()


@pytest.mark.parametrize("engine", [pytest.param("spark_warehouse", marks=pytest.mark.spark),
                                    "own_postgres_warehouse"])
def test_the_queue_works_the_same_on_other_engines(tmp_path, request, engine):
    """The latest-row-wins query and the gate give the same answers on PostgreSQL and Spark as on DuckDB."""
    from types import SimpleNamespace

    wh = request.getfixturevalue(engine)
    on_engine = SimpleNamespace(warehouse=wh, root=tmp_path)
    if engine == "spark_warehouse":  # the session's one Spark warehouse: take this test's rows out after
        def forget_approvals():
            wh.replace("approvals", wh.table("approvals").limit(0))
            log = wh.table("audit_log")
            wh.replace("audit_log", log.filter(~log.action.startswith("approval.")))
        request.addfinalizer(forget_approvals)
    waiting = _price_request(on_engine)
    approved = _price_request(on_engine, subject="SKU-2")
    approve(on_engine, approved.request_id, "alice@shop", "fine")
    small = _price_request(on_engine, SMALL_MOVE, "SKU-3")
    ours = {waiting.request_id, approved.request_id, small.request_id}
    gate = effective(on_engine)
    assert set(gate["request_id"]) & ours == {approved.request_id, small.request_id}
    assert set(pending(on_engine)["request_id"]) & ours == {waiting.request_id}
    assert approval_history(on_engine, approved.request_id)["status"].tolist() == ["pending", "approved"]
    assert not is_effective(on_engine, waiting.request_id) and is_effective(on_engine, approved.request_id)
    assert verify_approvals(on_engine).empty
