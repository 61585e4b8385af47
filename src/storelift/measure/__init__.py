"""KPIs and revenue aggregates, as engine-portable Ibis expressions."""

from .revenue import revenue_by_month

__all__ = ["revenue_by_month"]
