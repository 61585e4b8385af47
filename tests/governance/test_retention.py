"""Retention: only rows older than their table's policy go, the counts reconcile, and every run is audited."""

import json
import uuid
from datetime import timezone

import pandas as pd
import pytest

from storelift.errors import StoreliftError
from storelift.governance.audit_log import append_audit, verify_workspace
from storelift.governance.retention import (
    APPLIED_COLUMNS, PLAN_COLUMNS, RetentionError, apply_retention, open_online_store, parse_policy,
    retention_plan, retention_policies,
)

NOW = pd.Timestamp("2025-06-01 12:00")
DAY = pd.Timedelta(days=1)


@pytest.fixture
def ws(tmp_path):
    from storelift import Workspace

    opened = Workspace.init(tmp_path / "ws")
    yield opened
    opened.close()


def configure(ws, **policies):
    """Append a [retention] section to the workspace's storelift.toml."""
    lines = "".join(f"{table} = {json.dumps(value)}\n" for table, value in policies.items())
    with open(ws.root / "storelift.toml", "a") as fh:
        fh.write(f"\n[retention]\n{lines}")


def events(ws, times: dict[str, object]) -> None:
    ws.warehouse.insert("events", pd.DataFrame({"event_id": list(times), "event": "Product Viewed",
                                                "customer_id": "C1", "occurred_at": list(times.values())}))


def ids(ws, table: str, column: str) -> list:
    return sorted(ws.warehouse.table(table).execute()[column])


def row(frame: pd.DataFrame, table: str, store: str = "warehouse") -> pd.Series:
    return frame[(frame["table"] == table) & (frame["store"] == store)].iloc[0]


def test_only_rows_older_than_the_cutoff_go(ws):
    configure(ws, events="30d")
    cutoff = NOW - 30 * DAY
    events(ws, {"old": cutoff - pd.Timedelta(seconds=1), "edge": cutoff, "new": cutoff + DAY})
    result = apply_retention(ws, NOW, actor="dpo@shop")
    assert ids(ws, "events", "event_id") == ["edge", "new"]
    events_row = row(result, "events")
    assert (events_row["keep_days"], events_row["cutoff"]) == (30, cutoff)
    assert (events_row["rows_expired"], events_row["rows_deleted"]) == (1, 1)


def test_counts_reconcile(ws):
    configure(ws, events="100d", touches="10d")
    events(ws, {f"e{i}": NOW - i * 7 * DAY for i in range(40)})
    ws.warehouse.insert("touches", pd.DataFrame({"touch_id": ["t1", "t2", "t3"], "channel": "email",
                                                 "touched_at": [NOW - 20 * DAY, NOW - 11 * DAY, NOW - DAY]}))
    before = {t: ws.warehouse.count(t) for t in ("events", "touches")}
    result = apply_retention(ws, NOW, actor="dpo@shop")
    assert list(result.columns) == APPLIED_COLUMNS
    assert (result["rows_total"] == result["rows_remaining"] + result["rows_deleted"]).all()
    assert (result["rows_deleted"] == result["rows_expired"]).all()
    for table in before:
        r = row(result, table)
        assert r["rows_total"] == before[table]
        assert ws.warehouse.count(table) == r["rows_remaining"] == before[table] - r["rows_deleted"]
    assert row(result, "events")["rows_deleted"] == 25  # weeks 15..39 are more than 100 days old
    assert row(result, "touches")["rows_deleted"] == 2


def test_rows_without_a_time_are_kept_and_counted(ws):
    configure(ws, events="30d")
    events(ws, {"old": NOW - 60 * DAY, "timeless": None})
    plan = retention_plan(ws, NOW)
    assert list(plan.columns) == PLAN_COLUMNS
    assert row(plan, "events")[["rows_total", "rows_without_time", "rows_expired"]].tolist() == [2, 1, 1]
    apply_retention(ws, NOW, actor="dpo@shop")
    assert ids(ws, "events", "event_id") == ["timeless"]


def test_order_lines_go_with_their_orders(ws):
    configure(ws, orders="7y")
    ws.warehouse.insert("orders", pd.DataFrame({"order_id": ["old", "recent"], "currency": "EUR",
                                                "ordered_at": [NOW - 8 * 365 * DAY, NOW - 30 * DAY]}))
    ws.warehouse.insert("order_lines", pd.DataFrame({
        "order_id": ["old", "old", "recent", "unknown"], "line_number": [1, 2, 1, 1], "product_id": "P1",
        "quantity": 1.0}))
    plan = retention_plan(ws, NOW)
    lines = row(plan, "order_lines")
    assert lines[["time_column", "rows_total", "rows_without_time", "rows_expired"]].tolist() == [
        "orders.ordered_at", 4, 1, 2]
    result = apply_retention(ws, NOW, actor="dpo@shop")
    assert ids(ws, "orders", "order_id") == ["recent"]
    assert ids(ws, "order_lines", "order_id") == ["recent", "unknown"]  # a line without its order is kept
    assert row(result, "order_lines")["rows_deleted"] == 2


def test_keep_keeps(ws):
    configure(ws, events="keep")
    ancient = NOW - 20 * 365 * DAY
    events(ws, {"e1": ancient})
    ws.warehouse.insert("orders", pd.DataFrame({"order_id": ["o1"], "currency": "EUR", "ordered_at": [ancient]}))
    result = apply_retention(ws, NOW, actor="dpo@shop")
    kept = result[result["policy"] == "keep"]
    assert {"events", "orders", "order_lines", "consents", "refunds"} <= set(kept["table"])  # orders: keep by default
    assert kept["cutoff"].isna().all() and kept["keep_days"].isna().all()
    assert ws.warehouse.count("events") == 1 and ws.warehouse.count("orders") == 1


def test_an_old_consent_in_force_is_kept_and_superseded_ones_expire(ws):
    configure(ws, consents="2y")
    old = NOW - 5 * 365 * DAY
    ws.warehouse.insert("consents", pd.DataFrame({
        "customer_id": ["C1", "C1", "C2", "C2"], "purpose": "email", "granted": [True, False, True, True],
        "recorded_at": [old, old + DAY, old, NOW - DAY]}))
    apply_retention(ws, NOW, actor="dpo@shop")
    left = ws.warehouse.table("consents").execute().sort_values(["customer_id", "recorded_at"])
    # C1's withdrawal is old but still in force; C2's old grant is superseded by a recent one
    assert list(zip(left["customer_id"], left["granted"])) == [("C1", False), ("C2", True)]


@pytest.mark.parametrize(("line", "named", "fix"), [
    ({"evnts": "400d"}, "evnts", "use one of"),
    ({"events": "400 days"}, "events", '"400d"'),
    ({"events": "-5d"}, "events", "at least 1 day"),
    ({"events": "0d"}, "events", "at least 1 day"),
    ({"events": True}, "events", "duration"),
    ({"audit_log": "30d"}, "audit_log", "never expires"),
    ({"order_lines": "1y"}, "order_lines", "set a policy for orders"),
    ({"customers": "3y"}, "customers", "erasure"),
])
def test_bad_config_errors_name_the_key(ws, line, named, fix):
    configure(ws, **line)
    with pytest.raises(RetentionError) as caught:
        retention_policies(ws)
    assert isinstance(caught.value, StoreliftError)
    assert f"[retention] {named}" in str(caught.value) and fix in str(caught.value)
    with pytest.raises(RetentionError):
        apply_retention(ws, NOW, actor="dpo@shop")


def test_durations_read_days_weeks_and_calendar_years():
    assert parse_policy("events", 400).cutoff(NOW) == NOW - 400 * DAY
    assert parse_policy("events", "12w").cutoff(NOW) == NOW - 84 * DAY
    assert parse_policy("orders", "10Y").cutoff(NOW) == pd.Timestamp("2015-06-01 12:00")
    assert parse_policy("orders", "Keep").keeps_forever


def test_defaults_apply_without_a_retention_section(ws):
    policies = retention_policies(ws)
    assert policies["quarantine"].text == "90d" and policies["events"].text == "400d"
    assert policies["orders"].keeps_forever and policies["consents"].keeps_forever
    assert "audit_log" not in policies and "approvals" not in policies


def test_a_run_writes_one_audit_entry_and_the_chain_still_verifies(ws):
    append_audit(ws, "analyst@shop", "model.trained", "v1", at=NOW - 3000 * DAY)  # older than any policy
    configure(ws, events="30d")
    events(ws, {"old": NOW - 60 * DAY, "new": NOW - DAY})
    apply_retention(ws, NOW, actor="dpo@shop")
    log = ws.warehouse.table("audit_log").execute().sort_values("seq")
    assert log["action"].tolist() == ["model.trained", "retention.applied"]  # the audit log itself never expires
    entry = log.iloc[-1]
    assert entry["actor"] == "dpo@shop" and pd.isna(entry["subject"])
    assert '"warehouse.events": {"cutoff": "2025-05-02T12:00:00", "policy": "30d", "rows_before": 2, ' \
           '"rows_deleted": 1}' in entry["details"]
    assert "C1" not in entry["details"]  # counts, never customer ids
    count, problems = verify_workspace(ws)
    assert count == 2 and problems.empty


def test_a_dry_run_deletes_nothing_and_writes_nothing(ws):
    configure(ws, events="30d")
    events(ws, {"old": NOW - 60 * DAY, "new": NOW - DAY})
    result = apply_retention(ws, NOW, dry_run=True, actor="dpo@shop")
    assert row(result, "events")[["rows_expired", "rows_deleted", "rows_remaining"]].tolist() == [1, 0, 2]
    assert ws.warehouse.count("events") == 2
    assert ws.warehouse.count("audit_log") == 0


def _online_rows(store, now):
    from storelift.online import DecisionRecord, EventRecord

    def event(event_id, at):
        return EventRecord(event_id, "Product Viewed", "C1", None, None, at, None, None, None, None, None, None,
                           None, None)

    def decision(decision_id, at):
        return DecisionRecord(decision_id, at, "C1", "recommendations", "home", "treatment", True, None, None, None)

    store.write_events([event("old", now - 500 * DAY), event("new", now - DAY), event("timeless", None)])
    store.record_decisions([decision("old", now - 800 * DAY), decision("new", now - DAY)])


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_the_online_store_expires_events_and_decisions_too(ws, request, dialect):
    from storelift.online import OnlineStore

    url = None
    if dialect == "postgres":
        url = f"{request.getfixturevalue('online_postgres_database')}?schema=t_{uuid.uuid4().hex[:12]}"
    aware_now = NOW.tz_localize(timezone.utc).to_pydatetime()
    with OnlineStore.open(url, ws.root) as store:
        _online_rows(store, aware_now)
    store = open_online_store(ws, url)
    try:
        result = apply_retention(ws, NOW, actor="dpo@shop", online=store)
        online = result[result["store"] == "online"].set_index("table")
        assert online.loc["events", ["rows_total", "rows_without_time", "rows_deleted"]].tolist() == [3, 1, 1]
        assert online.loc["decisions", ["rows_total", "rows_deleted"]].tolist() == [2, 1]
        assert store.count("events") == 2 and store.count("decisions") == 1
        with store.db.read() as session:
            left = sorted(r["event_id"] for r in session.execute("SELECT event_id FROM events").fetchall())
        assert left == ["new", "timeless"]
    finally:
        store.close()
    assert '"online.events"' in ws.warehouse.table("audit_log").execute()["details"].iat[-1]


def test_no_online_store_is_created_when_the_workspace_has_none(ws):
    from storelift.online import ONLINE_FILE

    assert open_online_store(ws) is None
    assert not (ws.root / ONLINE_FILE).exists()


@pytest.fixture
def postgres_workspace(tmp_path, postgres_server):
    """A workspace whose warehouse is a PostgreSQL database of its own."""
    import psycopg

    from storelift import Workspace

    name = f"retention_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server.url(scheme="postgresql"), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    opened = Workspace.init(tmp_path / "pg", warehouse_url=postgres_server.url(name))
    yield opened
    opened.close()


def test_retention_works_the_same_on_postgresql(postgres_workspace):
    ws = postgres_workspace
    configure(ws, events="30d", orders="1y", consents="1y")
    events(ws, {"old": NOW - 60 * DAY, "new": NOW - DAY, "timeless": None})
    ws.warehouse.insert("orders", pd.DataFrame({"order_id": ["o1", "o2"], "currency": "EUR",
                                                "ordered_at": [NOW - 400 * DAY, NOW - DAY]}))
    ws.warehouse.insert("order_lines", pd.DataFrame({"order_id": ["o1", "o2"], "line_number": 1, "product_id": "P",
                                                     "quantity": 1.0}))
    ws.warehouse.insert("consents", pd.DataFrame({"customer_id": "C1", "purpose": "email", "granted": [True, False],
                                                  "recorded_at": [NOW - 900 * DAY, NOW - 800 * DAY]}))
    result = apply_retention(ws, NOW, actor="dpo@shop")
    assert (result["rows_total"] == result["rows_remaining"] + result["rows_deleted"]).all()
    assert ids(ws, "events", "event_id") == ["new", "timeless"]
    assert ids(ws, "order_lines", "order_id") == ["o2"] and ids(ws, "orders", "order_id") == ["o2"]
    assert ws.warehouse.table("consents").execute()["granted"].tolist() == [False]
    assert verify_workspace(ws)[1].empty
