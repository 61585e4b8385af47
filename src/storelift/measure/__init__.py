"""KPIs and revenue aggregates, as engine-portable Ibis expressions."""

from .decision_outcomes import decision_outcomes
from .revenue import revenue_by_month

__all__ = ["decision_outcomes", "revenue_by_month"]
