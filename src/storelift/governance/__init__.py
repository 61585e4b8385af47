"""Governance: the tamper-evident audit trail and drift monitoring (consent, erasure, fairness and approvals
build on them)."""

from .audit_log import (
    AuditLogError, append_audit, chained_entry, entry_hash, local_actor, verify_chain, verify_workspace,
)
from .consent import ConsentError, consenting_audience
from .fairness import AUDIT_COLUMNS, FairnessError, fairness_audit, mitigate_thresholds
from .drift import DRIFT_COLUMNS, DriftError, drift_report, population_stability_index, retrain_needed

__all__ = [
    "AUDIT_COLUMNS", "FairnessError", "fairness_audit", "mitigate_thresholds",
    "ConsentError", "consenting_audience",
    "DRIFT_COLUMNS", "DriftError", "drift_report", "population_stability_index", "retrain_needed",
    "AuditLogError", "append_audit", "chained_entry", "entry_hash", "local_actor", "verify_chain", "verify_workspace",
]
