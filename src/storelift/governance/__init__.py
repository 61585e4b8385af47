"""Governance: the tamper-evident audit trail (consent, erasure, fairness and approvals build on it)."""

from .audit_log import (
    AuditLogError, append_audit, chained_entry, entry_hash, local_actor, verify_chain, verify_workspace,
)

__all__ = [
    "AuditLogError", "append_audit", "chained_entry", "entry_hash", "local_actor", "verify_chain", "verify_workspace",
]
