"""Customer intelligence: RFM segments, clusters, cohorts, lifetime value, churn and propensity."""

from .transactions import customer_orders

__all__ = ["customer_orders"]
