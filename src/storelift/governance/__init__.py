"""Governance: consent in every audience, erasure that reaches everything, differential privacy for
aggregate reports, fairness audits, drift, human approvals and a tamper-evident audit trail."""

from .approvals import (
    EFFECTIVE_COLUMNS, PENDING_COLUMNS, AlreadyDecidedError, ApprovalError, ApprovalPolicy, ApprovalRequest,
    SelfApprovalError, UnknownRequestError, approval_history, approval_request, approve, effective,
    is_effective, pending, reject, submit, verify_approvals, withdraw,
)
from .audit_log import (
    AuditLogError, append_audit, chained_entry, entry_hash, local_actor, verify_chain, verify_workspace,
)
from .consent import ConsentError, consenting_audience
from .decay import DECAY_COLUMNS, DecayError, performance_decay
from .drift import DRIFT_COLUMNS, DriftError, drift_report, population_stability_index, retrain_needed
from .erasure import ErasureError, ErasureResult, customer_identifiers, erase_customer, erase_queued
from .exports import (
    REDACTED, ExportError, PiiAccessError, TableExport, export_table, is_privacy_admin, privacy_admins,
)
from .fairness import AUDIT_COLUMNS, FairnessError, fairness_audit, mitigate_thresholds
from .fairness_audiences import CAMPAIGN_AUDIT_COLUMNS, audience_audit, campaign_audits
from .fairness_store import ALARM_COLUMNS, StoreFairness, alarm_rates, false_alarm_rate, store_fairness, workspace_fairness
from .fairness_targeting import TargetingFairness, audit_groups, audit_targeting, protected_groups
from .key_rotation import ROTATION_COLUMNS, KeyRotation, KeyRotationError, rotate_key
from .privacy import RELEASE_COLUMNS, private_counts, private_sums
from .privacy_budget import (
    BudgetExceededError, DifferentialPrivacyError, EpsilonBudget, WorkspaceBudget, set_total_epsilon,
)
from .privacy_report import MONETARY_BOUNDS, dp_segment_report
from .retention import (
    DEFAULT_POLICIES, RetentionError, RetentionPolicy, apply_retention, open_online_store, retention_plan,
    retention_policies,
)
from .dpia import draft_dpia, write_dpia
from .traces import TRACE_COLUMNS, scan_workspace

__all__ = [
    "EFFECTIVE_COLUMNS", "PENDING_COLUMNS", "AlreadyDecidedError", "ApprovalError", "ApprovalPolicy",
    "ApprovalRequest", "SelfApprovalError", "UnknownRequestError", "approval_history", "approval_request", "approve",
    "effective", "is_effective", "pending", "reject", "submit", "verify_approvals", "withdraw",
    "AuditLogError", "append_audit", "chained_entry", "entry_hash", "local_actor", "verify_chain", "verify_workspace",
    "ConsentError", "consenting_audience",
    "DECAY_COLUMNS", "DecayError", "performance_decay",
    "DRIFT_COLUMNS", "DriftError", "drift_report", "population_stability_index", "retrain_needed",
    "ErasureError", "ErasureResult", "customer_identifiers", "erase_customer", "erase_queued",
    "AUDIT_COLUMNS", "FairnessError", "fairness_audit", "mitigate_thresholds",
    "CAMPAIGN_AUDIT_COLUMNS", "audience_audit", "campaign_audits",
    "ALARM_COLUMNS", "StoreFairness", "alarm_rates", "false_alarm_rate", "store_fairness", "workspace_fairness",
    "TargetingFairness", "audit_groups", "audit_targeting", "protected_groups",
    "RELEASE_COLUMNS", "private_counts", "private_sums",
    "BudgetExceededError", "DifferentialPrivacyError", "EpsilonBudget", "WorkspaceBudget", "set_total_epsilon",
    "MONETARY_BOUNDS", "dp_segment_report",
    "TRACE_COLUMNS", "scan_workspace",
    "DEFAULT_POLICIES", "RetentionError", "RetentionPolicy", "apply_retention", "open_online_store", "retention_plan",
    "retention_policies",
    "draft_dpia", "write_dpia",
    "REDACTED", "ExportError", "PiiAccessError", "TableExport", "export_table", "is_privacy_admin", "privacy_admins",
    "ROTATION_COLUMNS", "KeyRotation", "KeyRotationError", "rotate_key",
]
