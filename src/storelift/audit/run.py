"""Run the whole audit on a warehouse (or a mapping of tables) and hold the results together."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import pandas as pd

from ..schema import TABLES
from ..warehouse import Warehouse
from .checks import CHECK_COLUMNS, TableSet, as_timestamp, loaded, monthly_orders, run_checks
from .readiness import READINESS_COLUMNS, ReadinessThresholds, assess_readiness, store_profile

SUMMARY_COLUMNS = ["metric", "value", "detail"]
# Points per status for the score: the mean over checks that apply, times 100.
STATUS_POINTS = {"pass": 1.0, "warn": 0.5, "fail": 0.0}


@dataclass
class AuditResult:
    """What the audit found.

    checks: area, table, check, status, value, detail (see `storelift.audit.checks`)
    readiness: capability, ready, needs, has, detail (see `storelift.audit.readiness`)
    summary: metric, value, detail: score, checks, pass, warn, fail, n/a, tables, rows,
        ready_yes, ready_partly, ready_no, history_months
    monthly: month, orders, customers, revenue (for charts)
    """

    checks: pd.DataFrame
    readiness: pd.DataFrame
    summary: pd.DataFrame
    monthly: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["month", "orders", "customers", "revenue"]))
    as_of: pd.Timestamp | None = None
    keep_raw_pii: bool = False
    profile: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        return float(self.summary.set_index("metric").loc["score", "value"])

    def issues(self) -> pd.DataFrame:
        """Checks that did not pass, failures first."""
        order = {"fail": 0, "warn": 1}
        bad = self.checks[self.checks["status"].isin(order)]
        return bad.sort_values("status", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps({
            "as_of": None if self.as_of is None else self.as_of.isoformat(),
            "keep_raw_pii": self.keep_raw_pii,
            "summary": _records(self.summary),
            "checks": _records(self.checks),
            "readiness": _records(self.readiness),
            "monthly": _records(self.monthly),
            "profile": {k: _plain(v) for k, v in self.profile.items()},
        }, indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "AuditResult":
        raw = json.loads(text)
        monthly = pd.DataFrame(raw["monthly"], columns=["month", "orders", "customers", "revenue"])
        monthly["month"] = pd.to_datetime(monthly["month"])
        return cls(
            checks=_frame(raw["checks"], CHECK_COLUMNS, floats=["value"]),
            readiness=_frame(raw["readiness"], READINESS_COLUMNS),
            summary=_frame(raw["summary"], SUMMARY_COLUMNS, floats=["value"]),
            monthly=monthly,
            as_of=None if raw["as_of"] is None else pd.Timestamp(raw["as_of"]),
            keep_raw_pii=bool(raw.get("keep_raw_pii", False)),
            profile=raw.get("profile", {}),
        )


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _frame(records: list[dict], columns: list[str], floats: tuple | list = ()) -> pd.DataFrame:
    out = pd.DataFrame(records, columns=columns)
    for c in columns:
        out[c] = out[c].astype(float) if c in floats else out[c].astype(str)
    return out


def warehouse_tables(warehouse: Warehouse) -> dict[str, ibis.Table]:
    """The canonical tables the warehouse has, by name."""
    existing = set(warehouse.con.list_tables())
    return {name: warehouse.con.table(name) for name in TABLES if name in existing}


def summarize(checks: pd.DataFrame, readiness: pd.DataFrame, rows: Mapping[str, int],
              history_months: float = 0.0) -> pd.DataFrame:
    """Counts of check statuses and readiness levels, a 0-100 score, and what is loaded."""
    counts = checks["status"].value_counts()
    applicable = checks[checks["status"].isin(STATUS_POINTS)]
    score = 100 * applicable["status"].map(STATUS_POINTS).mean() if len(applicable) else float("nan")
    loaded_tables = sorted(name for name, n in rows.items() if n)
    ready = readiness["ready"].value_counts()
    out = [
        ("score", score, f"pass = 1, warn = 0.5, fail = 0, averaged over {len(applicable)} checks that apply, x 100"),
        ("checks", len(checks), "checks run"),
    ]
    out += [(status, int(counts.get(status, 0)), f"checks with status {status}") for status in ("pass", "warn", "fail", "n/a")]
    out += [
        ("tables", len(loaded_tables), ", ".join(loaded_tables) or "no table holds rows"),
        ("rows", sum(rows.values()), "rows across canonical tables"),
    ]
    out += [(f"ready_{level}", int(ready.get(level, 0)), f"capabilities ready: {level}") for level in ("yes", "partly", "no")]
    out.append(("history_months", history_months, "months between the first and last order"))
    frame = pd.DataFrame(out, columns=SUMMARY_COLUMNS)
    return frame.astype({"metric": str, "value": float, "detail": str})


def run_audit(source: Warehouse | Mapping[str, ibis.Table], *, as_of=None, keep_raw_pii: bool = False,
              stale_after_days: int = 30, thresholds: ReadinessThresholds | None = None) -> AuditResult:
    """Audit every canonical table in `source`.

    as_of: the audit time (naive UTC; a date means its end; default now) for freshness and future dates.
    keep_raw_pii: the workspace's [privacy] keep_raw_pii; when false any raw PII value fails its check.
    """
    tables = TableSet(warehouse_tables(source) if isinstance(source, Warehouse) else source)
    as_of = as_timestamp(as_of)
    checks = run_checks(tables, as_of=as_of, keep_raw_pii=keep_raw_pii, stale_after_days=stale_after_days)
    profile = store_profile(tables, as_of)
    readiness = assess_readiness(tables, thresholds=thresholds, profile=profile)
    summary = summarize(checks, readiness, profile.rows, profile.history_months)
    monthly = monthly_orders(loaded(tables, "orders"), loaded(tables, "order_lines"))
    return AuditResult(checks=checks, readiness=readiness, summary=summary, monthly=monthly,
                       as_of=as_of, keep_raw_pii=keep_raw_pii, profile=profile.to_dict())


def audit_workspace(workspace, *, as_of=None, stale_after_days: int = 30,
                    thresholds: ReadinessThresholds | None = None) -> AuditResult:
    """`run_audit` on a workspace's warehouse, honouring its keep_raw_pii setting."""
    return run_audit(workspace.warehouse, as_of=as_of, keep_raw_pii=workspace.config.keep_raw_pii,
                     stale_after_days=stale_after_days, thresholds=thresholds)
