"""Retention: how long each table keeps its rows, read from the `[retention]` section of storelift.toml,
and the job that removes the rows older than that, in the warehouse and in the online store.

    [retention]
    events = "400d"        # days (d), weeks (w) or calendar years (y); "keep" never expires
    quarantine = "90d"
    orders = "10y"

Rules that hold whatever the config says: a row without a time is kept; order lines go with their
order; a consent record still in force is kept however old it is (it is the proof of consent);
customers and products are removed by erasure, never by age; the audit log and the approvals
record are never touched.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from ..audit.coverage import latest_consents
from ..errors import StoreliftError

CONFIG_SECTION = "retention"
KEEP = "keep"

# table -> its time column (from storelift.schema); only these tables can expire by age
TIME_COLUMNS = {
    "events": "occurred_at",
    "touches": "touched_at",
    "decisions": "decided_at",
    "assignments": "assigned_at",
    "customer_scores": "scored_at",
    "quarantine": "quarantined_at",
    "ingest_runs": "started_at",
    "orders": "ordered_at",
    "refunds": "refunded_at",
    "consents": "recorded_at",
}

# Defaults a retailer would expect; every one can be overridden in [retention].
DEFAULT_POLICIES = {
    "events": "400d",           # 13 months of behaviour: a full year-over-year comparison
    "touches": "400d",          # same horizon as events, for attribution
    "decisions": "730d",        # two years: the window in which holdout lift is proven
    "assignments": "730d",      # as long as the decisions they explain
    "customer_scores": "400d",  # profiles go stale; the models are refitted well within a year
    "quarantine": "90d",        # rejected source rows: long enough to fix and reload them
    "ingest_runs": KEEP,        # load counts, no personal data
    "orders": KEEP,             # accounting records: tax law typically wants 6 to 10 years, e.g. "10y"
    "refunds": KEEP,            # accounting records, as orders
    "consents": KEEP,           # proof of consent
}

# Tables that cannot be given a policy, and what to do instead.
NOT_BY_AGE = {
    "audit_log": "the audit log is an append-only hash chain and never expires",
    "approvals": "approvals are the record of human oversight, checked against the audit log, and never expire",
    "order_lines": "order lines go with their orders; set a policy for orders instead",
    "customers": "customers are removed by erasure, not by age",
    "products": "products hold no personal data and do not expire",
}

PLAN_COLUMNS = ["store", "table", "time_column", "policy", "keep_days", "cutoff", "rows_total", "rows_without_time",
                "rows_expired"]
APPLIED_COLUMNS = PLAN_COLUMNS + ["rows_deleted", "rows_remaining"]

ONLINE_TABLES = ("events", "decisions")  # what the online store keeps that a policy covers

_DURATION = re.compile(r"^\s*(-?\d+)\s*(d|w|y)?\s*$", re.IGNORECASE)
_UNITS = {"d": "days", "w": "weeks", "y": "years"}


class RetentionError(StoreliftError, ValueError):
    """A [retention] entry in storelift.toml is wrong."""

    exit_code = 2


@dataclass(frozen=True)
class RetentionPolicy:
    """How long one table keeps its rows: `amount` `unit` (days, weeks, years), or forever when amount is None."""

    table: str
    text: str
    amount: int | None = None
    unit: str = "days"

    @property
    def keeps_forever(self) -> bool:
        return self.amount is None

    def cutoff(self, now: pd.Timestamp) -> pd.Timestamp | None:
        """Rows whose time is before this go (None: nothing goes). Years are calendar years."""
        if self.amount is None:
            return None
        return now - pd.DateOffset(**{self.unit: self.amount})


def parse_policy(table: str, value, where: str = "[retention]") -> RetentionPolicy:
    """One [retention] entry: a table with a time column and "keep", "<n>d", "<n>w", "<n>y" or a number of days."""
    if table not in TIME_COLUMNS:
        if table in NOT_BY_AGE:
            raise RetentionError(f"{where} {table}: {NOT_BY_AGE[table]}; remove the key")
        raise RetentionError(f"{where} {table}: no such table with a time column; use one of "
                             f"{', '.join(sorted(TIME_COLUMNS))}")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise RetentionError(f"{where} {table} = {value!r}: write a duration such as \"400d\", \"2y\" or \"keep\"")
    text = str(value).strip()
    if text.lower() == KEEP:
        return RetentionPolicy(table, KEEP)
    match = _DURATION.match(text)
    if match is None:
        raise RetentionError(f"{where} {table} = {value!r} is not a duration; write days, weeks or years as "
                             "\"400d\", \"12w\" or \"2y\", or \"keep\" to never expire")
    amount = int(match.group(1))
    if amount <= 0:
        raise RetentionError(f"{where} {table} = {value!r}: a retention period must be at least 1 day; "
                             "write a positive duration such as \"90d\", or \"keep\"")
    unit = _UNITS[(match.group(2) or "d").lower()]
    return RetentionPolicy(table, f"{amount}{unit[0]}", amount, unit)


def retention_policies(ws) -> dict[str, RetentionPolicy]:
    """The policy of every table that can expire: the defaults, overridden by storelift.toml's [retention]."""
    path = Path(ws.root) / "storelift.toml"
    raw = {}
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text()).get(CONFIG_SECTION, {})
        except tomllib.TOMLDecodeError as exc:
            raise RetentionError(f"{path}: not valid TOML ({exc}); fix the file") from exc
    if not isinstance(raw, dict):
        raise RetentionError(f"{path}: [{CONFIG_SECTION}] must be a table of `name = \"duration\"` lines")
    where = f"{path}: [{CONFIG_SECTION}]"
    policies = {table: parse_policy(table, value, where) for table, value in DEFAULT_POLICIES.items()}
    policies.update({table: parse_policy(table, value, where) for table, value in raw.items()})
    return policies


def as_utc_naive(now) -> pd.Timestamp:
    """`now` as naive UTC, how the warehouse stores times (None: the current time)."""
    if now is None:
        return pd.Timestamp.now(tz="UTC").tz_localize(None)
    stamp = pd.Timestamp(now)
    return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)


def as_count(value) -> int:
    """A count read back from an engine: Spark answers a filtered count over no rows with NULL."""
    return 0 if value is None or pd.isna(value) else int(value)


# -- the warehouse ------------------------------------------------------------------------------
def _literal(ts: pd.Timestamp):
    return ibis.literal(ts.to_pydatetime(), type="timestamp")


def _expired(wh, table: str, column: str, cutoff: pd.Timestamp) -> ibis.Table:
    """The rows of `table` that the policy removes (an expression; nothing is read yet)."""
    t = wh.table(table)
    old = t.filter(t[column] < _literal(cutoff))
    if table == "consents":  # the record in force stays: it is the proof of the current choice
        in_force = latest_consents(t)
        old = old.anti_join(in_force, ["customer_id", "purpose", "recorded_at", "granted"])
    return old


def _kept(wh, table: str, column: str, cutoff: pd.Timestamp) -> ibis.Table:
    t = wh.table(table)
    if table == "consents":
        return t.anti_join(_expired(wh, table, column, cutoff), ["customer_id", "purpose", "recorded_at", "granted"])
    return t.filter(t[column].isnull() | (t[column] >= _literal(cutoff)))


def _expired_lines(wh, cutoff: pd.Timestamp) -> ibis.Table:
    lines = wh.table("order_lines")
    return lines.semi_join(_expired(wh, "orders", "ordered_at", cutoff).select("order_id"), "order_id")


def _count(expr: ibis.Table) -> int:
    return int(expr.count().execute())


def retention_plan(ws, now=None) -> pd.DataFrame:
    """What a retention run at `now` would remove, one row per table, without changing anything.

    Columns: store ("warehouse"), table, time_column, policy (as configured), keep_days (from `now`
    to the cutoff; null for "keep"), cutoff (rows with an earlier time go; null for "keep"), rows_total,
    rows_without_time (kept), rows_expired. order_lines has time_column "orders.ordered_at".
    """
    now = as_utc_naive(now)
    wh = ws.warehouse
    rows = []
    for table, policy in retention_policies(ws).items():
        if not wh.has_table(table):
            continue
        column = TIME_COLUMNS[table]
        cutoff = policy.cutoff(now)
        t = wh.table(table)
        counts = t.aggregate(total=t.count(), untimed=t.count(where=t[column].isnull())).execute().iloc[0]
        if table == "orders" and wh.has_table("order_lines"):  # listed first: lines are deleted before orders
            lines = wh.table("order_lines")
            expired_lines = 0 if cutoff is None else _count(_expired_lines(wh, cutoff))
            untimed = _count(lines.anti_join(t.filter(t.ordered_at.notnull()).select("order_id"), "order_id"))
            rows.append(_plan_row("warehouse", "order_lines", "orders.ordered_at", policy, now, cutoff,
                                  _count(lines), untimed, expired_lines))
        expired = 0 if cutoff is None else _count(_expired(wh, table, column, cutoff))
        rows.append(_plan_row("warehouse", table, column, policy, now, cutoff, counts["total"], counts["untimed"],
                              expired))
    return _frame(rows)


def _frame(rows: list[dict]) -> pd.DataFrame:
    plan = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    plan["keep_days"] = plan["keep_days"].astype("Int64")
    plan["cutoff"] = pd.to_datetime(plan["cutoff"])
    return plan


def _plan_row(store, table, column, policy, now, cutoff, total, untimed, expired) -> dict:
    keep_days = None if cutoff is None else int((now - cutoff) / pd.Timedelta(days=1))
    return {"store": store, "table": table, "time_column": column, "policy": policy.text, "keep_days": keep_days,
            "cutoff": cutoff, "rows_total": as_count(total), "rows_without_time": as_count(untimed),
            "rows_expired": as_count(expired)}


def _delete_expired(wh, table: str, cutoff: pd.Timestamp) -> None:
    if table == "order_lines":  # before their orders, so an interrupted run leaves no orphan lines
        lines = wh.table("order_lines")
        wh.replace("order_lines", lines.anti_join(_expired_lines(wh, cutoff).select("order_id"), "order_id"))
    else:
        wh.replace(table, _kept(wh, table, TIME_COLUMNS[table], cutoff))


# -- the online store ---------------------------------------------------------------------------
def open_online_store(ws, url: str | None = None):
    """The service's online store: `url`, else online.sqlite in the workspace; None when neither exists
    (a retention run must not create an empty store)."""
    from ..online import ONLINE_FILE, OnlineStore

    if url is None and not (Path(ws.root) / ONLINE_FILE).exists():
        return None
    return OnlineStore.open(url, ws.root)


def online_plan(store, policies: dict[str, RetentionPolicy], now) -> pd.DataFrame:
    """Like `retention_plan` for the online store's events and decisions (store "online")."""
    now = as_utc_naive(now)
    rows = []
    db = store.db
    for table in ONLINE_TABLES:
        column, policy = TIME_COLUMNS[table], policies[table]
        cutoff = policy.cutoff(now)
        with db.read() as session:
            counts = session.execute(
                f"SELECT count(*) AS total, count(*) - count({column}) AS untimed FROM {table}").fetchone()
            expired = 0
            if cutoff is not None:
                expired = session.execute(f"SELECT count(*) AS n FROM {table} WHERE {column} < ?",
                                          (db.time(cutoff.tz_localize("UTC").to_pydatetime()),)).fetchone()["n"]
        rows.append(_plan_row("online", table, column, policy, now, cutoff, counts["total"], counts["untimed"],
                              expired))
    return _frame(rows)


def _delete_online(store, table: str, cutoff: pd.Timestamp) -> int:
    db = store.db
    with db.transaction() as session:
        session.execute(f"DELETE FROM {table} WHERE {TIME_COLUMNS[table]} < ?",
                        (db.time(cutoff.tz_localize("UTC").to_pydatetime()),))
        return int(session.rowcount)


def _count_online(store, table: str) -> int:
    with store.db.read() as session:
        return int(session.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"])


# -- the run ------------------------------------------------------------------------------------
def apply_retention(ws, now=None, dry_run: bool = False, actor: str | None = None, online=None) -> pd.DataFrame:
    """Remove the expired rows of every table (and of the online store `online`, if given) and write one
    audit entry with the counts per table; a dry run only plans and writes nothing.

    Columns: APPLIED_COLUMNS, i.e. the plan's plus rows_deleted and rows_remaining. In the warehouse both
    are measured after the run, so rows_total = rows_remaining + rows_deleted; in the online store, which
    keeps taking writes, rows_deleted is what the DELETE removed and rows_remaining may include new rows.
    """
    from .audit_log import append_audit, local_actor

    now = as_utc_naive(now)
    plan = retention_plan(ws, now)
    if online is not None:
        plan = pd.concat([plan, online_plan(online, retention_policies(ws), now)], ignore_index=True)
    plan["rows_deleted"] = 0
    plan["rows_remaining"] = plan["rows_total"]
    if dry_run:
        return plan[APPLIED_COLUMNS]
    wh = ws.warehouse
    for i, row in plan.iterrows():
        if row["rows_expired"] == 0:
            continue
        if row["store"] == "online":  # the service keeps writing: count what the DELETE removed
            plan.loc[i, "rows_deleted"] = _delete_online(online, row["table"], row["cutoff"])
            plan.loc[i, "rows_remaining"] = _count_online(online, row["table"])
        else:
            _delete_expired(wh, row["table"], row["cutoff"])
            remaining = wh.count(row["table"])
            plan.loc[i, "rows_remaining"] = remaining
            plan.loc[i, "rows_deleted"] = int(row["rows_total"]) - remaining
    details = {"now": now.isoformat(), "tables": {
        f"{r.store}.{r.table}": {"policy": r.policy, "cutoff": None if pd.isna(r.cutoff) else r.cutoff.isoformat(),
                                 "rows_before": int(r.rows_total), "rows_deleted": int(r.rows_deleted)}
        for r in plan.itertuples()}}
    append_audit(ws, actor or local_actor(), "retention.applied", None, details)
    return plan[APPLIED_COLUMNS]
