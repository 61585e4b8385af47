"""Self-contained HTML reports (offline: CSS and plotly.js inlined, no CDN)."""

from .audit_report import audit_report, write_audit_report
from .explanations_report import write_explanations_report
from .fairness_report import write_fairness_report
from .html import Report

__all__ = ["Report", "audit_report", "write_audit_report", "write_explanations_report", "write_fairness_report"]
