"""Human in the loop: proposals above a policy's thresholds (big price moves, generated content, fraud
holds) wait in a queue until a second person approves them; nothing takes effect until then.

The queue is the warehouse's `approvals` table, append-only: a submission writes step 0, a decision or
withdrawal writes step 1, and the highest step is the request's current state, so who, when and why of
every step stays readable on DuckDB, PostgreSQL and Spark alike. Every step is also appended to the
hash-chained audit log with a digest of its row, so an approval written behind storelift's back (or an
approval row changed later) shows up in `verify_approvals`.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

import ibis
import pandas as pd

from ..errors import ConfigError, StoreliftError
from ..schema import TABLES
from ..warehouse import fetch
from .audit_log import append_audit

TABLE = "approvals"
HISTORY_COLUMNS = TABLES[TABLE].column_names
PENDING_COLUMNS = ["request_id", "kind", "subject", "proposal", "rule", "requested_by", "requested_at",
                   "reason_requested"]
EFFECTIVE_COLUMNS = ["request_id", "kind", "subject", "proposal", "status", "rule", "requested_by", "requested_at",
                     "decided_by", "decided_at", "decision_reason"]
PROBLEM_COLUMNS = ["request_id", "step", "problem"]

KNOWN_KINDS = ("price_change", "generated_content", "fraud_hold")
EFFECTIVE_STATUSES = ("approved", "auto_approved")
POLICY_ACTOR = "storelift-policy"
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


class ApprovalError(StoreliftError, ValueError):
    """An approval request or decision cannot be made as asked."""

    exit_code = 2


class UnknownRequestError(ApprovalError):
    """No approval request has the given id."""


class AlreadyDecidedError(ApprovalError):
    """The request was already approved, rejected, auto-approved or withdrawn; it is decided once."""


class SelfApprovalError(ApprovalError):
    """Four eyes: the person who proposed a change cannot approve or reject it."""


@dataclass(frozen=True)
class ApprovalPolicy:
    """Which proposals may take effect without a person. A price change whose relative move
    |proposed / current - 1| is at most `max_price_change` is auto-approved, as is any kind listed in
    `auto_approve_kinds`; everything else (generated content, fraud holds, unknown kinds) waits."""

    max_price_change: float = 0.10
    auto_approve_kinds: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self):
        if not 0 <= self.max_price_change:
            raise ConfigError(f"max_price_change must be a share of the current price >= 0 (0.10 is 10%), "
                              f"not {self.max_price_change!r}")
        object.__setattr__(self, "auto_approve_kinds", frozenset(self.auto_approve_kinds))

    @classmethod
    def from_workspace(cls, ws) -> "ApprovalPolicy":
        """The policy in storelift.toml's [approvals] section (max_price_change, auto_approve_kinds);
        the defaults when it has none."""
        path = ws.root / "storelift.toml"
        section = tomllib.loads(path.read_text()).get("approvals", {}) if path.exists() else {}
        share = section.get("max_price_change", cls.max_price_change)
        kinds = section.get("auto_approve_kinds", [])
        if isinstance(share, bool) or not isinstance(share, (int, float)):
            raise ConfigError(f"{path}: [approvals] max_price_change must be a number such as 0.10, not {share!r}")
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise ConfigError(f"{path}: [approvals] auto_approve_kinds must be a list of kinds, not {kinds!r}")
        return cls(max_price_change=float(share), auto_approve_kinds=frozenset(kinds))

    def review_rule(self, kind: str, proposal: Mapping) -> tuple[bool, str]:
        """(needs a person, the rule that says so, in words)."""
        if kind in self.auto_approve_kinds:
            return False, f"{kind}: listed in auto_approve_kinds"
        if kind == "price_change":
            move = price_move(proposal)
            limit = f"max_price_change {self.max_price_change:.1%}"
            if move <= self.max_price_change + 1e-9:  # a move of exactly the limit passes despite rounding
                return False, f"price_change: move {move:.1%} is within {limit}"
            return True, f"price_change: move {move:.1%} is above {limit}"
        return True, f"{kind}: always reviewed by a person"


def price_move(proposal: Mapping) -> float:
    """The relative size of a proposed price change, |proposed_price / current_price - 1|."""
    try:
        current, proposed = float(proposal["current_price"]), float(proposal["proposed_price"])
    except (KeyError, TypeError, ValueError):
        raise ApprovalError("a price_change proposal needs numbers current_price and proposed_price, e.g. "
                            "{'current_price': 20.0, 'proposed_price': 18.0}") from None
    if not current > 0 or not proposed >= 0:
        raise ApprovalError(f"a price_change needs current_price > 0 and proposed_price >= 0, not "
                            f"{current:g} and {proposed:g}")
    return abs(proposed / current - 1)


@dataclass(frozen=True)
class ApprovalRequest:
    """One request in its current state (the latest row of its history)."""

    request_id: str
    step: int
    kind: str
    subject: str | None
    proposal: dict
    status: str
    rule: str | None
    requested_by: str
    requested_at: pd.Timestamp
    reason_requested: str | None
    decided_by: str | None
    decided_at: pd.Timestamp | None
    decision_reason: str | None
    recorded_at: pd.Timestamp

    @property
    def is_effective(self) -> bool:
        return self.status in EFFECTIVE_STATUSES

    @classmethod
    def from_row(cls, row: Mapping) -> "ApprovalRequest":
        values = {c: _plain(row[c]) for c in HISTORY_COLUMNS}
        values["step"] = int(values["step"])
        values["proposal"] = json.loads(values["proposal"]) if values["proposal"] else {}
        return cls(**values)


# -- the queue ----------------------------------------------------------------------------------

def submit(ws, kind: str, subject: str | None, proposal: Mapping, requested_by: str, reason: str,
           policy: ApprovalPolicy | None = None) -> ApprovalRequest:
    """Put a proposal before the policy: auto-approved (with the rule that let it through) when it is
    within the thresholds, pending otherwise. policy: default, the workspace's [approvals] settings."""
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ApprovalError(f"kind {kind!r} must be a lower-case name such as {', '.join(KNOWN_KINDS)}")
    if not isinstance(proposal, Mapping):
        raise ApprovalError(f"proposal must be a mapping of what changes (it is stored as JSON), not "
                            f"{type(proposal).__name__}")
    requested_by = _required(requested_by, "requested_by", "who proposes it")
    reason = _required(reason, "reason", "why it is proposed")
    needs_person, rule = (policy or ApprovalPolicy.from_workspace(ws)).review_rule(kind, proposal)
    try:
        text = json.dumps(dict(proposal), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ApprovalError(f"proposal cannot be stored as JSON ({exc}); pass plain numbers, text, lists "
                            "and mappings") from None
    now = _now()
    row = {"request_id": f"apr-{uuid.uuid4().hex[:12]}", "step": 0, "kind": kind,
           "subject": None if subject is None else str(subject), "proposal": text, "rule": rule,
           "requested_by": requested_by, "requested_at": now, "reason_requested": reason, "recorded_at": now}
    if needs_person:
        row |= {"status": "pending", "decided_by": None, "decided_at": None, "decision_reason": None}
    else:
        row |= {"status": "auto_approved", "decided_by": POLICY_ACTOR, "decided_at": now, "decision_reason": rule}
    action = "approval.requested" if needs_person else "approval.auto_approved"
    return _record(ws, row, requested_by, action)


def approve(ws, request_id: str, approver: str, why: str) -> ApprovalRequest:
    """Approve a pending request: from now on it is effective. The approver must not be the requester."""
    return _decide(ws, request_id, approver, why, "approved")


def reject(ws, request_id: str, approver: str, why: str) -> ApprovalRequest:
    """Reject a pending request: it never takes effect. The approver must not be the requester."""
    return _decide(ws, request_id, approver, why, "rejected")


def withdraw(ws, request_id: str, actor: str, why: str) -> ApprovalRequest:
    """Take a pending request out of the queue (e.g. the proposal is stale); anyone may, with a reason."""
    return _decide(ws, request_id, actor, why, "withdrawn")


def _decide(ws, request_id: str, actor: str, why: str, status: str) -> ApprovalRequest:
    verb = {"approved": "approve", "rejected": "reject", "withdrawn": "withdraw"}[status]
    actor = _required(actor, "approver" if status != "withdrawn" else "actor", f"who is to {verb} it")
    why = _required(why, "why", f"the reason to {verb} it")
    current = approval_request(ws, request_id)
    if current.status != "pending":
        by = f" by {current.decided_by}" if current.decided_by else ""
        when = f" at {current.decided_at:%Y-%m-%d %H:%M:%S} UTC" if current.decided_at is not None else ""
        raise AlreadyDecidedError(f"request {request_id} is already {current.status}{by}{when}; a request is "
                                  "decided once: submit a new request to change the outcome")
    if status != "withdrawn" and actor.casefold() == current.requested_by.casefold():
        raise SelfApprovalError(f"{actor} requested {request_id} and cannot also {verb} it (four eyes): ask "
                                "another person to decide")
    now = _now()
    row = {c: getattr(current, c) for c in HISTORY_COLUMNS}
    row |= {"step": current.step + 1, "proposal": json.dumps(current.proposal, sort_keys=True), "status": status,
            "decided_by": actor, "decided_at": now, "decision_reason": why, "recorded_at": now}
    return _record(ws, row, actor, f"approval.{status}")


def _record(ws, row: dict, actor: str, action: str) -> ApprovalRequest:
    """Append one state change and its audit entry (with the row's digest, never its PII)."""
    ws.warehouse.insert(TABLE, pd.DataFrame([row]))
    stored = approval_history(ws, row["request_id"])
    stored = stored[stored["step"] == row["step"]].iloc[-1].to_dict()
    append_audit(ws, actor, action, row["request_id"],
                 {"kind": row["kind"], "status": row["status"], "step": int(row["step"]), "rule": row["rule"],
                  "row_sha256": row_digest(stored)}, at=row["recorded_at"])
    return ApprovalRequest.from_row(stored)


# -- reading the queue --------------------------------------------------------------------------

def _current_states(ws, request_id: str | None = None) -> ibis.Table:
    """The latest row of every request (the highest step; the first written wins a tie)."""
    t = ws.warehouse.table(TABLE)
    if request_id is not None:
        t = t.filter(t.request_id == request_id)
    rank = ibis.row_number().over(group_by=t.request_id, order_by=[t.step.desc(), t.recorded_at.asc()])
    ranked = t.mutate(_rank=rank)
    return ranked.filter(ranked._rank == 0).drop("_rank")


def approval_request(ws, request_id: str) -> ApprovalRequest:
    """The request's current state; an UnknownRequestError when no request has that id."""
    rows = fetch(_current_states(ws, str(request_id)))
    if rows.empty:
        raise UnknownRequestError(f"no approval request {request_id!r}; list the queue with "
                                  "`storelift governance approvals list` to find its id")
    return ApprovalRequest.from_row(rows.iloc[0].to_dict())


def pending(ws, kind: str | None = None) -> pd.DataFrame:
    """Requests waiting for a person, oldest first. Columns: request_id, kind, subject, proposal (JSON),
    rule (why it waits), requested_by, requested_at, reason_requested."""
    t = _current_states(ws)
    t = t.filter(t.status == "pending")
    if kind is not None:
        t = t.filter(t.kind == kind)
    return fetch(t.select(*PENDING_COLUMNS)).sort_values(["requested_at", "request_id"], ignore_index=True)


def effective(ws, kind: str | None = None, subject: str | None = None) -> pd.DataFrame:
    """The proposals allowed to take effect: approved or auto-approved, never pending, rejected or
    withdrawn ones. This is the gate other capabilities read before they apply a change. Columns:
    request_id, kind, subject, proposal (JSON), status, rule, requested_by, requested_at, decided_by,
    decided_at, decision_reason; oldest decision first."""
    t = _current_states(ws)
    t = t.filter(t.status.isin(EFFECTIVE_STATUSES))
    if kind is not None:
        t = t.filter(t.kind == kind)
    if subject is not None:
        t = t.filter(t.subject == str(subject))
    return fetch(t.select(*EFFECTIVE_COLUMNS)).sort_values(["decided_at", "request_id"], ignore_index=True)


def is_effective(ws, request_id: str) -> bool:
    """Whether the request is approved or auto-approved now (an error for an unknown id)."""
    return approval_request(ws, request_id).is_effective


def approval_history(ws, request_id: str) -> pd.DataFrame:
    """Every state change of a request, in order: the columns of the approvals table, one row per step."""
    t = ws.warehouse.table(TABLE)
    rows = fetch(t.filter(t.request_id == str(request_id)))
    if rows.empty:
        raise UnknownRequestError(f"no approval request {request_id!r}; list the queue with "
                                  "`storelift governance approvals list` to find its id")
    return rows[HISTORY_COLUMNS].sort_values(["step", "recorded_at"], ignore_index=True)


# -- evidence -----------------------------------------------------------------------------------

def row_digest(row: Mapping) -> str:
    """SHA-256 of an approvals row over a canonical JSON text (times to the microsecond, nulls as null)."""
    values = {c: _plain(row.get(c)) for c in HISTORY_COLUMNS}
    for c, v in values.items():
        if isinstance(v, pd.Timestamp):
            values[c] = v.strftime("%Y-%m-%dT%H:%M:%S.%f")
        elif c == "step" and v is not None:
            values[c] = int(v)
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def verify_approvals(ws) -> pd.DataFrame:
    """Approval steps the audit log and the approvals table disagree on, one row each (empty: they agree).
    Columns: request_id, step, problem. Catches approval rows inserted, changed or deleted behind
    storelift's back (check the audit log itself with audit_log.verify_workspace)."""
    audit = fetch(ws.warehouse.table("audit_log"))
    audited, erased = {}, set()
    for action, subject, details in zip(audit["action"], audit["subject"], audit["details"]):
        if isinstance(action, str) and action.startswith("approval.") and isinstance(details, str):
            facts = json.loads(details)
            audited[facts.get("row_sha256")] = (subject, facts.get("step"), facts.get("status"))
        elif action == "erasure.done" and isinstance(details, str):  # rows an audited erasure removed
            erased.update(json.loads(details).get("approvals_erased", []))
    problems = []
    for row in fetch(ws.warehouse.table(TABLE)).to_dict("records"):
        if audited.pop(row_digest(row), None) is None:
            problems.append((row["request_id"], int(row["step"]),
                             f"the {row['status']} row has no matching audit entry: it was written outside "
                             "storelift or changed afterwards; do not act on it and investigate"))
    for request_id, step, status in audited.values():
        if request_id in erased:
            continue
        problems.append((request_id, step, f"the audit log records a {status} step that is missing from the "
                                           "approvals table or was changed there; investigate"))
    return pd.DataFrame(problems, columns=PROBLEM_COLUMNS)


# -- small helpers ------------------------------------------------------------------------------

def _now() -> pd.Timestamp:
    """Now, naive UTC to the microsecond (how the warehouse stores times)."""
    return pd.Timestamp(datetime.now(timezone.utc)).tz_localize(None).floor("us")


def _plain(value):
    """A warehouse value as plain Python: NaN, NaT and NA become None; times stay Timestamps."""
    if value is None or (not isinstance(value, (str, Mapping, list)) and pd.isna(value)):
        return None
    if isinstance(value, datetime) and not isinstance(value, pd.Timestamp):
        return pd.Timestamp(value)
    return value


def _required(value, name: str, what: str) -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        raise ApprovalError(f"{name} is required: pass {what}")
    return text
