"""The data audit ("AI readiness" check): quality checks and per-capability readiness."""

from .checks import CHECK_COLUMNS, run_checks
from .readiness import READINESS_COLUMNS, ReadinessThresholds, StoreProfile, assess_readiness, store_profile
from .run import AuditResult, audit_workspace, run_audit

__all__ = [
    "CHECK_COLUMNS",
    "READINESS_COLUMNS",
    "AuditResult",
    "ReadinessThresholds",
    "StoreProfile",
    "assess_readiness",
    "audit_workspace",
    "run_audit",
    "run_checks",
    "store_profile",
]
